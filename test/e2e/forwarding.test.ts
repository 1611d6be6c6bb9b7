// What an allowed request looks like at the upstream (SPEC §3.8, §4): identity
// headers, the normalised path with its query intact, keep-alive, websockets,
// and 502/504 when the upstream fails.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { WebSocket, WebSocketServer } from 'ws'
import { createKey } from '../support/api-keys.js'
import { bearer, call, startFixture, type Fixture } from '../support/fixture.js'
import { startTestGatehouse } from '../support/gatehouse.js'
import { startRecordingUpstream } from '../support/recording-upstream.js'

let f: Fixture
let wss: WebSocketServer
before(async () => {
  f = await startFixture()
  wss = new WebSocketServer({ server: f.upstream.server })
  wss.on('connection', (ws, req) => {
    ws.send(JSON.stringify({ user: req.headers['x-auth-user'] ?? null, auth: req.headers.authorization ?? null }))
    ws.on('message', (m) => ws.send(`echo:${m.toString()}`))
  })
})
after(async () => {
  wss.close()
  await f.close()
})

const last = () => f.upstream.requests.at(-1)!

describe('identity headers (SPEC §4)', () => {
  test('a JWT caller reaches the upstream as its user, with the credential stripped', async () => {
    const exp = f.now() + 600
    const token = await f.token({ jti: 'token-42', exp, permissions: { users: 'rw', sessions: 'r' } })
    const res = await call(f, '/api/v1/users/7', { headers: bearer(token), clientIp: '192.0.2.10' })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('x-upstream'), 'recording')
    const h = last().headers
    assert.equal(h['x-auth-user'], 'alice')
    assert.equal(h['x-auth-method'], 'jwt')
    assert.equal(h['x-auth-credential-id'], 'token-42')
    assert.equal(h['x-auth-issuer'], 'test-idp')
    assert.equal(h['x-auth-permissions'], 'sessions:r users:rw')
    assert.equal(h['x-auth-expires'], String(exp))
    assert.equal(h['x-auth-actor'], undefined)
    assert.equal(h.authorization, undefined)
    assert.equal(h['x-forwarded-for'], '192.0.2.10, 127.0.0.1')
    assert.equal(h['x-forwarded-proto'], 'http')
    assert.equal(h.host, new URL(f.upstream.url).host)
  })

  test('an impersonation token names the actor', async () => {
    const token = await f.token({ sub: 'bob', act: { sub: 'alice' } })
    assert.equal((await call(f, '/api/v1/users', { headers: bearer(token) })).status, 200)
    assert.equal(last().headers['x-auth-user'], 'bob')
    assert.equal(last().headers['x-auth-actor'], 'alice')
  })

  test('an API-key caller is announced with the key id and issuer gatehouse', async () => {
    const { key, record } = await createKey(f.gh.gh.store, { user: 'carol', permissions: { users: 'r' } })
    assert.equal((await call(f, '/api/v1/users', { headers: { 'x-api-key': key } })).status, 200)
    const h = last().headers
    assert.equal(h['x-auth-user'], 'carol')
    assert.equal(h['x-auth-method'], 'apikey')
    assert.equal(h['x-auth-credential-id'], record.id)
    assert.equal(h['x-auth-issuer'], 'gatehouse')
    assert.equal(h['x-auth-permissions'], 'users:r')
    assert.equal(h['x-auth-expires'], undefined)
    assert.equal(h['x-api-key'], undefined)
  })

  test('a public API forwards without any identity header, even spoofed ones', async () => {
    const res = await call(f, '/api/v1/version', { headers: { 'x-auth-user': 'admin', 'X-Auth-Permissions': 'users:rw' } })
    assert.equal(res.status, 200)
    const names = Object.keys(last().headers).filter((n) => n.startsWith('x-auth'))
    assert.deepEqual(names, [])
  })

  test('HS256 and JWKS issuers work alongside the PEM issuer', async () => {
    assert.equal((await call(f, '/api/v1/users', { headers: bearer(await f.hsToken()) })).status, 200)
    assert.equal(last().headers['x-auth-issuer'], 'hs-app')
    assert.equal((await call(f, '/api/v1/users', { headers: bearer(await f.ecToken()) })).status, 200)
    assert.equal(last().headers['x-auth-issuer'], 'jwks-idp')
  })
})

describe('the forwarded request', () => {
  test('is the normalised path with the query string intact', async () => {
    const token = await f.token()
    const res = await call(f, '/api/v1/version/../users//7/./x?a=1&b=%2F..&c', { headers: bearer(token) })
    assert.equal(res.status, 200)
    assert.equal(last().url, '/api/v1/users/7/x?a=1&b=%2F..&c')
  })

  test('reuses upstream connections (keep-alive)', async () => {
    const token = await f.token()
    const before = f.upstream.connectionCount()
    for (let i = 0; i < 20; i++) assert.equal((await call(f, '/api/v1/users', { headers: bearer(token) })).status, 200)
    assert.ok(f.upstream.connectionCount() - before <= 2, `opened ${f.upstream.connectionCount() - before} connections for 20 requests`)
  })

  test('carries method-override and URL-override headers nowhere', async () => {
    const token = await f.token({ permissions: { users: 'r' } })
    const res = await call(f, '/api/v1/users', {
      headers: { ...bearer(token), 'x-http-method-override': 'DELETE', 'x-original-url': '/admin', 'x-rewrite-url': '/admin', 'x-method-override': 'PUT' },
    })
    assert.equal(res.status, 200)
    for (const n of ['x-http-method-override', 'x-original-url', 'x-rewrite-url', 'x-method-override']) assert.equal(last().headers[n], undefined, n)
    assert.equal(last().method, 'GET')
  })
})

describe('websockets', () => {
  const wsUrl = (path: string) => f.gh.url.replace('[::]', '127.0.0.1').replace(/^http/, 'ws') + path

  test('an authenticated upgrade is proxied with identity headers, both ways', async () => {
    const token = await f.token()
    const ws = new WebSocket(wsUrl('/api/v1/users/live'), { headers: bearer(token) })
    const messages: string[] = []
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (m) => {
        messages.push(m.toString())
        if (messages.length === 1) ws.send('hello')
        else resolve()
      })
      ws.on('error', reject)
    })
    ws.close()
    assert.deepEqual(JSON.parse(messages[0]!), { user: 'alice', auth: null })
    assert.equal(messages[1], 'echo:hello')
  })

  test('an upgrade without a credential is 401 and never reaches the upstream', async () => {
    let upgrades = 0
    const count = () => upgrades++
    wss.on('connection', count)
    const ws = new WebSocket(wsUrl('/api/v1/users/live'))
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      ws.on('error', () => resolve(-1))
    })
    wss.off('connection', count)
    assert.equal(status, 401)
    assert.equal(upgrades, 0)
  })
})

describe('upstream failures', () => {
  test('an upstream that is down is a fast 502', async () => {
    const closed = await startRecordingUpstream()
    const url = closed.url
    await closed.close()
    const gh = await startTestGatehouse({ upstream: { url }, apis: [{ name: 'open', prefixes: ['/'], public: true }] })
    try {
      const t0 = Date.now()
      const res = await fetch(`${gh.url}/x`)
      assert.equal(res.status, 502)
      assert.match(res.headers.get('content-type') ?? '', /problem\+json/)
      assert.ok(Date.now() - t0 < 2000)
    } finally {
      await gh.close()
    }
  })

  test('an upstream silent past timeoutMs is a 504, and its sockets are closed', async () => {
    const silent = await startRecordingUpstream()
    silent.behave({ kind: 'silent' })
    const gh = await startTestGatehouse({ upstream: { url: silent.url, timeoutMs: 300 }, apis: [{ name: 'open', prefixes: ['/'], public: true }] })
    try {
      const t0 = Date.now()
      const results = await Promise.all([1, 2, 3].map(() => fetch(`${gh.url}/slow`)))
      assert.deepEqual(results.map((r) => r.status), [504, 504, 504])
      assert.ok(Date.now() - t0 < 2000, 'answered within the timeout, not hung')
      const deadline = Date.now() + 2000
      while (silent.openSockets() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      assert.equal(silent.openSockets(), 0, 'timed-out upstream sockets are closed')
    } finally {
      await gh.close()
      await silent.close()
    }
  })
})
