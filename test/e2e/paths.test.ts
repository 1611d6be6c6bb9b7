// SPEC §3.1: the path that picks the API is the path the upstream receives. Every
// row of the path table goes through a real Gatehouse with no credential: it is
// refused (400), or refused as protected (401), or forwarded as exactly the
// normalised path, and then that path belongs to a public API.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js'
import { rawRequest } from '../support/raw-http.js'
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js'
import { PATH_VECTORS } from '../vectors/paths.js'

const APIS = [
  { name: 'users', prefixes: ['/api/v1/users', '/api/admin'], public: false },
  { name: 'version', prefixes: ['/api/v1/version', '/pub'], public: true },
  { name: 'rest', prefixes: ['/'], public: true },
]

let upstream: RecordingUpstream
let gh: TestGatehouse
before(async () => {
  upstream = await startRecordingUpstream()
  // This file tests normalisation alone; the legacy readings (issue 13) that would
  // refuse some of these vectors as ambiguous are tested in test/security/legacy-readings.test.ts.
  const pathReadings = { doubleDecoding: false, encodedDelimiters: false, trailingDotsSpaces: false, pathParameters: false, unicodeCompatibility: false, unicodeCaseFolding: false, invalidUtf8: false }
  gh = await startTestGatehouse({ upstream: { url: upstream.url }, apis: APIS, pathReadings })
})
after(async () => {
  await gh.close()
  await upstream.close()
})

// The oracle is README §"Deciding a request" step 4, written out here rather than
// asked of compileApis (the code under test): the longest prefix on segment
// boundaries, ASCII case-insensitive, `;params` ignored for matching.
function expectedApi(path: string): (typeof APIS)[number] | undefined {
  const segments = (p: string) => p.toLowerCase().split('/').map((s) => s.split(';')[0])
  const target = segments(path)
  let best: { api: (typeof APIS)[number]; length: number } | undefined
  for (const api of APIS) {
    for (const prefix of api.prefixes) {
      const want = prefix === '/' ? [''] : segments(prefix)
      const under = want.every((s, i) => target[i] === s)
      if (under && (!best || prefix.length > best.length)) best = { api, length: prefix.length }
    }
  }
  return best?.api
}

test('the oracle itself: longest prefix, segment boundaries, case and ;params', () => {
  assert.equal(expectedApi('/api/v1/users')?.name, 'users')
  assert.equal(expectedApi('/API/V1/Users;x/7')?.name, 'users')
  assert.equal(expectedApi('/api/v1/usersX')?.name, 'rest')
  assert.equal(expectedApi('/api/admin;jsessionid=1')?.name, 'users')
  assert.equal(expectedApi('/api/v1/version/2')?.name, 'version')
  assert.equal(expectedApi('/pubx')?.name, 'rest')
})

for (const v of PATH_VECTORS) {
  test(`${JSON.stringify(v.raw)}: ${v.why}`, async () => {
    const port = Number(new URL(gh.url).port)
    const before = upstream.requests.length
    // No catch: every row gets an answer (node's own parser answers 400 to what it refuses).
    const r = await rawRequest(port, `GET ${v.raw} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`)
    if (v.expect === 'reject') {
      assert.equal(r.status, 400, `expected 400, got ${r.status}`)
      assert.equal(upstream.requests.length, before, 'a rejected path never reaches the upstream')
      return
    }
    const api = expectedApi(v.expect.split('?')[0] as string)
    assert.ok(api, 'the catch-all API matches every path')
    if (!api.public) {
      assert.equal(r.status, 401, 'a protected path needs a credential')
      assert.equal(upstream.requests.length, before)
      return
    }
    assert.equal(r.status, 200)
    assert.equal(upstream.requests.length, before + 1)
    assert.equal(upstream.requests.at(-1)!.url, v.expect, 'the upstream receives the normalised path')
  })
}

test('case and matrix-parameter look-alikes of a protected API are decided as that API', async () => {
  const port = Number(new URL(gh.url).port)
  for (const target of ['/API/v1/users', '/Api/V1/Users/7', '/api/v1/users;jsessionid=x', '/api/v1/users;x/7', '/api/v1/version/../users']) {
    const before = upstream.requests.length
    const r = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`)
    assert.equal(r.status, 401, target)
    assert.equal(upstream.requests.length, before, target)
  }
  // A look-alike that is not on a segment boundary is not the protected API.
  const r = await rawRequest(port, `GET /api/v1/usersX HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`)
  assert.equal(r.status, 200)
  assert.equal(upstream.requests.at(-1)!.url, '/api/v1/usersX')
})
