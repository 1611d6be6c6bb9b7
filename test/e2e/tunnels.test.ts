// Issue 12: a websocket tunnel lives only while the request that opened it would
// still be allowed. It is closed within a few seconds once its credential is
// revoked, disabled, expires, or loses the permission its API needs, and past its
// idle timeout (limits.tunnelIdleTimeoutMs) or maximum lifetime
// (limits.tunnelMaxLifetimeMs). Time moves through the injected clock; the
// re-check itself runs every second of real time, so waits are bounded at 5 s.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { WebSocket, WebSocketServer } from 'ws'
import { apiKey, basic, bearer, defaultUsers, startTokenService, type TokenServiceFixture, type UserEntry } from '../support/token-service.js'

let ts: TokenServiceFixture
let wss: WebSocketServer
let users: UserEntry[]
let clock = Date.now()
const IDLE_MS = 60_000
const MAX_LIFETIME_MS = 600_000
const CLOSE_WITHIN_MS = 5000

before(async () => {
  users = await defaultUsers()
  ts = await startTokenService({
    users,
    now: () => clock,
    config: { limits: { tunnelIdleTimeoutMs: IDLE_MS, tunnelMaxLifetimeMs: MAX_LIFETIME_MS } },
  })
  wss = new WebSocketServer({ server: ts.upstream.server })
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo:${m.toString()}`)))
})
after(async () => {
  wss.close()
  await ts.close()
})

interface Tunnel {
  readonly ws: WebSocket
  readonly closed: Promise<void>
  isOpen(): boolean
  echo(text: string): Promise<string>
}

async function openTunnel(headers: Record<string, string>): Promise<Tunnel> {
  const ws = new WebSocket(`${ts.base.replace(/^http/, 'ws')}/api/v1/users/live`, { headers })
  let open = false
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      open = true
      resolve()
    })
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)))
    ws.once('error', reject)
  })
  void closed.then(() => (open = false))
  ws.on('error', () => {}) // a tunnel cut by Gatehouse ends in an error on the client side
  return {
    ws,
    closed,
    isOpen: () => open,
    echo: (text) =>
      new Promise<string>((resolve, reject) => {
        ws.once('message', (m) => resolve(m.toString()))
        ws.send(text, (err) => err && reject(err))
      }),
  }
}

/** True when the tunnel closed within `ms` of real time. */
async function closesWithin(t: Tunnel, ms = CLOSE_WITHIN_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
  const r = await Promise.race([t.closed.then(() => true as const), timeout])
  clearTimeout(timer)
  return r
}

/** The upgrade status a fresh tunnel with these headers gets. */
async function upgradeStatus(headers: Record<string, string>): Promise<number> {
  try {
    const t = await openTunnel(headers)
    t.ws.close()
    return 101
  } catch (err) {
    return Number(/answered (\d+)/.exec((err as Error).message)?.[1] ?? -1)
  }
}

const lastCloseReason = () => ts.th.logs().filter((l) => l.event === 'tunnel_closed').at(-1)?.reason

const patchKey = (id: string, body: unknown) =>
  ts.service('PATCH', `/v1/auth/apikeys/${id}`, { headers: { ...basic('alice'), 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('websocket tunnels end with their authority', () => {
  test('tunnel: closed within seconds once its API key is revoked, and stays open while the key is valid', async () => {
    const key = await ts.createKey('bob', { permissions: { users: 'r' } })
    const t = await openTunnel(apiKey(key.key))
    assert.equal(await t.echo('hi'), 'echo:hi')
    assert.equal(await closesWithin(t, 1500), false, 'a valid credential keeps its tunnel')
    await ts.postJson('/v1/auth/apikeys/delete', [key.id], basic('bob'))
    assert.equal(await closesWithin(t), true, 'closed after the revocation')
    assert.equal(lastCloseReason(), 'key_unknown')
    assert.equal(await upgradeStatus(apiKey(key.key)), 401)
  })

  test('tunnel: closed within seconds once its API key is disabled', async () => {
    const key = await ts.createKey('bob', { permissions: { users: 'r' } })
    const t = await openTunnel(apiKey(key.key))
    assert.equal((await patchKey(key.id, { enabled: false })).status, 200)
    assert.equal(await closesWithin(t), true)
    assert.equal(lastCloseReason(), 'key_disabled')
  })

  test('tunnel: closed once its JWT expires', async () => {
    const r = await ts.postJson('/v1/auth/jwt', { permissions: { users: 'r' }, expires: 'PT40S' }, basic('bob'))
    const t = await openTunnel(bearer(r.json.token as string))
    clock += 40_000
    assert.equal(await t.echo('still'), 'echo:still', 'open within the leeway')
    clock += 31_000 // past exp and the 30 s leeway, never idle
    assert.equal(await closesWithin(t), true)
    assert.equal(lastCloseReason(), 'token_expired')
  })

  test('tunnel: closed once its user loses the permission its API needs', async () => {
    const t = await openTunnel(bearer(await ts.issueJwt('bob', { permissions: { users: 'r' } })))
    try {
      await ts.writeUsers(users.map((u) => (u.name === 'bob' ? { ...u, permissions: {} } : u)))
      assert.equal(await ts.th.gh.reload(), true)
      assert.equal(await closesWithin(t), true)
      assert.equal(lastCloseReason(), 'permission_insufficient')
    } finally {
      await ts.writeUsers(users)
      assert.equal(await ts.th.gh.reload(), true)
    }
  })

  test('tunnel: closed after limits.tunnelIdleTimeoutMs without traffic', async () => {
    const t = await openTunnel(bearer(await ts.issueJwt('bob', { permissions: { users: 'r' }, expires: 'PT1H' })))
    clock += IDLE_MS - 5000
    assert.equal(await closesWithin(t, 1500), false, 'not idle yet')
    clock += 5000
    assert.equal(await closesWithin(t), true)
    assert.equal(lastCloseReason(), 'idle_timeout')
  })

  test('tunnel: closed after limits.tunnelMaxLifetimeMs however busy it is', async () => {
    const t = await openTunnel(bearer(await ts.issueJwt('bob', { permissions: { users: 'r' }, expires: 'PT1H' })))
    // Traffic every half idle timeout, so it is never idle; 600 s in, it is ended anyway.
    for (let elapsed = IDLE_MS / 2; elapsed < MAX_LIFETIME_MS; elapsed += IDLE_MS / 2) {
      clock += IDLE_MS / 2
      assert.equal(await t.echo('busy'), 'echo:busy', `open at ${elapsed / 1000} s`)
    }
    clock += IDLE_MS / 2
    assert.equal(await closesWithin(t), true)
    assert.equal(lastCloseReason(), 'max_lifetime')
  })
})
