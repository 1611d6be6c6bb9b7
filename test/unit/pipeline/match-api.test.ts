import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { compileApis, type ApiMatcher } from '../../../src/pipeline/match-api.js'

function matcher(apis: Parameters<typeof compileApis>[0]): ApiMatcher {
  const r = compileApis(apis)
  if (!r.ok) throw new Error(JSON.stringify(r.problems))
  return r.matcher
}

const apis = matcher([
  { name: 'users', prefixes: ['/api/v1/users', '/api/v1/roles/'], public: false },
  { name: 'version', prefixes: ['/api/v1/version'], public: true },
  { name: 'api', prefixes: ['/api'], public: false },
  { name: 'admin', prefixes: ['/api/admin'], public: false },
])

describe('compileApis matcher', () => {
  const table: [path: string, api: string | null, why: string][] = [
    ['/api/v1/users', 'users', 'the prefix itself'],
    ['/api/v1/users/', 'users', 'the prefix with a trailing slash'],
    ['/api/v1/users/7', 'users', 'a path below the prefix'],
    ['/api/v1/usersX', 'api', 'not on a segment boundary: falls back to the shorter /api (attack #46)'],
    ['/api/v1/users.json', 'api', 'a suffix on the last segment is another segment'],
    ['/api/v1/roles', 'users', 'a prefix written with a trailing slash matches without one'],
    ['/api/v1/roles/1', 'users', 'and below it'],
    ['/api/v1/version', 'version', 'a public API'],
    ['/api/admin/x', 'admin', 'the longest prefix wins over /api'],
    ['/api/adminX', 'api', 'boundary again'],
    ['/api', 'api', 'a one-segment prefix'],
    ['/apiX', null, 'no API and no catch-all'],
    ['/', null, 'the root is in no API without a / prefix'],
    ['/API/V1/USERS/7', 'users', 'ASCII case is folded (attack #45)'],
    ['/Api/Admin', 'admin', 'mixed case decides the protected API'],
    ['/api/v1/users;x/7', 'users', 'matrix parameters are ignored for matching (attack #43)'],
    ['/api/admin;jsessionid=1', 'admin', 'a parameter on the last segment'],
    ['/api;x/admin', 'admin', 'a parameter on an inner segment'],
    ['/api%3Bx/admin', 'admin', 'an encoded ; counts as a parameter too'],
    ['/api/v1/users%3bx', 'users', 'lower-case hex of an encoded ;'],
    ['/;x/api/admin', 'admin', 'a segment emptied by its parameter is dropped, as Tomcat does'],
    ['/api/v1/versionX', 'api', 'a public prefix also needs a segment boundary'],
  ]
  for (const [path, expected, why] of table) {
    it(`decides ${path} as ${expected ?? 'no API'}: ${why}`, () => {
      assert.equal(apis.match(path)?.name ?? null, expected)
    })
  }

  it('says whether the matched API is public', () => {
    assert.equal(apis.match('/api/v1/version')?.public, true)
    assert.equal(apis.match('/api/v1/users')?.public, false)
  })

  it('lets a / prefix catch every path no longer prefix matches', () => {
    const m = matcher([
      { name: 'all', prefixes: ['/'], public: false },
      { name: 'pub', prefixes: ['/pub'], public: true },
    ])
    assert.equal(m.match('/')?.name, 'all')
    assert.equal(m.match('/anything/at/all')?.name, 'all')
    assert.equal(m.match('/pubX')?.name, 'all')
    assert.equal(m.match('/pub/x')?.name, 'pub')
  })

  it('matches only the catch-all when it is the only API', () => {
    const m = matcher([{ name: 'all', prefixes: ['/'], public: false }])
    assert.equal(m.match('/x/y')?.name, 'all')
  })

  it('matches nothing with no APIs', () => {
    assert.equal(matcher([]).match('/x'), null)
  })

  it('matches prefixes holding percent-encoded bytes', () => {
    const m = matcher([{ name: 'cafe', prefixes: ['/caf%C3%A9'], public: false }])
    assert.equal(m.match('/caf%C3%A9/menu')?.name, 'cafe')
    assert.equal(m.match('/CAF%C3%A9')?.name, 'cafe')
  })
})

describe('compileApis problems', () => {
  const cases: { name: string; apis: Parameters<typeof compileApis>[0]; paths: string[] }[] = [
    {
      name: 'reports a prefix repeated across APIs',
      apis: [
        { name: 'a', prefixes: ['/x'], public: false },
        { name: 'b', prefixes: ['/y', '/x'], public: false },
      ],
      paths: ['apis[1].prefixes[1]'],
    },
    {
      name: 'reports prefixes that differ only in case or trailing slash',
      apis: [{ name: 'a', prefixes: ['/x/y', '/X/Y/', '/x/y/'], public: false }],
      paths: ['apis[0].prefixes[1]', 'apis[0].prefixes[2]'],
    },
    {
      name: 'reports a repeated API name',
      apis: [
        { name: 'a', prefixes: ['/x'], public: false },
        { name: 'a', prefixes: ['/y'], public: false },
      ],
      paths: ['apis[1].name'],
    },
    {
      name: 'reports prefixes that are not normalised paths',
      apis: [{ name: 'a', prefixes: ['/x/../y', '//x', '/x/./y', 'x', '/%41', '/a%2fb', '/x?y', '/x#y', '/x;p', '/x%3Bp'], public: false }],
      paths: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `apis[0].prefixes[${i}]`),
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      const r = compileApis(c.apis)
      assert.ok(!r.ok)
      assert.deepEqual(
        r.problems.map((p) => p.path),
        c.paths,
      )
      for (const p of r.problems) assert.ok(p.message.length > 0)
    })
  }
})

describe('compileApis at the edges (issue 19, mutation testing)', () => {
  it('each API gets its own maxBodyBytes, else limits.maxBodyBytes (attack #100); a cors policy only when configured', () => {
    const r = compileApis(
      [
        { name: 'upload', prefixes: ['/upload'], public: false, maxBodyBytes: 10 },
        { name: 'zero', prefixes: ['/zero'], public: false, maxBodyBytes: 0 },
        { name: 'web', prefixes: ['/web'], public: false, cors: { origins: ['https://app.example'], methods: ['GET'], headers: [], exposeHeaders: [], credentials: false } },
      ],
      1000,
    )
    assert.ok(r.ok)
    assert.equal(r.matcher.match('/upload')?.maxBodyBytes, 10)
    assert.equal(r.matcher.match('/zero')?.maxBodyBytes, 0)
    assert.equal(r.matcher.match('/web')?.maxBodyBytes, 1000)
    assert.equal(r.matcher.match('/upload')?.cors, null)
    assert.equal(r.matcher.match('/web')?.cors?.origins.has('https://app.example'), true)
    assert.equal(matcher([{ name: 'a', prefixes: ['/a'], public: false }]).match('/a')?.maxBodyBytes, Number.POSITIVE_INFINITY)
  })

  it('walks back over segment boundaries only, and an encoded ; is exactly %3B', () => {
    const m = matcher([
      { name: 'all', prefixes: ['/'], public: false },
      { name: 'api', prefixes: ['/api'], public: false },
      { name: 'adm', prefixes: ['/api/adm'], public: false },
      { name: 'admin', prefixes: ['/api/admin'], public: false },
    ])
    assert.equal(m.match('/abc/x')?.name, 'all', 'a boundary as long as /api that is not /api')
    assert.equal(m.match('/api/adminX/y')?.name, 'api', '/api/admin is no boundary of /api/adminx')
    for (const path of ['/api/admX3b', '/api/adm%2Bx', '/api/adm%3Ax']) assert.equal(m.match(path)?.name, 'api', path)
    assert.equal(m.match('/api/adm%3Bx')?.name, 'adm')
  })

  it('folds every ASCII capital, Z included, and drops empty segments', () => {
    const m = matcher([
      { name: 'zed', prefixes: ['/zed'], public: false },
      { name: 'admin', prefixes: ['/api/admin'], public: false },
    ])
    assert.equal(m.match('/Zed')?.name, 'zed')
    assert.equal(m.match('/zeD/x')?.name, 'zed')
    assert.equal(m.match('/api//admin')?.name, 'admin')
  })

  it('each problem says what is wrong', () => {
    const r = compileApis([
      { name: 'a', prefixes: ['/x', '/x/y/..', 'x', '/X/', '/p;q'], public: false },
      { name: 'a', prefixes: ['/z'], public: false },
    ])
    assert.ok(!r.ok)
    const messages = Object.fromEntries(r.problems.map((p) => [p.path, p.message]))
    assert.match(messages['apis[0].prefixes[1]'] ?? '', /"\/x\/y\/\.\." is not a normalised path; write "\/x\/"/)
    assert.match(messages['apis[0].prefixes[2]'] ?? '', /"x" is not a usable path: .+/)
    assert.match(messages['apis[0].prefixes[3]'] ?? '', /"\/X\/" is the same prefix as apis\[0\]\.prefixes\[0\]/)
    assert.match(messages['apis[0].prefixes[4]'] ?? '', /"\/p;q" holds a ; parameter/)
    assert.match(messages['apis[1].name'] ?? '', /"a" is already the name of apis\[0\]/)
  })
})
