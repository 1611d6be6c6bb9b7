// compileReadingCheck's decodings byte by byte (issue 19, mutation testing): the second
// percent-decoding of hex digits at the ends of their ranges and of paths that already
// hold non-ASCII or astral characters, the old-decoder (invalidUtf8) reading of
// sequences at the lead-byte, surrogate and U+10FFFF boundaries, trailing dots before
// a `/`, and the bound of 64 readings per path (SECURITY.md, "one more
// percent-decoding"). Each API prefix below spells, in UTF-8, the text a legacy stack
// reads: RFC 3986 §2.1 for the decoding, RFC 2279 (the UTF-8 old decoders implement,
// overlongs included) and RFC 3629 §3 (no surrogates, nothing above U+10FFFF) for the
// legacy reading, Windows' trailing dot and space trimming for `admin./x`. Expected
// readings come from those rules, not from the code under test.
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { compileApis } from '../../../src/pipeline/match-api.js'
import { normalizeTarget } from '../../../src/pipeline/normalize-path.js'
import { compileReadingCheck, DEFAULT_READINGS, type PathReadingSwitches, type ReadingName } from '../../../src/pipeline/path-readings.js'

const hex2 = (b: number) => b.toString(16).toUpperCase().padStart(2, '0')
/** Text as the percent-encoded UTF-8 a normalised path holds. */
const utf8 = (s: string) => [...Buffer.from(s)].map((b) => `%${hex2(b)}`).join('')
/** Text as a normalised path segment spells it: unreserved ASCII as itself (RFC 3986 §6.2.2.2), the rest escaped. */
const segment = (s: string) => [...s].map((ch) => (/^[A-Za-z0-9\-._~]$/.test(ch) ? ch : utf8(ch))).join('')
/** Bytes encoded twice: what an upstream that decodes twice reads as those bytes. */
const twice = (bytes: number[]) => bytes.map((b) => `%25${hex2(b)}`).join('')

// The old decoder's reading of each byte sequence (RFC 2279 decoding; surrogates and
// code points above U+10FFFF are no character, so each of their bytes is one Latin-1 character).
const LEGACY: [name: string, bytes: number[], reads: string][] = [
  ['last two-byte lead DF', [0xdf, 0xbf], '\u07ff'],
  ['first two-byte lead C2', [0xc2, 0x80], '\u0080'],
  ['last three-byte lead EF', [0xef, 0xbf, 0xbf], '\uffff'],
  ['U+D7FF, below the surrogates', [0xed, 0x9f, 0xbf], '\ud7ff'],
  ['U+D800, first surrogate', [0xed, 0xa0, 0x80], '\u00ed\u00a0\u0080'],
  ['U+DFFF, last surrogate', [0xed, 0xbf, 0xbf], '\u00ed\u00bf\u00bf'],
  ['U+E000, above the surrogates', [0xee, 0x80, 0x80], '\ue000'],
  ['U+10FFFF, the last code point', [0xf4, 0x8f, 0xbf, 0xbf], '\u{10ffff}'],
  ['continuation bytes without a lead', [0x80, 0x80, 0x80, 0x80], '\u0080\u0080\u0080\u0080'],
  ['F8, no lead byte since RFC 3629', [0xf8, 0x80, 0x80, 0x80], '\u00f8\u0080\u0080\u0080'],
  ['a lead byte before an ASCII byte', [0xc3, 0x41], '\u00c3A'],
]

const ASTRAL = ['\u{10000}', '\u{1f600}', '\u{10ffff}']
// Above the surrogates: one UTF-16 unit each, never half of a pair.
const BMP_HIGH = ['\ue000', '\uffff']
// Letters whose case folding is no ASCII letter: kept as they are (Hangul, Greek with a tonos, ŉ).
const UNFOLDED = ['\ud55c', '\u03ac', '\u0149']

const compiled = compileApis([
  { name: 'api', prefixes: ['/api'], public: false },
  { name: 'admin', prefixes: ['/api/admin'], public: false },
  { name: 'v09', prefixes: ['/api/v09'], public: false },
  { name: 'jo', prefixes: ['/api/jo'], public: false },
  { name: 'cafes', prefixes: [`/api/caf${utf8('é')}s`], public: false },
  { name: 'c1', prefixes: [`/api/${utf8('\u0080')}s`], public: false },
  ...ASTRAL.map((ch, i) => ({ name: `astral${i}`, prefixes: [`/api/${utf8(ch)}s`], public: false })),
  ...BMP_HIGH.map((ch, i) => ({ name: `bmp${i}`, prefixes: [`/api/${utf8(ch)}s`], public: false })),
  ...UNFOLDED.map((ch, i) => ({ name: `unfolded${i}`, prefixes: [`/api/${utf8(ch)}`], public: false })),
  { name: 'pct', prefixes: ['/api/%25zz'], public: false },
  ...LEGACY.map(([, , reads], i) => ({ name: `legacy${i}`, prefixes: [`/api/${segment(reads)}`], public: false })),
])
assert.ok(compiled.ok, JSON.stringify(!compiled.ok && compiled.problems))
const matcher = compiled.matcher
const NONE = Object.fromEntries(Object.keys(DEFAULT_READINGS).map((k) => [k, false])) as unknown as PathReadingSwitches
const only = (name: ReadingName) => compileReadingCheck({ ...NONE, [name]: true })

/** The reading a check reports for a raw request path; Gatehouse itself must pick `api`. */
function judge(check: ReturnType<typeof compileReadingCheck>, raw: string, picked = 'api') {
  const n = normalizeTarget(raw)
  assert.ok(n.ok, `${raw} must normalise`)
  const selected = matcher.match(n.path)
  assert.equal(selected?.name, picked, `Gatehouse's own reading of ${raw}`)
  return check(n.path, selected, matcher)
}

describe('path readings: the second decoding', () => {
  const hexDigits: [string, string][] = [
    ['/api/v%2530%2539', 'v09 (hex digits 0 and 9)'],
    ['/api/%256Ao', 'jo (hex digit A)'],
    ['/api/%256ao', 'jo (hex digit a)'],
    ['/api/j%256F', 'jo (hex digit F)'],
    ['/api/j%256f', 'jo (hex digit f)'],
    ['/api/%254Ao', 'Jo, folded as every prefix is'],
  ]
  for (const [raw, reads] of hexDigits) {
    it(`${raw} decoded twice is ${reads}: another API`, () => {
      assert.equal(judge(only('doubleDecoding'), raw), 'doubleDecoding')
      assert.equal(judge(compileReadingCheck(NONE), raw), null)
    })
  }

  it('non-ASCII already decoded once stays that character on the second decoding', () => {
    assert.equal(judge(only('doubleDecoding'), `/api/caf${utf8('é')}%2573`), 'doubleDecoding')
    assert.equal(judge(only('doubleDecoding'), `/api/${utf8('\u0080')}%2573`), 'doubleDecoding')
    // Without the second decoding nothing reads as cafés.
    assert.equal(judge(only('doubleDecoding'), `/api/caf${utf8('é')}%2574`), null)
  })

  for (const ch of ASTRAL) {
    const cp = `U+${(ch.codePointAt(0) as number).toString(16).toUpperCase()}`
    it(`an astral character (${cp}, a surrogate pair in UTF-16) is one character on the second decoding`, () => {
      assert.equal(judge(only('doubleDecoding'), `/api/${utf8(ch)}%2573`), 'doubleDecoding')
    })
  }

  for (const ch of BMP_HIGH) {
    it(`U+${(ch.codePointAt(0) as number).toString(16).toUpperCase()} (no surrogate) is one character on the second decoding, the next one read too`, () => {
      assert.equal(judge(only('doubleDecoding'), `/api/${utf8(ch)}%2573`), 'doubleDecoding')
    })
  }

  it('an escape that is no escape stays text in every reading: %zz is not a byte (RFC 3986 §2.1)', () => {
    // The API's prefix holds a literal `%zz`; no reading may turn it into a byte and leave the API.
    assert.equal(judge(compileReadingCheck(DEFAULT_READINGS), '/api/%25zz/x', 'pct'), null)
    assert.equal(judge(compileReadingCheck(DEFAULT_READINGS), '/api/%25zz', 'pct'), null)
  })

  it('an encoded ; that a second decoding makes a parameter ends the segment there (Tomcat)', () => {
    assert.equal(judge(only('doubleDecoding'), '/api/admin%253Bx'), 'doubleDecoding')
  })

  it('a %3B a reading holds as text is no parameter: it is matched escaped', () => {
    // The upstream decoded once: `admin%3Bx.` is its text; trimmed it is `admin%3Bx`, not admin.
    assert.equal(judge(only('trailingDotsSpaces'), '/api/admin%253Bx.'), null)
  })
})

describe('path readings: case folding keeps what has no ASCII form', () => {
  for (const ch of UNFOLDED) {
    it(`${ch} (U+${(ch.codePointAt(0) as number).toString(16).toUpperCase()}) stays itself`, () => {
      assert.equal(judge(only('unicodeCaseFolding'), `/api/${utf8(ch)}`, `unfolded${UNFOLDED.indexOf(ch)}`), null)
    })
  }
  it('the Kelvin sign inside an API folds to k and stays in it', () => {
    assert.equal(judge(compileReadingCheck(DEFAULT_READINGS), `/api/x${utf8('\u212a')}`), null)
  })
})

describe('path readings: an old UTF-8 decoder (invalidUtf8)', () => {
  for (const [name, bytes, reads] of LEGACY) {
    it(`${name}: ${bytes.map(hex2).join(' ')} beside a stray byte reads as ${JSON.stringify(reads)}`, () => {
      // The stray 0xFF in a later segment makes the bytes no UTF-8, so only an old decoder reads them.
      const raw = `/api/${twice(bytes)}/${twice([0xff])}`
      assert.equal(judge(only('invalidUtf8'), raw), 'invalidUtf8')
      assert.equal(judge(compileReadingCheck(NONE), raw), null)
    })
  }

  it('an overlong sequence that ends the path is still read (C1 AE is n)', () => {
    assert.equal(judge(only('invalidUtf8'), `/api/admi${twice([0xc1, 0xae])}`), 'invalidUtf8')
  })

  it('a sequence above U+10FFFF is four Latin-1 characters, no error', () => {
    assert.equal(judge(only('invalidUtf8'), `/api/${twice([0xf4, 0x90, 0x80, 0x80])}`), null)
    assert.equal(judge(compileReadingCheck(DEFAULT_READINGS), `/api/${twice([0xf4, 0x90, 0x80, 0x80])}`), null)
  })
})

describe('path readings: trailing dots and spaces (Windows)', () => {
  it('a segment ending in a dot before a / is trimmed too: admin./x is admin/x', () => {
    assert.equal(judge(only('trailingDotsSpaces'), '/api/admin./x'), 'trailingDotsSpaces')
    assert.equal(judge(compileReadingCheck(DEFAULT_READINGS), '/api/admin./x'), 'trailingDotsSpaces')
  })

  it('". " trims to the dot segment ".", which is then resolved', () => {
    assert.equal(judge(only('trailingDotsSpaces'), '/api/.%20/admin'), 'trailingDotsSpaces')
  })

  it('only trailing dots go: ad.min. is ad.min; ". ." is emptied, not a climb', () => {
    assert.equal(judge(compileReadingCheck(DEFAULT_READINGS), '/api/ad.min.'), null)
    assert.equal(judge(compileReadingCheck(DEFAULT_READINGS), '/api/admin/.%20.', 'admin'), null)
  })
})

describe('path readings: at most 64 readings per path (SECURITY.md)', () => {
  // `%` + `25` × k + `61dmin`: each decoding removes one `25`, and the last one gives admin.
  const layered = (k: number) => `/api/%${'25'.repeat(k)}61dmin`
  it('a path that needs 64 readings (63 decodings) is judged', () => {
    assert.equal(judge(only('doubleDecoding'), layered(63)), 'doubleDecoding')
  })
  it('one that needs 65 is refused as too many', () => {
    assert.equal(judge(only('doubleDecoding'), layered(64)), 'too_many_readings')
    assert.equal(judge(compileReadingCheck(DEFAULT_READINGS), layered(100)), 'too_many_readings')
  })
})
