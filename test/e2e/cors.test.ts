// Per-API CORS (apis[].cors) over loopback: preflights are answered by Gatehouse and
// never reach the upstream, allowed or not; actual requests still need their
// credential, and their answers (refusals included) carry Access-Control-Allow-Origin
// for a listed origin. Then the real thing: headless Chromium, on a page of one
// loopback origin, fetches from Gatehouse on another with a bearer JWT.
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { chromium, type BrowserContext } from 'playwright-core'
import { bearer, call, startFixture, type Fixture } from '../support/fixture.js'
import { CHROMIUM_ARGS, chromiumTool } from '../support/chromium.js'
import type { Reply } from '../support/http.js'

const APP = 'https://app.example.com'
const USERS_CORS = { origins: [APP], headers: ['Authorization', 'Content-Type'], exposeHeaders: ['X-Request-Id'], credentials: true, maxAge: 600 }

let f: Fixture
before(async () => {
  f = await startFixture({
    apis: [
      { name: 'users', prefixes: ['/api/v1/users'], cors: USERS_CORS },
      { name: 'sessions', prefixes: ['/api/v1/sessions'] },
    ],
    forwardAuth: { path: '/_gatehouse/decide', trustedCallers: ['127.0.0.1/32', '::1/128'] },
  })
})
after(() => f.close())

const preflightHeaders = (origin: string, method = 'GET', headers = 'authorization') => ({
  origin,
  'access-control-request-method': method,
  'access-control-request-headers': headers,
})

/** Sends, checks that the upstream saw nothing, and returns the response. */
async function unforwarded(send: () => Promise<Reply>): Promise<Reply> {
  const before = f.upstream.requests.length
  const res = await send()
  assert.equal(f.upstream.requests.length, before, 'the upstream must see nothing')
  return res
}

describe('preflights (OPTIONS with Origin and Access-Control-Request-Method)', () => {
  test('an allowed preflight is 204 with the Access-Control-Allow-* headers, without a credential, and never forwarded', async () => {
    const res = await unforwarded(() => call(f, '/api/v1/users/42', { method: 'OPTIONS', headers: preflightHeaders(APP, 'DELETE', 'authorization,content-type') }))
    assert.equal(res.status, 204)
    assert.equal(res.headers.get('access-control-allow-origin'), APP)
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true')
    assert.ok((res.headers.get('access-control-allow-methods') ?? '').split(', ').includes('DELETE'))
    assert.deepEqual((res.headers.get('access-control-allow-headers') ?? '').split(', '), ['Authorization', 'Content-Type'])
    assert.equal(res.headers.get('access-control-max-age'), '600')
    assert.equal(res.headers.get('vary'), 'Origin')
    // RFC 9110 §8.6: no Content-Length on a 204.
    assert.equal(res.headers.get('content-length'), null)
    const line = f.gh.logs().findLast((l) => l.msg === 'request' && l.method === 'OPTIONS')
    assert.equal(line?.outcome, 'preflight')
    assert.equal(line?.api, 'users')
  })

  test('a preflight the policy does not allow is answered 200 without Access-Control-Allow-* (Envoy, Kong) and never forwarded', async () => {
    for (const [origin, method, headers] of [
      ['https://evil.example', 'GET', 'authorization'],
      [APP, 'TRACE', ''],
      [APP, 'GET', 'authorization,x-api-key'],
    ] as const) {
      const res = await unforwarded(() => call(f, '/api/v1/users', { method: 'OPTIONS', headers: preflightHeaders(origin, method, headers) }))
      assert.equal(res.status, 200, `${origin} ${method} ${headers}`)
      assert.equal(res.headers.get('access-control-allow-origin'), null)
      assert.equal(res.headers.get('access-control-allow-methods'), null)
      assert.equal(res.headers.get('vary'), 'Origin')
    }
    const line = f.gh.logs().findLast((l) => l.msg === 'request' && l.method === 'OPTIONS')
    assert.equal(line?.reason, 'cors_preflight_refused')
  })

  test('an OPTIONS that is not a preflight, and a preflight to an API without cors, still need a credential', async () => {
    const plain = await unforwarded(() => call(f, '/api/v1/users', { method: 'OPTIONS', headers: { origin: APP } }))
    assert.equal(plain.status, 401)
    const noCors = await unforwarded(() => call(f, '/api/v1/sessions', { method: 'OPTIONS', headers: preflightHeaders(APP) }))
    assert.equal(noCors.status, 401)
    assert.equal(noCors.headers.get('access-control-allow-origin'), null)
  })
})

test('in decision mode (forwardAuth) cors is not applied: a preflight decision needs a credential, the front proxy answers preflights', async () => {
  const res = await unforwarded(() => call(f, '/_gatehouse/decide/api/v1/users', { method: 'OPTIONS', headers: preflightHeaders(APP) }))
  assert.equal(res.status, 401)
  assert.equal(res.headers.get('access-control-allow-origin'), null)
})

describe('actual cross-origin requests', () => {
  test('with a valid JWT from a listed origin: forwarded, and the answer names the origin, credentials and exposed headers', async () => {
    const before = f.upstream.requests.length
    const res = await call(f, '/api/v1/users', { headers: { origin: APP, ...bearer(await f.token()) } })
    assert.equal(res.status, 200, res.text)
    assert.equal(f.upstream.requests.length, before + 1)
    assert.equal(f.upstream.requests.at(-1)?.headers['x-auth-user'], 'alice')
    assert.equal(res.headers.get('access-control-allow-origin'), APP)
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true')
    assert.equal(res.headers.get('access-control-expose-headers'), 'X-Request-Id')
    assert.equal(res.headers.get('vary'), 'Origin')
    assert.equal(res.headers.get('x-upstream'), 'recording')
  })

  test('without a credential from a listed origin: 401, with Access-Control-Allow-Origin so the page can read it', async () => {
    const res = await unforwarded(() => call(f, '/api/v1/users', { headers: { origin: APP } }))
    assert.equal(res.status, 401)
    assert.equal(res.headers.get('access-control-allow-origin'), APP)
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true')
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /)
  })

  test('from an origin not listed: the same refusal without Access-Control-Allow-Origin', async () => {
    const res = await unforwarded(() => call(f, '/api/v1/users', { headers: { origin: 'https://evil.example' } }))
    assert.equal(res.status, 401)
    assert.equal(res.headers.get('access-control-allow-origin'), null)
    assert.equal(res.headers.get('vary'), 'Origin')
  })
})

/** A page server on its own loopback origin; `/` serves an empty HTML page. */
async function pageServer(): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end('<!doctype html><title>app</title>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { origin, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

test(
  'in headless Chromium, a page on one loopback origin fetches from Gatehouse on another with a bearer JWT; the preflight never reaches the upstream',
  { skip: chromiumTool.skip, timeout: 60_000 },
  async () => {
    const executablePath = chromiumTool.require()
    const app = await pageServer()
    const stranger = await pageServer()
    const profile = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-chromium-'))
    let g: Fixture | undefined
    let browser: BrowserContext | undefined
    try {
      g = await startFixture({
        apis: [{ name: 'users', prefixes: ['/api/v1/users'], cors: { origins: [app.origin], exposeHeaders: ['X-Upstream'] } }],
      })
      const target = `${g.gh.url.replace('[::]', '127.0.0.1')}/api/v1/users`
      browser = await chromium.launchPersistentContext(profile, { executablePath, args: CHROMIUM_ARGS, headless: true, timeout: 20_000 })
      const page = browser.pages()[0] ?? (await browser.newPage())
      page.setDefaultTimeout(15_000)
      const token = await g.token()

      // What the page's script sees: status, the upstream's body, and a header it may read only if exposed.
      const run = (auth: string) =>
        page.evaluate(
          async ({ url, auth }) => {
            try {
              const r = await fetch(url, { method: 'DELETE', headers: { authorization: auth, 'content-type': 'application/json' }, body: '{}' })
              return { status: r.status, body: await r.text(), exposed: r.headers.get('x-upstream') }
            } catch (err) {
              return { error: String(err) }
            }
          },
          { url: target, auth },
        )

      await page.goto(app.origin)
      const ok = await run(`Bearer ${token}`)
      assert.equal((ok as { status?: number }).status, 200, JSON.stringify(ok))
      assert.equal(JSON.parse((ok as { body: string }).body).method, 'DELETE')
      assert.equal((ok as { exposed?: string }).exposed, 'recording', 'the upstream\'s X-Upstream is exposed to the page')
      // The browser did preflight (DELETE with Authorization): Gatehouse answered it, the upstream saw only the DELETE.
      assert.deepEqual(g.upstream.requests.map((r) => r.method), ['DELETE'])
      assert.equal(g.upstream.requests[0]?.headers['x-auth-user'], 'alice')
      assert.ok(g.gh.logs().some((l) => l.msg === 'request' && l.method === 'OPTIONS' && l.status === 204), 'Chromium sent a preflight')

      // A bad token: the page can read the 401 (the refusal carries Access-Control-Allow-Origin).
      const refused = await run('Bearer not-a-jwt')
      assert.equal((refused as { status?: number }).status, 401, JSON.stringify(refused))
      assert.equal(g.upstream.requests.length, 1)

      // A page of an origin not listed: the browser refuses the preflight answer, nothing is sent on.
      await page.goto(stranger.origin)
      const blocked = await run(`Bearer ${token}`)
      assert.match((blocked as { error?: string }).error ?? '', /TypeError/, JSON.stringify(blocked))
      assert.equal(g.upstream.requests.length, 1)
    } finally {
      await browser?.close().catch(() => {})
      await rm(profile, { recursive: true, force: true })
      await g?.close()
      await app.close()
      await stranger.close()
    }
  },
)
