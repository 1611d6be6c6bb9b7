// compileExtractor's exact answers (issue 19, mutation testing): the detail, the apiKey
// flag (a key failure is answered like any key failure, attack #75) and the scheme the
// token service reads, at the length limits (16 KiB credential, SPEC §3.5) and the
// grammar's edges (RFC 9110 §11.4 credentials, §5.6.3 OWS; RFC 6750 §2.1 b64token;
// visible ASCII is 0x21–0x7E, RFC 5234 VCHAR). Also queryHasAccessToken, the RFC 6750 §2.3
// parameter name in plain and percent-encoded spellings.
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { compileExtractor, queryHasAccessToken, type Extracted } from '../../../src/credentials/extract.js'

const extract = compileExtractor(['X-API-Key'])
const MAX = 16 * 1024
const SCHEME_DETAIL = 'Authorization scheme must be Bearer or ApiKey'
const BAD_SCHEME: Extracted = { kind: 'malformed', detail: SCHEME_DETAIL }
const BAD_BEARER: Extracted = { kind: 'malformed', detail: 'Bearer credential is not a single b64token', scheme: 'bearer' }
const BAD_KEY: Extracted = { kind: 'malformed', detail: 'API key must be non-empty visible ASCII', apiKey: true }
const TOO_LONG: Extracted = { kind: 'malformed', detail: 'credential too long' }
const KEY_TOO_LONG: Extracted = { kind: 'malformed', detail: 'credential too long', apiKey: true }

const auth = (value: string) => extract(['Authorization', value])
const keyHeader = (value: string) => extract(['X-API-Key', value])

describe('compileExtractor: exact answers', () => {
  it('two credentials of any kind: which ones, never the credential', () => {
    assert.deepEqual(extract(['Authorization', 'Bearer a', 'Accept', '*/*', 'AUTHORIZATION', 'Bearer b']), { kind: 'ambiguous', detail: 'more than one Authorization header' })
    assert.deepEqual(extract(['X-API-Key', 'a', 'x-api-key', 'b']), { kind: 'ambiguous', detail: 'more than one API key header' })
    assert.deepEqual(extract(['x-api-key', 'a', 'Authorization', 'Bearer b']), { kind: 'ambiguous', detail: 'both an Authorization header and an API key header' })
    // Two Authorization lines and two key lines: the Authorization count is named first.
    assert.deepEqual(extract(['X-API-Key', 'a', 'X-API-Key', 'b', 'Authorization', 'x', 'Authorization', 'y']), { kind: 'ambiguous', detail: 'more than one Authorization header' })
  })

  it('header names are read at even indexes only: a value spelled like a name is no header', () => {
    assert.deepEqual(extract(['X-Note', 'Authorization', 'X-Other', 'X-API-Key']), { kind: 'none' })
    assert.deepEqual(extract(['Authorization', 'Bearer tok', 'X-Note', 'X-API-Key']), { kind: 'jwt', token: 'tok' })
  })

  it('the scheme is the text before the first space; none, or an empty one, is no scheme', () => {
    for (const value of ['', 'Bearer', 'Bearer\ttok', ' Bearer tok', ' tok']) assert.deepEqual(auth(value), BAD_SCHEME, JSON.stringify(value))
    assert.deepEqual(auth('Basic YWxpY2U6cHc='), { kind: 'malformed', detail: SCHEME_DETAIL, scheme: 'basic', authorization: 'Basic YWxpY2U6cHc=' })
    assert.deepEqual(auth('DPoP  tok '), { kind: 'malformed', detail: SCHEME_DETAIL, scheme: 'dpop', authorization: 'DPoP  tok ' })
  })

  it('a scheme with no credential after it', () => {
    assert.deepEqual(auth('Bearer '), BAD_BEARER)
    assert.deepEqual(auth('bearer  \t '), BAD_BEARER)
    assert.deepEqual(auth('ApiKey   '), BAD_KEY)
    assert.deepEqual(auth('Token   '), BAD_SCHEME)
  })

  it('spaces before the credential and OWS after it are not part of it', () => {
    assert.deepEqual(auth('Bearer    tok'), { kind: 'jwt', token: 'tok' })
    assert.deepEqual(auth('Bearer tok \t \t'), { kind: 'jwt', token: 'tok' })
    assert.deepEqual(auth('BeArEr tok'), { kind: 'jwt', token: 'tok' })
    assert.deepEqual(auth('APIKEY  k!~ \t'), { kind: 'apikey', key: 'k!~' })
    assert.deepEqual(auth('Bearer \ttok'), BAD_BEARER)
    assert.deepEqual(auth('Bearer a b'), BAD_BEARER)
  })

  it('b64token: its alphabet, then only trailing =', () => {
    assert.deepEqual(auth('Bearer AZaz09-._~+/=='), { kind: 'jwt', token: 'AZaz09-._~+/==' })
    for (const token of ['=', 'a=b', 'a!', 'a,b', 'é', 'a"']) assert.deepEqual(auth(`Bearer ${token}`), BAD_BEARER, token)
  })

  it('an API key is visible ASCII, 0x21 to 0x7E', () => {
    assert.deepEqual(auth('ApiKey !~'), { kind: 'apikey', key: '!~' })
    assert.deepEqual(keyHeader(' !~\t'), { kind: 'apikey', key: '!~' })
    for (const key of ['a\u007f', '\u007fa', 'a b', 'k\u0080', 'k\u00ff']) {
      assert.deepEqual(auth(`ApiKey ${key}`), BAD_KEY, JSON.stringify(key))
      assert.deepEqual(keyHeader(key), BAD_KEY, JSON.stringify(key))
    }
    assert.deepEqual(keyHeader(''), BAD_KEY)
  })

  it('16 KiB of credential at most, and at most 16 more characters of padding around it', () => {
    const token = 'a'.repeat(MAX)
    assert.deepEqual(auth(`Bearer${' '.repeat(10)}${token}`), { kind: 'jwt', token }, 'exactly 16 KiB + 16')
    assert.deepEqual(auth(`Bearer${' '.repeat(11)}${token}`), TOO_LONG, 'one more character')
    assert.deepEqual(auth(`Bearer ${token}a`), TOO_LONG)
    assert.deepEqual(auth(`ApiKey ${'k'.repeat(MAX + 1)}`), TOO_LONG)
    assert.deepEqual(keyHeader(`${' '.repeat(16)}${'k'.repeat(MAX)}`), { kind: 'apikey', key: 'k'.repeat(MAX) })
    assert.deepEqual(keyHeader(`${' '.repeat(17)}${'k'.repeat(MAX)}`), KEY_TOO_LONG)
    assert.deepEqual(keyHeader(`${'k'.repeat(MAX + 1)} `), KEY_TOO_LONG)
  })

  it('configured key header names match in any case; Authorization is never one', () => {
    const e = compileExtractor(['X-Key', 'AUTHORIZATION', 'Api-Token'])
    assert.deepEqual(e(['x-key', 'k']), { kind: 'apikey', key: 'k' })
    assert.deepEqual(e(['API-TOKEN', 'k']), { kind: 'apikey', key: 'k' })
    assert.deepEqual(e(['X-Kez', 'k', 'Api-Tokens', 'k']), { kind: 'none' })
    assert.deepEqual(e(['authorization', 'Bearer t']), { kind: 'jwt', token: 't' })
    assert.deepEqual(compileExtractor([])(['X-API-Key', 'k']), { kind: 'none' })
  })
})

describe('queryHasAccessToken (RFC 6750 §2.3)', () => {
  it('finds access_token as a parameter name, with or without a value, anywhere in the query', () => {
    for (const q of ['?access_token=x', '?access_token', '?access_token&b=1', '?a=1&access_token=x', '?&access_token', '?a&access_token=1&b=2', '?a=1&b=2&access_token=']) {
      assert.equal(queryHasAccessToken(q), true, q)
    }
  })

  it('finds it percent-encoded, up to every character escaped', () => {
    const escaped = [...'access_token'].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join('')
    for (const q of ['?%61ccess_token=1', '?access%5Ftoken=1', '?access%5ftoken', `?${escaped}=1`, `?x=1&${escaped.toLowerCase()}`]) {
      assert.equal(queryHasAccessToken(q), true, q)
    }
  })

  it('no other name: longer, shorter, in a value, badly escaped, with + or a space', () => {
    for (const q of [
      '?', '',
      '?access_tokens=1', '?xaccess_token=1', '?access_toke=1', '?access_tokex=1',
      '?a=access_token', '?a=1&b=access_token&c',
      '?access_tok+en=1', '?access+token=1', '?access%20token=1', '?%61ccess_token+=1',
      '?%zzaccess_token=1', '?%E0%A4%Aaccess_token=1',
    ]) {
      assert.equal(queryHasAccessToken(q), false, q)
    }
  })
})
