// Issue 13 property: for paths built from the configured API prefixes and hostile
// fragments, Gatehouse either refuses (400 path_invalid / path_ambiguous) or every
// reading a legacy upstream could make selects the API Gatehouse selected. The
// readings and the prefix match here are an independent oracle written from the
// issue's list (regexes, String.prototype.normalize, toUpperCase/toLowerCase),
// not the code under test.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { compileApis } from '../../src/pipeline/match-api.js'
import { normalizeTarget } from '../../src/pipeline/normalize-path.js'
import { compileReadingCheck, DEFAULT_READINGS } from '../../src/pipeline/path-readings.js'
import { RUNS } from './runs.js'

const APIS = [
  { name: 'pub', prefixes: ['/pub'], public: true },
  { name: 'api', prefixes: ['/api'], public: false },
  { name: 'admin', prefixes: ['/api/admin', '/api/v1/users/admin'], public: false },
  { name: 'users', prefixes: ['/api/v1/users'], public: false },
  { name: 'other', prefixes: ['/other'], public: false },
]
const compiled = compileApis(APIS)
assert.ok(compiled.ok)
const matcher = compiled.matcher
const check = compileReadingCheck(DEFAULT_READINGS)

// ---- the oracle
const ASCII = /^[\x00-\x7f]*$/
const decode = (s: string) => s.replace(/(%[0-9a-f]{2})+/gi, (m) => Buffer.from(m.replaceAll('%', ''), 'hex').toString('utf8'))
// Overlong forms of `/`, `.` and `\` as a pre-RFC 3629 decoder reads them.
const decodeOverlong = (s: string) =>
  decode(s.replace(/%C0%AF|%E0%80%AF/gi, '/').replace(/%C0%AE|%E0%80%AE/gi, '.').replace(/%C1%9C/gi, '\\'))
const cutDelimiters = (s: string) => s.split(/[?#]/)[0] as string
const trimDotsSpaces = (s: string) =>
  s
    .split('/')
    .map((seg) => {
      const noSpaces = seg.replace(/ +$/, '')
      return noSpaces === '.' || noSpaces === '..' ? noSpaces : seg.replace(/[. ]+$/, '')
    })
    .join('/')
const foldCase = (s: string) =>
  [...s].map((ch) => (ASCII.test(ch) ? ch : ASCII.test(ch.toUpperCase()) ? ch.toUpperCase() : ASCII.test(ch.toLowerCase()) ? ch.toLowerCase() : ch)).join('')
const REWRITES = [decode, decodeOverlong, cutDelimiters, trimDotsSpaces, (s: string) => s.normalize('NFKC'), foldCase]

/** Segments of a decoded reading: `/` and `\` separate, dot segments resolved, lowercased. */
function segments(reading: string, cutParams: boolean): string[] {
  const out: string[] = []
  for (let seg of reading.split(/[/\\]/)) {
    if (cutParams) seg = seg.split(';')[0] as string
    if (seg === '' || seg === '.') continue
    if (seg === '..') out.pop()
    else out.push(seg.toLowerCase())
  }
  return out
}

const PREFIXES = APIS.flatMap((a) => a.prefixes.map((p) => ({ api: a.name, segs: segments(decode(p), true) })))
function oracleApi(reading: string, cutParams: boolean): string | null {
  const segs = segments(reading, cutParams)
  let best: { api: string; n: number } | null = null
  for (const p of PREFIXES) {
    if (p.segs.length <= segs.length && p.segs.every((s, i) => s === segs[i]) && (best === null || p.segs.length > best.n)) best = { api: p.api, n: p.segs.length }
  }
  return best?.api ?? null
}

/** Every reading reachable in up to three rewrites of the once-decoded path. */
function readings(path: string): string[] {
  const seen = new Set([decode(path)])
  let frontier = [...seen]
  for (let depth = 0; depth < 3; depth++) {
    const next: string[] = []
    for (const r of frontier) {
      for (const f of REWRITES) {
        const v = f(r)
        if (!seen.has(v)) {
          seen.add(v)
          next.push(v)
        }
      }
    }
    frontier = next
  }
  return [...seen]
}

// ---- the generator: prefixes + hostile fragments, sent as raw request-target text
const utf8 = (ch: string) => [...Buffer.from(ch)].map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join('')
const HOSTILE = [
  'admin', 'ADMIN', 'Admin', 'x', 'users', 'v1', '/', '//', '.', '..', '%2e', '%2E%2e', '%252e', '%252E%252E', '%2561dmin', '%2541DMIN',
  '%3F', '%253F', '%23', '%2523', ';', '%3B', '%253B', ';x=1', '%20', '%2520', '.%20', '..%20', ' ', '...', '%2e%20',
  `adm${utf8('ı')}n`, `${utf8('ſ')}`, utf8('K'), utf8('İ'), `${utf8('ａ')}dmin`, utf8('ａｄｍｉｎ'), utf8('／'), utf8('．'), utf8('．．'), utf8('﹖'),
  utf8('ﬀ'), utf8('ß'), '%C0%AF', '%25C0%25AF', '%25C0%25AE', '%25C0%25AE%25C0%25AE', '%25E0%2580%25AF', '%25C1%259C', '%25FF', '%2500',
  '%C3%A9', '%25C3%25A9', '%7E', '~', '-', '_',
]
const fragment = fc.constantFrom(...HOSTILE)
const target = fc
  .tuple(fc.constantFrom('/pub', '/api', '/api/admin', '/api/v1/users', '/api/v1/users/admin', '/other', '/'), fc.array(fc.tuple(fc.boolean(), fragment), { maxLength: 5 }))
  .map(([prefix, parts]) => prefix + parts.map(([slash, f]) => (slash ? '/' : '') + f).join(''))

describe('path readings (issue 13)', () => {
  test('a path is refused, or every legacy reading selects the API Gatehouse selected', () => {
    const outcomes = { invalid: 0, ambiguous: 0, agreed: 0 }
    fc.assert(
      fc.property(target, (raw) => {
        const n = normalizeTarget(raw)
        if (!n.ok) {
          outcomes.invalid++
          return
        }
        const api = matcher.match(n.path)
        if (check(n.path, api, matcher) !== null) {
          outcomes.ambiguous++
          return
        }
        outcomes.agreed++
        const ours = api?.name ?? null
        for (const r of readings(n.path)) {
          for (const cut of [true, false]) {
            assert.equal(oracleApi(r, cut), ours, `${raw} (normalised ${n.path}) reads as ${JSON.stringify(r)}${cut ? '' : ' with ;params kept'}`)
          }
        }
      }),
      { numRuns: RUNS },
    )
    // The generator reaches all three outcomes, so the property is not vacuous.
    for (const [k, v] of Object.entries(outcomes)) assert.ok(v > RUNS / 50, `${k}: ${v} of ${RUNS}`)
  })

  // Named readings, each from the list, each refused by default.
  const cases: [string, string][] = [
    ['/api/admin.', 'trailingDotsSpaces'],
    ['/api/admin%20', 'trailingDotsSpaces'],
    ['/api/admin.%20.', 'trailingDotsSpaces'],
    ['/api/x/..%20/admin', 'trailingDotsSpaces'],
    ['/api/%2561dmin', 'doubleDecoding'],
    ['/api/%2541DMIN', 'doubleDecoding'],
    ['/api/admin%3Fx', 'encodedDelimiters'],
    ['/api/admin%23x', 'encodedDelimiters'],
    ['/api/admin%253Fx', 'encodedDelimiters'],
    ['/api/admin;x', 'pathParameters'],
    [`/api/${utf8('ａｄｍｉｎ')}`, 'unicodeCompatibility'],
    [`/api/x${utf8('／')}..${utf8('／')}admin`, 'unicodeCompatibility'],
    [`/api/adm${utf8('ı')}n`, 'unicodeCaseFolding'],
    [`/api/adm${utf8('İ')}n`, 'unicodeCaseFolding'],
    ['/api/x%25C0%25AF..%25C0%25AFadmin', 'invalidUtf8'],
  ]
  for (const [raw, reading] of cases) {
    test(`${raw} is refused as the ${reading} reading, and allowed with that switch off`, () => {
      const n = normalizeTarget(raw)
      assert.ok(n.ok, raw)
      const api = matcher.match(n.path)
      assert.notEqual(check(n.path, api, matcher), null)
      const off = compileReadingCheck({ ...DEFAULT_READINGS, [reading]: false })
      // With only this reading off, no other reading sees another API.
      assert.equal(off(n.path, api, matcher), null, `${raw} with ${reading} off`)
    })
  }

  test('ordinary paths with escapes, dots and non-ASCII pass', () => {
    for (const raw of ['/api/users/john%20doe', '/api/files/report.v2.json', `/api/users/zo${utf8('ë')}`, '/api/100%25', '/pub/a%2Bb', '/api/v1/users/7']) {
      const n = normalizeTarget(raw)
      assert.ok(n.ok, raw)
      assert.equal(check(n.path, matcher.match(n.path), matcher), null, raw)
    }
  })
})
