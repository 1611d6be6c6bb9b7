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
import { HOSTILE_PATH_FRAGMENTS, oracleMatcher, readingsOf, utf8 } from '../support/path-oracle.js'
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
const oracleApi = oracleMatcher(APIS)

// ---- the generator: prefixes + hostile fragments, sent as raw request-target text
const fragment = fc.constantFrom(...HOSTILE_PATH_FRAGMENTS)
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
        for (const r of readingsOf(n.path)) {
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
