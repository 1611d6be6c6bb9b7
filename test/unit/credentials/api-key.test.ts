// The API-key format (SPEC §5; attack #75: prefix, length, alphabet, CRC32 tail).
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import {
  API_KEY_PREFIX,
  generateApiKey,
  hashSecret,
  parseApiKey,
  secretMatches,
} from '../../../src/credentials/api-key.js'
import { isKeyId, isSecretHash } from '../../../src/credentials/api-key-format.js'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

describe('generateApiKey', () => {
  it('makes `gh_<12 id>_<32 secret><6 crc>` keys that parse back to their id', () => {
    const { id, key } = generateApiKey()
    assert.match(key, /^gh_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$/)
    assert.ok(key.startsWith(API_KEY_PREFIX))
    const parsed = parseApiKey(key)
    assert.equal(parsed?.id, id)
    assert.equal(parsed?.secret, key.slice(16, 48))
  })

  it('stores a hash that the key\'s own secret matches', () => {
    const { id, key, secretHash } = generateApiKey()
    const parsed = parseApiKey(key)
    assert.ok(parsed)
    assert.equal(secretMatches(parsed.id, parsed.secret, secretHash), true)
    assert.equal(parsed.id, id)
    assert.ok(!secretHash.includes(parsed.secret))
  })

  it('hashes as the stored format says, checked against an independent SHA-256 (keys on disk outlive releases)', () => {
    // Known answer computed outside this code base, with Python:
    //   hashlib.sha256(b'gatehouse api key v1\x00ABCDEFGHIJKL\x000123456789abcdefghijABCDEFGHIJ0123')
    // base64url without padding, after the `sha256:` scheme.
    const id = 'ABCDEFGHIJKL'
    const secret = '0123456789abcdefghijABCDEFGHIJ0123'
    const stored = 'sha256:B3g9N5v0NVYGQqMsMPHOsKGmuD8yhLAvvevhGEz-o_w'
    assert.equal(hashSecret(id, secret), stored)
    assert.equal(secretMatches(id, secret, stored), true)
    assert.equal(secretMatches(id, `${secret.slice(0, -1)}4`, stored), false, 'another secret')
    assert.equal(secretMatches('ABCDEFGHIJKM', secret, stored), false, 'the id is part of the hash')
  })

  it('never makes the same key, id or secret twice', () => {
    const keys = Array.from({ length: 1000 }, () => generateApiKey())
    assert.equal(new Set(keys.map((k) => k.key)).size, 1000)
    assert.equal(new Set(keys.map((k) => k.id)).size, 1000)
    assert.equal(new Set(keys.map((k) => k.key.slice(16, 48))).size, 1000)
  })

  it('uses the whole base62 alphabet in secrets (no bias toward a subset)', () => {
    const seen = new Set(Array.from({ length: 200 }, () => generateApiKey().key.slice(16, 48)).join(''))
    assert.equal(seen.size, 62)
  })
})

describe('parseApiKey', () => {
  it("reads the README's example key (its checksum recomputed outside this code base)", () => {
    // Python: zlib.crc32(key[:48]) in six base62 digits, most significant first, is '2zWtcT'.
    const readme = 'gh_ISSFFxTCH1iy_xuLhUDXG3yVPmo4pn6nwgZ1CSkkgYnhN2zWtcT'
    assert.deepEqual(parseApiKey(readme), { id: 'ISSFFxTCH1iy', secret: 'xuLhUDXG3yVPmo4pn6nwgZ1CSkkgYnhN' })
    assert.equal(parseApiKey(`${readme.slice(0, -6)}TctWz2`), null)
  })

  it('refuses every single-character change of a key, by its checksum', () => {
    const { key } = generateApiKey()
    let tried = 0
    for (let i = 0; i < key.length; i++) {
      for (const c of `${BASE62}_-.`) {
        if (c === key[i]) continue
        const typo = key.slice(0, i) + c + key.slice(i + 1)
        tried++
        assert.equal(parseApiKey(typo), null, `accepted a change at ${i} to ${c}`)
      }
    }
    assert.ok(tried > 3000)
  })

  it('refuses two swapped neighbouring characters', () => {
    const { key } = generateApiKey()
    for (let i = 3; i < key.length - 1; i++) {
      if (key[i] === key[i + 1]) continue
      const swapped = key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2)
      assert.equal(parseApiKey(swapped), null, `accepted a swap at ${i}`)
    }
  })

  const { key } = generateApiKey()
  const bad: [string, string][] = [
    ['an empty string', ''],
    ['the wrong vendor prefix', `ghp_${key.slice(3)}`.slice(0, key.length)],
    ['another prefix of the same length', `xx_${key.slice(3)}`],
    ['a missing last character', key.slice(0, -1)],
    ['one character too many', `${key}A`],
    ['a trailing newline', `${key}\n`],
    ['surrounding spaces', ` ${key.slice(1)}`],
    ['a NUL inside', `${key.slice(0, 20)}\0${key.slice(21)}`],
    ['a CR inside', `${key.slice(0, 20)}\r${key.slice(21)}`],
    ['a non-ASCII letter', `${key.slice(0, 20)}é${key.slice(21)}`],
    ['base64 characters', `${key.slice(0, 20)}+${key.slice(21)}`],
    ['the separator moved', `${key.slice(0, 14)}_${key.slice(14, 15)}${key.slice(16)}`],
    ['lowercase of the whole key', key.toLowerCase()],
    ['64 KB of key-like text', `gh_${'A'.repeat(64 * 1024)}`],
    ['the key twice', key + key],
  ]
  for (const [name, text] of bad) {
    it(`refuses ${name}`, () => {
      assert.equal(parseApiKey(text), null)
    })
  }

  it('never throws on values that are not strings', () => {
    for (const v of [undefined, null, 42, {}, [], Symbol('k')]) assert.equal(parseApiKey(v as unknown as string), null)
  })

  it('rejects a 64 KB input with bounded work', () => {
    const huge = 'gh_' + 'a'.repeat(64 * 1024)
    const start = process.hrtime.bigint()
    for (let i = 0; i < 10_000; i++) parseApiKey(huge)
    assert.ok(Number(process.hrtime.bigint() - start) / 1e6 < 200, 'a long input is scanned')
  })
})

describe('secretMatches', () => {
  const { id, key, secretHash } = generateApiKey()
  const secret = key.slice(16, 48)
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)

  it('matches the right secret', () => {
    assert.equal(secretMatches(id, secret, secretHash), true)
  })
  it('does not match a secret wrong in its first or last character', () => {
    assert.equal(secretMatches(id, flip(secret, 0), secretHash), false)
    assert.equal(secretMatches(id, flip(secret, 31), secretHash), false)
  })
  it('does not match the right secret under another id (the hash is bound to the id)', () => {
    assert.equal(secretMatches(flip(id, 0), secret, secretHash), false)
  })
  it('answers false, never throws, for a stored hash that is malformed', () => {
    for (const stored of ['', 'sha256:', 'sha256:abc', secretHash.slice(0, -1), `${secretHash}A`, secretHash.replace('sha256:', 'md5:::')]) {
      assert.equal(secretMatches(id, secret, stored), false, stored)
    }
  })
})

describe('isKeyId', () => {
  it('accepts a generated id and refuses anything else', () => {
    assert.equal(isKeyId(generateApiKey().id), true)
    for (const v of ['', 'abc', 'A'.repeat(11), 'A'.repeat(13), 'AAAAAAAAAAA_', 'AAAAAAAAAAA\n', generateApiKey().key]) {
      assert.equal(isKeyId(v), false, JSON.stringify(v))
    }
  })
})

describe('stored hashes', () => {
  // The known answer of "hashes as the stored format says", then broken one way each.
  const id = 'ABCDEFGHIJKL'
  const secret = '0123456789abcdefghijABCDEFGHIJ0123'
  const stored = 'sha256:B3g9N5v0NVYGQqMsMPHOsKGmuD8yhLAvvevhGEz-o_w'
  const body = stored.slice('sha256:'.length)

  it('accepts the well-formed one', () => {
    assert.equal(isSecretHash(stored), true)
  })

  const broken: [string, unknown][] = [
    ['another scheme', `sha512:${body}`],
    ['no scheme', `sha256${body}X`],
    ['one character short', stored.slice(0, -1)],
    ['one character long', `${stored}A`],
    ['padding', `${stored.slice(0, -1)}=`],
    ['standard base64 instead of base64url', stored.replace('-', '+')],
    ['a non-canonical last character (unused bits set)', `${stored.slice(0, -1)}x`],
    ['a number', 42],
  ]
  for (const [what, value] of broken) {
    it(`refuses ${what}, and no secret matches it`, () => {
      assert.equal(isSecretHash(value as string), false)
      assert.equal(secretMatches(id, secret, value as string), false)
    })
  }
})

describe('strings only, and a uniform alphabet (issue 19, mutation testing)', () => {
  it('a String object, or a number spelled like an id, is no key, id or stored hash', () => {
    const { id, key } = generateApiKey()
    assert.equal(parseApiKey(new String(key) as unknown as string), null)
    assert.equal(isKeyId(new String(id) as unknown as string), false)
    assert.equal(isKeyId(123456789012 as unknown as string), false)
    const stored = hashSecret('ABCDEFGHIJKL', '0123456789abcdefghijABCDEFGHIJ0123')
    assert.equal(isSecretHash(new String(stored) as unknown as string), false)
  })

  it('draws every base62 symbol about equally often (rejection sampling: no symbol favoured)', () => {
    // 20,000 keys: 880,000 symbols of id and secret, about 14,200 of each. Uniform, the
    // rarest and the commonest differ by a few percent; a generator that used all 256
    // byte values (or 249) would draw '0'..'7' (or '0') 25 % more often.
    const counts = new Map<string, number>()
    for (let i = 0; i < 20_000; i++) {
      const { key } = generateApiKey()
      for (const c of key.slice(3, 15) + key.slice(16, 48)) counts.set(c, (counts.get(c) ?? 0) + 1)
    }
    assert.equal(counts.size, 62)
    const values = [...counts.values()]
    const ratio = Math.max(...values) / Math.min(...values)
    assert.ok(ratio < 1.12, `commonest / rarest symbol = ${ratio.toFixed(3)}`)
  })
})
