// Attack catalogue §2 (SECURITY.md) (path / routing), every row as raw request-targets over a real
// socket with K1 (r on /pub, rw on /api, none on /api/admin and /other). The path
// invariant of every row: P refuses, or the path U receives is the path that was
// authorised, and nothing under /api/admin ever reaches U.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { compileApis } from '../../src/pipeline/match-api.js'
import { normalizeTarget } from '../../src/pipeline/normalize-path.js'
import { rawRequest, type RawResponse } from '../support/raw-http.js'
import { startRecordingUpstream } from '../support/recording-upstream.js'
import { startTestGatehouse } from '../support/gatehouse.js'
import { apiKey, assertUClean, CATALOGUE_APIS, headerOf, problemType, rawText, startWorld, type World } from '../support/security-fixture.js'

let w: World
before(async () => {
  w = await startWorld()
})
after(() => w.close())

const matcher = (() => {
  const r = compileApis(CATALOGUE_APIS.map((a) => ({ public: false, ...a })))
  assert.ok(r.ok)
  return r.matcher
})()

/** Sends `target` with K1 and checks the path invariant; returns the response. */
async function withK1(target: string, extra: [string, string][] = [], method = 'GET'): Promise<RawResponse> {
  const before = w.seen()
  const r = await w.send(rawText(method, target, [apiKey(w.K1), ...extra]))
  const forwarded = w.U.requests.slice(before)
  for (const seen of forwarded) {
    const path = seen.url.split('?')[0] as string
    assert.notEqual(matcher.match(path)?.name, 'admin', `${target}: reached U under /api/admin as ${seen.url}`)
    const n = normalizeTarget(target)
    assert.ok(n.ok && n.path === path, `${target}: authorised ${n.ok ? n.path : '(refused)'} but forwarded ${path}`)
  }
  return r
}

async function refusedWithK1(target: string, statuses: number[], why = target): Promise<void> {
  const before = w.seen()
  const r = await withK1(target)
  assert.ok(statuses.includes(r.status), `${why}: ${r.status} ${r.body}`)
  assert.equal(w.seen(), before, `${why}: no-U`)
}

describe('attack catalogue §2 paths and routing', () => {
  test('control: K1 reads /pub and /api, is refused /api/admin (403) and /other (403)', async () => {
    assert.equal((await withK1('/pub/x')).status, 200)
    assert.equal((await withK1('/api/x')).status, 200)
    assertUClean(w.lastSeen(), 'alice', 'api:rw pub:r')
    await refusedWithK1('/api/admin/x', [403])
    await refusedWithK1('/other', [403])
  })

  test('#36 dot segments into /api/admin are 403', async () => {
    for (const t of ['/api/../api/admin/x', '/pub/../api/admin', '/pub/./../api/admin', '/pub/x/../../api/admin']) await refusedWithK1(t, [403, 400])
  })

  test('#37 encoded dots (%2e%2e, %2E%2E, .%2e, %2e.) are decoded before matching: 403', async () => {
    for (const t of ['/pub/%2e%2e/api/admin', '/pub/%2E%2E/api/admin', '/pub/.%2e/api/admin', '/pub/%2e./api/admin']) await refusedWithK1(t, [403, 400])
  })

  test('#38 encoded slash or backslash, and a raw backslash, are 400', async () => {
    for (const t of ['/pub/..%2fapi%2fadmin', '/pub%2f..%2fapi/admin', '/api%2fadmin', '/api%5cadmin', '/pub\\..\\api\\admin']) {
      await refusedWithK1(t, [400])
    }
  })

  test('#40 slash runs reach /api/admin only as /api/admin (403); //L/x never makes P contact L', async () => {
    for (const t of ['//api/admin', '/api//admin', '///api/admin']) await refusedWithK1(t, [403])
    await refusedWithK1(`//${w.L.host}:${w.L.port}/x`, [403, 400])
    await refusedWithK1(`//${w.L.host}:${w.L.port}/api/x`, [403, 400])
    assert.equal(w.L.connections(), 0, 'L=0')
  })

  test('#41 a fragment in the target (/api/admin#/pub) is 400', async () => {
    await refusedWithK1('/api/admin#/pub', [400])
    await refusedWithK1('/pub#x', [400])
  })

  test('#43 ;path parameters: matched as the API they name (403) or, read with the parameters kept, another API (400, issue 13); ..; refused (400)', async () => {
    await refusedWithK1('/pub;/../api/admin', [403])
    for (const t of ['/api/admin;jsessionid=1', '/api;x/admin']) await refusedWithK1(t, [400])
    await refusedWithK1('/pub/..;/api/admin', [400])
  })

  test('#45 case: /API/admin, /api/ADMIN, /Api/Admin are the admin API (403): one case rule for every entry', async () => {
    for (const t of ['/API/admin', '/api/ADMIN', '/Api/Admin']) await refusedWithK1(t, [403])
  })

  test('#46 prefix boundary: /pubX, /pub-admin, /pub.., /pub.json are 403; /pub, /pub/, /pub/x are 200', async () => {
    for (const t of ['/pubX', '/pub-admin', '/pub..', '/pub.json']) await refusedWithK1(t, [403])
    for (const t of ['/pub', '/pub/', '/pub/x']) {
      const before = w.seen()
      assert.equal((await withK1(t)).status, 200, t)
      assert.equal(w.lastSeen().url, t)
      assert.equal(w.seen(), before + 1)
    }
  })

  test('#48 control characters, encoded or raw (NUL, LF, CR, TAB), are 400', async () => {
    for (const t of ['/api/admin%00.pub', '/pub%00/../api/admin', '/api/%0aadmin', '/api/admin%0d', '/pub/a\tb']) await refusedWithK1(t, [400])
  })

  test('#50 Host: a duplicate, userinfo and an empty value are 400; any other Host never picks the route or a destination', async () => {
    const before = w.seen()
    for (const head of [
      'Host: a\r\nHost: b\r\n',
      'Host: a@evil.example\r\n',
      `Host: 127.0.0.1:${w.port}:80@evil\r\n`,
      `Host: 127.0.0.1:80@evil\r\n`,
      'Host:\r\n',
      'Host: a/b\r\n',
    ]) {
      const r = await w.send(`GET /pub/x HTTP/1.1\r\n${head}X-API-Key: ${w.K1}\r\nConnection: close\r\n\r\n`)
      assert.equal(r.status, 400, JSON.stringify(head))
      assert.equal(problemType(r), 'request_malformed', JSON.stringify(head))
    }
    assert.equal(w.seen(), before)
    for (const host of ['localhost', '169.254.169.254', `127.0.0.1:${w.U.port}`, `${w.L.host}:${w.L.port}`, '[::1]:80']) {
      const r = await w.send(`GET /pub/x HTTP/1.1\r\nHost: ${host}\r\nX-API-Key: ${w.K1}\r\nConnection: close\r\n\r\n`)
      assert.equal(r.status, 200, host)
      // U is the configured upstream whatever the Host said; its Host header is U's own.
      assert.equal(w.lastSeen().headers.host, new URL(w.U.url).host)
      assert.equal(w.lastSeen().headers['x-forwarded-host'], host)
    }
    assert.equal(w.L.connections(), 0, 'L=0')
  })

  test('#51 methods: writes and PROPFIND with r are 403, TRACE and CONNECT 405, lowercase and unknown methods 400, HEAD 200 without body', async () => {
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND']) {
      const before = w.seen()
      const r = await withK1('/pub', [], m)
      assert.equal(r.status, 403, m)
      assert.equal(w.seen(), before)
    }
    const before = w.seen()
    assert.equal((await w.send(rawText('TRACE', '/pub', [apiKey(w.K1)]))).status, 405)
    const connect = await w.send(`CONNECT 127.0.0.1:${w.port} HTTP/1.1\r\nHost: 127.0.0.1:${w.port}\r\n\r\n`)
    assert.equal(connect.status, 405, 'CONNECT')
    const connect443 = await w.send('CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n')
    assert.equal(connect443.status, 405, 'CONNECT :443')
    // llhttp refuses these before any handler runs; unknown methods never reach the pipeline.
    assert.equal((await w.send(rawText('get', '/pub', [apiKey(w.K1)]))).status, 400)
    assert.equal((await w.send(rawText('FOO', '/pub', [apiKey(w.K1)]))).status, 400)
    assert.equal(w.seen(), before)
    const head = await withK1('/pub', [], 'HEAD')
    assert.equal(head.status, 200)
    assert.equal(head.body, '')
    assert.equal(w.lastSeen().method, 'HEAD')
  })

  test('#52 method override: the headers are stripped, GET stays GET, and a POST carrying _method needs rw', async () => {
    const overrides: [string, string][] = [
      ['X-HTTP-Method-Override', 'DELETE'],
      ['X-HTTP-Method', 'PUT'],
      ['X-Method-Override', 'PATCH'],
    ]
    assert.equal((await withK1('/pub', overrides)).status, 200)
    const seen = w.lastSeen()
    assert.equal(seen.method, 'GET')
    for (const [n] of overrides) assert.equal(seen.headers[n.toLowerCase()], undefined, n)
    // The query is forwarded verbatim; frameworks honour _method only on POST (Rails,
    // Laravel, Symfony, express method-override), and a POST needs rw anyway.
    assert.equal((await withK1('/pub?_method=DELETE')).status, 200)
    assert.equal(w.lastSeen().method, 'GET')
    const before = w.seen()
    const form = await w.send(rawText('POST', '/pub', [apiKey(w.K1), ['Content-Type', 'application/x-www-form-urlencoded']], '_method=DELETE'))
    assert.equal(form.status, 403)
    assert.equal(w.seen(), before)
  })

  test('#54 only the exact anonymous routes are anonymous; User-Agent never skips auth; spoofed identity is stripped there too', async () => {
    for (const t of ['/health/../api/admin', '/.well-known/../api/admin', '/health/..%2fapi/admin']) {
      const before = w.seen()
      const r = await w.send(rawText('GET', t))
      assert.ok([400, 401].includes(r.status), `${t}: ${r.status}`)
      assert.equal(w.seen(), before)
    }
    for (const t of ['/healthz-admin', '/healthz']) {
      const before = w.seen()
      assert.equal((await w.send(rawText('GET', t))).status, 403, t)
      assert.equal(w.seen(), before)
    }
    for (const ua of ['kube-probe/1.30', 'ELB-HealthChecker/2.0', 'GoogleHC/1.0']) {
      const before = w.seen()
      const r = await w.send(rawText('GET', '/api/admin', [['User-Agent', ua]]))
      assert.equal(r.status, 401, ua)
      assert.match(headerOf(r, 'www-authenticate') ?? '', /^Bearer/)
      assert.equal(w.seen(), before)
    }
    const r = await w.send(rawText('GET', '/health', [['X-Auth-User', 'admin'], ['X_Auth_Permissions', 'admin:rw'], ['User-Agent', 'kube-probe/1.30']]))
    assert.equal(r.status, 200)
    assertUClean(w.lastSeen(), null)
  })

  test('#55 each request reaches its own upstream: no shared URL cache, and a target without its leading / is refused', async () => {
    await refusedWithK1('1/private', [400])
    // Two Gatehouses in one process, upstreams on different ports; requests interleaved.
    const a = await startRecordingUpstream()
    const b = await startRecordingUpstream()
    const apis = [{ name: 'open', prefixes: ['/'], public: true }]
    const ga = await startTestGatehouse({ upstream: { url: `${a.url}/1` }, apis })
    const gb = await startTestGatehouse({ upstream: { url: b.url }, apis })
    try {
      for (let i = 0; i < 5; i++) {
        assert.equal((await rawRequest(Number(new URL(ga.url).port), rawText('GET', '/private'))).status, 200)
        assert.equal((await rawRequest(Number(new URL(gb.url).port), rawText('GET', '/private'))).status, 200)
      }
      assert.deepEqual(a.requests.map((r) => r.url), Array(5).fill('/1/private'))
      assert.deepEqual(b.requests.map((r) => r.url), Array(5).fill('/private'))
    } finally {
      await ga.close()
      await gb.close()
      await a.close()
      await b.close()
    }
  })
})
