import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { compileExtractor, type Extracted } from '../../../src/credentials/extract.js'

const extract = compileExtractor(['X-API-Key', 'X-Other-Key'])
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'
const KEY = 'gh_abc123_0123456789abcdef'

describe('compileExtractor', () => {
  const table: { name: string; headers: string[]; expect: Extracted['kind']; value?: string }[] = [
    { name: 'finds nothing when no credential is sent', headers: ['Accept', '*/*'], expect: 'none' },
    { name: 'reads a Bearer token as a JWT', headers: ['Authorization', `Bearer ${JWT}`], expect: 'jwt', value: JWT },
    { name: 'reads the Bearer scheme case-insensitively (RFC 9110 §11.1)', headers: ['authorization', `bearer ${JWT}`], expect: 'jwt', value: JWT },
    { name: 'reads an upper-case BEARER scheme', headers: ['AUTHORIZATION', `BEARER ${JWT}`], expect: 'jwt', value: JWT },
    { name: 'accepts b64token padding', headers: ['Authorization', 'Bearer abc-._~+/def=='], expect: 'jwt', value: 'abc-._~+/def==' },
    { name: 'accepts several spaces after the scheme (RFC 6750 §2.1: 1*SP)', headers: ['Authorization', `Bearer   ${JWT}`], expect: 'jwt', value: JWT },
    { name: 'reads ApiKey in Authorization as an API key', headers: ['Authorization', `ApiKey ${KEY}`], expect: 'apikey', value: KEY },
    { name: 'reads the ApiKey scheme case-insensitively', headers: ['Authorization', `apikey ${KEY}`], expect: 'apikey', value: KEY },
    { name: 'reads a configured API-key header in any case', headers: ['x-api-key', KEY], expect: 'apikey', value: KEY },
    { name: 'reads the second configured API-key header', headers: ['X-Other-Key', KEY], expect: 'apikey', value: KEY },
    { name: 'trims an API-key header value', headers: ['X-API-Key', `  ${KEY}\t`], expect: 'apikey', value: KEY },

    { name: 'refuses two Authorization lines (attack #34)', headers: ['Authorization', `Bearer ${JWT}`, 'Authorization', `Bearer ${JWT}x`], expect: 'ambiguous' },
    { name: 'refuses two Authorization lines even when one is empty', headers: ['Authorization', '', 'authorization', `Bearer ${JWT}`], expect: 'ambiguous' },
    { name: 'refuses Authorization together with an API-key header', headers: ['Authorization', `Bearer ${JWT}`, 'X-API-Key', KEY], expect: 'ambiguous' },
    { name: 'refuses ApiKey in Authorization together with an API-key header', headers: ['X-API-Key', KEY, 'Authorization', `ApiKey ${KEY}`], expect: 'ambiguous' },
    { name: 'refuses a repeated API-key header', headers: ['X-API-Key', KEY, 'x-api-key', KEY], expect: 'ambiguous' },
    { name: 'refuses two different configured key headers', headers: ['X-API-Key', KEY, 'X-Other-Key', KEY], expect: 'ambiguous' },

    { name: 'refuses a Bearer with no token', headers: ['Authorization', 'Bearer '], expect: 'malformed' },
    { name: 'refuses a bare Bearer', headers: ['Authorization', 'Bearer'], expect: 'malformed' },
    { name: 'refuses a scheme glued to the token', headers: ['Authorization', `Bearer${JWT}`], expect: 'malformed' },
    { name: 'refuses a TAB between scheme and token', headers: ['Authorization', `Bearer\t${JWT}`], expect: 'malformed' },
    { name: 'refuses two tokens', headers: ['Authorization', `Bearer ${JWT} x`], expect: 'malformed' },
    { name: 'refuses a comma-joined second credential', headers: ['Authorization', `Bearer ${JWT},Bearer ${JWT}`], expect: 'malformed' },
    { name: 'refuses a quoted token', headers: ['Authorization', `Bearer "${JWT}"`], expect: 'malformed' },
    { name: 'refuses characters outside b64token', headers: ['Authorization', 'Bearer a%2Eb'], expect: 'malformed' },
    { name: 'refuses = in the middle of a token', headers: ['Authorization', 'Bearer ab=c'], expect: 'malformed' },
    { name: 'refuses another scheme', headers: ['Authorization', `Token ${JWT}`], expect: 'malformed' },
    { name: 'refuses Basic on a proxied request', headers: ['Authorization', 'Basic YWxpY2U6cHc='], expect: 'malformed' },
    { name: 'refuses an empty Authorization', headers: ['Authorization', ''], expect: 'malformed' },
    { name: 'refuses an ApiKey with a space inside', headers: ['Authorization', 'ApiKey a b'], expect: 'malformed' },
    { name: 'refuses an ApiKey with non-ASCII', headers: ['Authorization', 'ApiKey ke\u00ffy'], expect: 'malformed' },
    { name: 'refuses an empty API-key header', headers: ['X-API-Key', '   '], expect: 'malformed' },
    { name: 'refuses an API-key header with a control character', headers: ['X-API-Key', 'ab\u0000c'], expect: 'malformed' },
    { name: 'refuses a token longer than 16 KiB before parsing it', headers: ['Authorization', `Bearer ${'a'.repeat(16 * 1024 + 1)}`], expect: 'malformed' },
    { name: 'refuses an API key longer than 16 KiB', headers: ['X-API-Key', 'k'.repeat(64 * 1024)], expect: 'malformed' },
    { name: 'accepts a token of exactly 16 KiB', headers: ['Authorization', `Bearer ${'a'.repeat(16 * 1024)}`], expect: 'jwt', value: 'a'.repeat(16 * 1024) },

    { name: 'ignores unconfigured key-like headers', headers: ['X-Api-Token', KEY, 'Api-Key', KEY], expect: 'none' },
    { name: 'ignores Proxy-Authorization', headers: ['Proxy-Authorization', `Bearer ${JWT}`], expect: 'none' },
    { name: 'ignores the underscore spelling of a key header (it is stripped before forwarding)', headers: ['X_API_Key', KEY], expect: 'none' },
  ]
  for (const c of table) {
    it(c.name, () => {
      const r = extract(c.headers)
      assert.equal(r.kind, c.expect, JSON.stringify(r).slice(0, 200))
      if (c.value !== undefined) assert.equal(r.kind === 'jwt' ? r.token : r.kind === 'apikey' ? r.key : undefined, c.value)
    })
  }

  it('never puts the credential in a detail', () => {
    const secret = 'sekrit-sekrit-sekrit'
    const cases = [
      ['Authorization', `Bearer ${secret} x`],
      ['Authorization', `Token ${secret}`],
      ['Authorization', `Bearer ${secret}`, 'Authorization', `Bearer ${secret}`],
      ['X-API-Key', `${secret}\u0001`],
      ['Authorization', `Bearer ${secret}`, 'X-API-Key', secret],
    ]
    for (const headers of cases) {
      const r = extract(headers)
      assert.ok(r.kind === 'malformed' || r.kind === 'ambiguous')
      assert.ok(!r.detail.includes(secret), r.detail)
    }
  })

  it('never treats Authorization as an API-key header, even if configured as one', () => {
    const odd = compileExtractor(['Authorization', 'X-API-Key'])
    assert.deepEqual(odd(['Authorization', `Bearer ${JWT}`]), { kind: 'jwt', token: JWT })
  })

  it('reads the default X-API-Key header', () => {
    const e = compileExtractor(['X-API-Key'])
    assert.deepEqual(e(['X-Api-Key', KEY]), { kind: 'apikey', key: KEY })
    assert.deepEqual(e(['X-Other-Key', KEY]), { kind: 'none' })
  })
})
