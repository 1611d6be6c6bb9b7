// compileReadingCheck one reading at a time (issue 19, mutation testing): each case
// turns on a single switch and names a path that a legacy stack, as issue 13 lists
// them, reads as the admin API (IIS trims `admin.`, PHP decodes `%2561` twice, old
// UTF-8 decoders read `%C0%AF` as `/`, Java folds `ı` to `I`, NFKC turns `ａ` into
// `a`, `＼` into `\`) as another API, and the near misses that must not be refused.
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { compileApis } from '../../../src/pipeline/match-api.js'
import { normalizeTarget } from '../../../src/pipeline/normalize-path.js'
import { compileReadingCheck, DEFAULT_READINGS, type PathReadingSwitches, type ReadingName } from '../../../src/pipeline/path-readings.js'

const compiled = compileApis([
  { name: 'api', prefixes: ['/api'], public: false },
  { name: 'admin', prefixes: ['/api/admin'], public: false },
  { name: 'klass', prefixes: ['/api/class'], public: false },
  { name: 'kelvin', prefixes: ['/api/kelvin'], public: false },
  { name: 'ff', prefixes: ['/api/ff'], public: false },
])
assert.ok(compiled.ok)
const matcher = compiled.matcher
const NONE: PathReadingSwitches = {
  doubleDecoding: false,
  encodedDelimiters: false,
  trailingDotsSpaces: false,
  pathParameters: false,
  unicodeCompatibility: false,
  unicodeCaseFolding: false,
  invalidUtf8: false,
}
const only = (name: ReadingName) => compileReadingCheck({ ...NONE, [name]: true })
const utf8 = (s: string) => [...Buffer.from(s)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')

function judge(check: ReturnType<typeof compileReadingCheck>, raw: string) {
  const n = normalizeTarget(raw)
  assert.ok(n.ok, `${raw} must normalise`)
  return check(n.path, matcher.match(n.path), matcher)
}

const READS_AS_ANOTHER_API: [ReadingName, string[]][] = [
  ['doubleDecoding', ['/api/%2561dmin', '/api/%2541DMIN', '/api/%2561%2564min']],
  ['invalidUtf8', ['/api/x%25C0%25AF..%25C0%25AFadmin', '/api/x%25E0%2580%25AF..%25E0%2580%25AFadmin', '/api/x%25F0%2580%2580%25AF..%25F0%2580%2580%25AFadmin', '/api/x%25C0%25AF%25C0%25AE%25C0%25AE%25C0%25AFadmin']],
  ['encodedDelimiters', ['/api/admin%3Fx', '/api/admin%23x', '/api/admin%3Fx%23y', '/api/admin%23x%3Fy', '/api/admin%3F']],
  ['trailingDotsSpaces', ['/api/admin.', '/api/admin%20', '/api/admin.%20.', '/api/x/..%20/admin', '/api/x/..%20%20/admin']],
  ['pathParameters', ['/api/admin;x']],
  ['unicodeCompatibility', [`/api/${utf8('ａｄｍｉｎ')}`, `/api/x${utf8('／')}..${utf8('／')}admin`, `/api/x${utf8('＼')}..${utf8('＼')}admin`, `/api/adm${utf8('ⁱ')}n`]],
  ['unicodeCaseFolding', [`/api/adm${utf8('ı')}n`, `/api/adm${utf8('İ')}n`, `/api/${utf8('\u212a')}elvin`, `/api/cla${utf8('ſ')}s`, `/api/cla${utf8('ß')}`, `/api/${utf8('ﬀ')}`]],
]

describe('compileReadingCheck, one reading at a time', () => {
  for (const [name, raws] of READS_AS_ANOTHER_API) {
    for (const raw of raws) {
      it(`${raw} is refused by ${name} alone, and by nothing else`, () => {
        assert.equal(judge(only(name), raw), name)
        for (const other of Object.keys(NONE) as ReadingName[]) {
          if (other === name) continue
          // Some paths read differently under two readings; the one under test must be among them.
          const r = judge(only(other), raw)
          assert.ok(r === null || r === other, `${raw} under ${other} alone: ${r}`)
        }
        assert.notEqual(judge(compileReadingCheck(DEFAULT_READINGS), raw), null)
        assert.equal(judge(compileReadingCheck(NONE), raw), null)
      })
    }
  }

  const SAME_API = [
    '/api/users/john%20doe',
    '/api/files/report.v2.json',
    '/api/100%25',
    '/api/a%2Bb',
    '/api/x;y',
    '/api/adm;in',
    '/api/admin/x;y',
    '/api/admin/x.',
    '/api/admin/%2561',
    '/api/v1.',
    '/api/%2525',
    '/api/%25zz',
    '/api/%25',
    `/api/zo${utf8('ë')}`,
    `/api/${utf8('日本')}`,
    '/api/x%25C3%25A9',
    '/api/x%25FF',
    '/api/a/..%2520x',
    '/api/%3Fadmin',
    '/api/admin%3F/../x',
    '/api/x/../../admin',
    `/api/x${utf8('／')}admin`,
  ]
  for (const raw of SAME_API) {
    it(`${raw} reads as the API Gatehouse picked under every reading`, () => {
      assert.equal(judge(compileReadingCheck(DEFAULT_READINGS), raw), null)
    })
  }

  it('a path without %, ; or a segment ending in a dot is never read differently', () => {
    const check = compileReadingCheck(DEFAULT_READINGS)
    for (const path of ['/api/admin', '/api/a.b/c', '/api/.x', '/api/...x/y']) assert.equal(check(path, matcher.match(path), matcher), null, path)
  })

  it('a dot segment climbing above the root stays at the root', () => {
    // /api/..%20/..%20/..%20/admin: trimmed, `..` three times from /api climbs past the root; then admin is /admin, no API.
    assert.equal(judge(only('trailingDotsSpaces'), '/api/..%20/..%20/..%20/admin'), 'trailingDotsSpaces')
    const r = normalizeTarget('/api/..%20/..%20/..%20/admin')
    assert.ok(r.ok)
    assert.equal(matcher.match(r.path)?.name, 'api')
  })
})
