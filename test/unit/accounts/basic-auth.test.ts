// Basic credentials (RFC 7617 §2; RFC 6749 §2.3.1; attack #82).
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { decodeClientCredentials, parseBasic, type BasicCredentials } from '../../../src/accounts/basic-auth.js'

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64')
const basic = (text: string): string => `Basic ${b64(text)}`

describe('parseBasic', () => {
  const good: [label: string, header: string, expected: BasicCredentials][] = [
    ['a plain name and password', basic('alice:s3cret'), { name: 'alice', secret: 's3cret' }],
    ['a password holding colons (only the first one splits)', basic('alice:a:b:c'), { name: 'alice', secret: 'a:b:c' }],
    ['an empty password (RFC 7617 allows it; verification then fails)', basic('alice:'), { name: 'alice', secret: '' }],
    ['a Unicode name and password in UTF-8', basic('jörg:pässwörd🔑'), { name: 'jörg', secret: 'pässwörd🔑' }],
    ['the scheme in lowercase', `basic ${b64('alice:pw')}`, { name: 'alice', secret: 'pw' }],
    ['the scheme in uppercase', `BASIC ${b64('alice:pw')}`, { name: 'alice', secret: 'pw' }],
    ['a password with spaces', basic('alice:two words '), { name: 'alice', secret: 'two words ' }],
  ]
  for (const [label, header, expected] of good) {
    it(`reads ${label}`, () => assert.deepEqual(parseBasic(header), expected))
  }

  const absent: [label: string, header: string | undefined][] = [
    ['no header', undefined],
    ['an empty header', ''],
    ['a Bearer token', 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln'],
    ['an ApiKey', 'ApiKey gh_abc'],
    ['a longer scheme name that starts with Basic', `Basicx ${b64('alice:pw')}`],
    ['a huge header of another scheme', `Bearer ${'a'.repeat(100 * 1024)}`],
  ]
  for (const [label, header] of absent) {
    it(`answers 'absent' for ${label}`, () => assert.equal(parseBasic(header), 'absent'))
  }

  const malformed: [label: string, header: string][] = [
    ['`Basic` alone', 'Basic'],
    ['`Basic ` with nothing after the space', 'Basic '],
    ['`Basic ===`', 'Basic ==='],
    ['two spaces after the scheme', `Basic  ${b64('alice:pw')}`],
    ['a tab after the scheme', `Basic\t${b64('alice:pw')}`],
    ['characters outside base64', 'Basic YWxp*2U6cHc='],
    ['base64url characters', `Basic ${Buffer.from('a?>:~~~?').toString('base64url')}`],
    ['missing padding', 'Basic YWxpY2U6cA'],
    ['too much padding', 'Basic YWxpY2U6cHc=='],
    ['padding in the middle', 'Basic YW=pY2U6cHc='],
    ['non-zero padding bits (non-canonical base64)', 'Basic YWxpY2U6cHd='],
    ['trailing whitespace inside the token', `Basic ${b64('alice:pw')} `],
    ['a second token', `Basic ${b64('alice:pw')} ${b64('bob:pw')}`],
    ['no colon', basic('alice')],
    ['an empty name (`:pw`)', basic(':pw')],
    ['only a colon', basic(':')],
    ['a NUL in the name', basic('ali\0ce:pw')],
    ['a NUL in the password', basic('alice:p\0w')],
    ['a CR LF in the name', basic('alice\r\nX-Injected: 1:pw')],
    ['a LF in the password', basic('alice:p\nw')],
    ['DEL in the name', basic('alice\x7f:pw')],
    ['a C1 control in the name', basic('alice\u0085:pw')],
    ['bytes that are not UTF-8 (Latin-1 "jörg")', `Basic ${Buffer.from('j\xf6rg:pw', 'latin1').toString('base64')}`],
    ['an overlong UTF-8 encoding of "/"', `Basic ${Buffer.from([0x61, 0xc0, 0xaf, 0x3a, 0x70]).toString('base64')}`],
    ['a 100 KB header', `Basic ${b64(`alice:${'x'.repeat(75 * 1024)}`)}`],
    ['a 1 MB password', basic(`alice:${'x'.repeat(1024 * 1024)}`)],
  ]
  for (const [label, header] of malformed) {
    it(`answers 'malformed' for ${label}`, () => assert.equal(parseBasic(header), 'malformed'))
  }

  it('reads a header up to 8 KiB and refuses a longer one', () => {
    // `Basic ` plus base64 of n bytes is 6 + 4·n/3 characters: 8190 and 8194 bracket 8192.
    const ofLength = (total: number): string => basic(`a:${'x'.repeat(((total - 6) / 4) * 3 - 2)}`)
    assert.equal(ofLength(8190).length, 8190)
    assert.equal(typeof parseBasic(ofLength(8190)), 'object')
    assert.equal(ofLength(8194).length, 8194)
    assert.equal(parseBasic(ofLength(8194)), 'malformed')
  })
})

describe('decodeClientCredentials', () => {
  const good: [label: string, raw: BasicCredentials, expected: BasicCredentials][] = [
    ['plain values unchanged', { name: 'billing-batch', secret: 's3cret' }, { name: 'billing-batch', secret: 's3cret' }],
    ['`+` as a space', { name: 'my+client', secret: 'a+b' }, { name: 'my client', secret: 'a b' }],
    ['percent-encoded reserved characters', { name: 'svc%3Aone', secret: '%25%2B%26%3D' }, { name: 'svc:one', secret: '%+&=' }],
    ['percent-encoded UTF-8', { name: 'j%C3%B6rg', secret: '%F0%9F%94%91' }, { name: 'jörg', secret: '🔑' }],
    ['lowercase hex digits', { name: 'a%2fb', secret: 'x' }, { name: 'a/b', secret: 'x' }],
  ]
  for (const [label, raw, expected] of good) {
    it(`decodes ${label}`, () => assert.deepEqual(decodeClientCredentials(raw), expected))
  }

  const malformed: [label: string, raw: BasicCredentials][] = [
    ['a lone %', { name: 'client', secret: '100%' }],
    ['a truncated escape', { name: 'client%4', secret: 'x' }],
    ['a non-hex escape', { name: 'client', secret: '%zz' }],
    ['an escape that is not UTF-8', { name: 'client', secret: '%C3' }],
    ['an encoded NUL', { name: 'client', secret: 'a%00b' }],
    ['an encoded CR LF in the id', { name: 'client%0D%0AX: 1', secret: 'x' }],
    ['an id that decodes to nothing', { name: '', secret: 'x' }],
  ]
  for (const [label, raw] of malformed) {
    it(`answers 'malformed' for ${label}`, () => assert.equal(decodeClientCredentials(raw), 'malformed'))
  }

  it('decodes after parseBasic, so a colon in a client id survives encoded as %3A', () => {
    const parsed = parseBasic(basic('svc%3Aone:pa%3Ass'))
    assert.notEqual(typeof parsed, 'string')
    assert.deepEqual(decodeClientCredentials(parsed as BasicCredentials), { name: 'svc:one', secret: 'pa:ss' })
  })
})
