// SPEC §9 last bullet (issue 13): every identity value percent-encodes `%`, `,`,
// controls, non-ASCII and a leading or trailing space. For any claim string the
// header value decodes back to exactly that string (WTF-8, so lone surrogates too)
// and holds no raw comma, so `alice, admin` can never reach the upstream as a list.
// The decoder here is written from RFC 3986 §2.1 and the WTF-8 rules, not taken
// from the code under test; the generator is shown to produce each hostile class.
import assert from 'node:assert/strict'
import { validateHeaderValue } from 'node:http'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { encodeValue } from '../../src/pipeline/identity-headers.js'
import { RUNS } from './runs.js'

/** %XX -> bytes -> code points, surrogate code points kept as they are (WTF-8). */
function decodeWtf8(v: string): string {
  const bytes: number[] = []
  for (let i = 0; i < v.length; i++) {
    if (v[i] === '%') {
      bytes.push(parseInt(v.slice(i + 1, i + 3), 16))
      i += 2
    } else bytes.push(v.charCodeAt(i))
  }
  let out = ''
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] as number
    const n = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4
    let cp = n === 1 ? b : b & (0xff >> (n + 1))
    for (let k = 1; k < n; k++) cp = (cp << 6) | ((bytes[i + k] as number) & 0x3f)
    out += cp > 0xffff ? String.fromCodePoint(cp) : String.fromCharCode(cp)
    i += n
  }
  return out
}

const HOSTILE = [',', ', ', '%', '%2C', '\r', '\n', '\r\n', '\0', '\t', ' ', '\x7f', 'é', 'ı', '😀', '\ud800', '\udfff', ';', '"', 'admin', 'alice', '=']
const claim = fc.oneof(
  fc.string({ unit: fc.constantFrom(...HOSTILE), maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.string({ unit: fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 })), maxLength: 30 }),
  fc.array(fc.string({ unit: fc.constantFrom(...HOSTILE, 'bob', 'root'), minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 4 }).map((xs) => xs.join(', ')),
)

describe('identity value encoding (SPEC §9, issue 13)', () => {
  test('any claim string decodes back exactly, holds no raw comma, and is a valid single header value', () => {
    const seen = { comma: 0, crlfNul: 0, nonAscii: 0, loneSurrogate: 0, edgeSpace: 0 }
    fc.assert(
      fc.property(claim, (value) => {
        if (value.includes(',')) seen.comma++
        if (/[\r\n\0]/.test(value)) seen.crlfNul++
        if (/[^\x00-\x7f]/.test(value)) seen.nonAscii++
        if (/[\ud800-\udfff]/.test(value.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) seen.loneSurrogate++
        if (/^ | $/.test(value)) seen.edgeSpace++
        const encoded = encodeValue(value)
        assert.equal(decodeWtf8(encoded), value)
        assert.ok(!encoded.includes(','), `raw comma in ${encoded}`)
        assert.match(encoded, /^(?:[!-~](?:[ -~]*[!-~])?)?$/, 'visible ASCII, no edge space')
        validateHeaderValue('x-auth-user', encoded)
      }),
      { numRuns: RUNS },
    )
    // The generator really produces every class the property is about.
    // The rarest class (an edge space) is ~8 % of values: RUNS / 50 holds at the smallest FC_RUNS (200) too.
    for (const [k, n] of Object.entries(seen)) assert.ok(n >= RUNS / 50, `${k}: only ${n} of ${RUNS} values`)
  })

  test('two different claim strings never encode to the same value', () => {
    fc.assert(
      fc.property(claim, claim, (a, b) => {
        fc.pre(a !== b)
        assert.notEqual(encodeValue(a), encodeValue(b))
      }),
      { numRuns: RUNS },
    )
  })

  test('the SPEC example: "alice, admin" is one value', () => {
    assert.equal(encodeValue('alice, admin'), 'alice%2C admin')
    assert.equal(encodeValue(' admin'), '%20admin')
    assert.equal(encodeValue('100%'), '100%25')
  })
})
