// Revoking one issued JWT by its jti (issue 4): `POST /_gatehouse/v1/auth/jwt/revoke`,
// admins only. The proxy refuses the token from the next request on — even while a
// verified copy sits in its cache — and introspection calls it inactive. The deny
// list keeps an entry only until the token would have expired anyway. With the
// Redis store every replica refuses it within one second.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { decodeJwt } from 'jose'
import { Redis } from 'ioredis'
import { presets } from '../support/gatehouse.js'
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js'
import { redisTool, startRedisServer } from '../support/redis-server.js'
import { callApi, callService, msUntil, replicaFiles, startReplicaInProcess, startReplicaProcess, type Replica } from '../support/replicas.js'
import { HEADROOM } from '../support/wait.js'
import { apiKey, basic, bearer, startTokenService, type TokenServiceFixture } from '../support/token-service.js'

const REVOKE = '/v1/auth/jwt/revoke'

describe('JWT revocation with the file store', () => {
  let ts: TokenServiceFixture
  before(async () => {
    ts = await startTokenService({ config: { jwt: { leewaySeconds: 0 } } })
  })
  after(async () => {
    await ts?.close()
  })

  it('refuses a revoked token on the very next request, though it was cached, and introspection calls it inactive', async () => {
    const token = await ts.issueJwt('bob', { permissions: { users: 'r' } })
    assert.equal((await ts.proxy('/api/v1/users', { headers: bearer(token) })).status, 200) // verified and cached
    const { jti, exp } = decodeJwt(token)
    const r = await ts.postJson(REVOKE, { jti, exp }, basic('alice'))
    assert.equal(r.status, 200, r.text)
    assert.deepEqual(r.json, { jti, revokedUntil: new Date((exp as number) * 1000).toISOString() })
    const refused = await ts.proxy('/api/v1/users', { headers: bearer(token) })
    assert.equal(refused.status, 401)
    assert.equal(refused.json.type, 'https://gatehouse.dev/problems/token_invalid')
    assert.equal(refused.json.detail, 'token revoked')
    assert.deepEqual((await ts.form('/oauth/introspect', { token }, basic('alice'))).json, { active: false })
    // Other tokens of the same user are untouched.
    assert.equal((await ts.proxy('/api/v1/users', { headers: bearer(await ts.issueJwt('bob', { permissions: { users: 'r' } })) })).status, 200)
  })

  it('takes the token itself instead of its jti', async () => {
    const token = await ts.issueJwt('bob', { permissions: { users: 'r' } })
    const r = await ts.postJson(REVOKE, { token }, basic('carol'))
    assert.equal(r.status, 200, r.text)
    assert.equal(r.json.jti, decodeJwt(token).jti)
    assert.equal((await ts.proxy('/api/v1/users', { headers: bearer(token) })).status, 401)
  })

  it('is for admins only: Basic or an admin API key, never a JWT', async () => {
    const token = await ts.issueJwt('bob', { permissions: { users: 'r' } })
    const { jti } = decodeJwt(token)
    assert.equal((await ts.postJson(REVOKE, { jti }, basic('bob'))).status, 403)
    assert.equal((await ts.postJson(REVOKE, { jti }, bearer(await ts.issueJwt('alice')))).status, 403)
    assert.equal((await ts.postJson(REVOKE, { jti })).status, 401)
    const bobKey = await ts.createKey('bob', { permissions: { users: 'r' } })
    assert.equal((await ts.postJson(REVOKE, { jti }, apiKey(bobKey.key))).status, 403)
    assert.equal((await ts.proxy('/api/v1/users', { headers: bearer(token) })).status, 200, 'a refused call revoked nothing')
    const aliceKey = await ts.createKey('alice', { permissions: { users: 'r' } })
    assert.equal((await ts.postJson(REVOKE, { jti }, apiKey(aliceKey.key))).status, 200)
    assert.equal((await ts.proxy('/api/v1/users', { headers: bearer(token) })).status, 401)
  })

  it('refuses bodies that are not one of {jti, exp?} or {token}', async () => {
    const now = Math.floor(Date.now() / 1000)
    for (const [body, why] of [
      [{}, 'empty'],
      [{ exp: now + 60 }, 'exp alone'],
      [{ jti: 'a', token: 'b.c.d' }, 'both'],
      [{ jti: 'has space' }, 'jti with a space'],
      [{ jti: 'x'.repeat(257) }, 'jti too long'],
      [{ jti: 'ok', exp: now + 400 * 24 * 3600 }, 'exp more than a year ahead'],
      [{ jti: 'ok', extra: 1 }, 'unknown field'],
      [{ token: 'not-a-jwt' }, 'a token Gatehouse does not accept'],
    ] as const) {
      const r = await ts.postJson(REVOKE, body, basic('alice'))
      assert.equal(r.status, 400, `${why}: ${r.status} ${r.text}`)
    }
  })

  it('stores nothing for a token already expired, and keeps an entry only until its token expires', async () => {
    // Its own service on a clock the test moves: no sleeping across a second boundary.
    let offsetMs = 0
    const clock = await startTokenService({ config: { jwt: { leewaySeconds: 0 } }, now: () => Date.now() + offsetMs })
    try {
      const now = Math.floor((Date.now() + offsetMs) / 1000)
      const past = await clock.postJson(REVOKE, { jti: 'already-over', exp: now - 5 }, basic('alice'))
      assert.deepEqual(past.json, { jti: 'already-over', revokedUntil: null })
      const short = await clock.postJson(REVOKE, { jti: 'short-lived', exp: now + 60 }, basic('alice'))
      assert.deepEqual(short.json, { jti: 'short-lived', revokedUntil: new Date((now + 60) * 1000).toISOString() })
      const file = path.join(clock.th.dir, 'apikeys.revoked-jwts.json')
      const listed = async () => (JSON.parse(await readFile(file, 'utf8')) as { revokedJwts: { jti: string }[] }).revokedJwts.map((e) => e.jti)
      assert.deepEqual(await listed(), ['short-lived'])
      offsetMs += 61_000 // short-lived's token has expired; the next write leaves it out
      assert.equal((await clock.postJson(REVOKE, { jti: 'later', exp: now + 600 }, basic('alice'))).status, 200)
      assert.deepEqual(await listed(), ['later'])
    } finally {
      await clock.close()
    }
  })

  it('is in the OpenAPI document', async () => {
    const doc = (await ts.service('GET', '/openapi.json')).json
    assert.ok(doc.paths['/_gatehouse/v1/auth/jwt/revoke']?.post, Object.keys(doc.paths).join(' '))
  })
})

describe('JWT revocation across replicas sharing Redis', { skip: redisTool.skip, timeout: 60_000 }, () => {
  let upstream: RecordingUpstream
  before(async () => {
    upstream = await startRecordingUpstream()
  })
  after(async () => {
    await upstream?.close()
  })

  it('a JWT revoked through B is refused by A within one second, and Redis forgets it when the token expires', async () => {
    const redis = await startRedisServer()
    const files = await replicaFiles(upstream.url)
    const prefix = 'gh-jwt-test:'
    const config = files.config(presets.redisStore(redis.url, { keyPrefix: prefix }))
    const started: Replica[] = []
    const raw = new Redis(redis.url, { lazyConnect: true })
    try {
      const a = await startReplicaProcess('A', config)
      started.push(a)
      const b = await startReplicaInProcess('B', config)
      started.push(b)
      const issued = await callService(a, 'bob', 'POST', '/v1/auth/jwt', { permissions: { users: 'r' }, expires: 'PT10M' })
      const token = issued.json.token as string
      for (const r of [a, b]) assert.equal((await callApi(r, { token })).status, 200, `${r.name} before`)

      const { jti, exp } = decodeJwt(token)
      assert.equal((await callService(b, 'alice', 'POST', REVOKE, { jti, exp })).status, 200)
      // SPEC: every replica within one second (Redis pub/sub), asserted with HEADROOM.
      const took = await msUntil(async () => (await callApi(a, { token })).status === 401, 1000 * HEADROOM + 2000)
      assert.ok(took !== null && took < 1000 * HEADROOM, `A refused the token after ${took} ms`)
      assert.equal((await callApi(b, { token })).status, 401)

      await raw.connect()
      const ttl = await raw.ttl(`${prefix}jwt-revoked:${jti}`)
      const expected = (exp as number) + 30 - Math.floor(Date.now() / 1000) // exp plus the default leeway
      assert.ok(Math.abs(ttl - expected) <= 2, `ttl ${ttl}, expected about ${expected}`)
      // A replica started after the revocation knows it too.
      const c = await startReplicaProcess('C', config)
      started.push(c)
      assert.equal((await callApi(c, { token })).status, 401)
    } finally {
      raw.disconnect()
      await Promise.all(started.map((r) => r.close()))
      await files.close()
      await redis.close()
    }
  })
})
