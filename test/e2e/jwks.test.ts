// JWKS through the whole proxy (SPEC §5): cached keys, one refetch per cooldown
// for unknown kids, and the last good keys kept while the IdP is down or broken.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { bearer, call, startFixture, type Fixture } from '../support/fixture.js'
import { jwksOf, makeKeyPair, mintJwt } from '../support/mint.js'

let f: Fixture
before(async () => {
  f = await startFixture()
})
after(() => f.close())

test('keys are fetched once and then served from the cache', async () => {
  const before = f.idp.requestCount
  for (let i = 0; i < 10; i++) assert.equal((await call(f, '/api/v1/users', { headers: bearer(await f.ecToken()) })).status, 200)
  assert.equal(f.idp.requestCount, before, 'no fetch per request')
})

test('a flood of unknown kids causes at most one refetch per cooldown', async () => {
  const before = f.idp.requestCount
  const statuses = await Promise.all(
    Array.from({ length: 100 }, async () => (await call(f, '/api/v1/users', { headers: bearer(await f.ecToken({}, { kid: randomUUID() })) })).status),
  )
  assert.ok(statuses.every((s) => s === 401))
  assert.ok(f.idp.requestCount - before <= 1, `${f.idp.requestCount - before} fetches for 100 unknown kids`)
})

test('while the IdP is down or answers garbage, tokens with a known kid keep working', async () => {
  f.idp.setMode('garbage')
  await f.gh.gh.runtime().jwt.refreshNow()
  assert.equal((await call(f, '/api/v1/users', { headers: bearer(await f.ecToken()) })).status, 200)
  f.idp.setMode('error500')
  await f.gh.gh.runtime().jwt.refreshNow()
  assert.equal((await call(f, '/api/v1/users', { headers: bearer(await f.ecToken()) })).status, 200)
  await f.idp.stop()
  await f.gh.gh.runtime().jwt.refreshNow()
  assert.equal((await call(f, '/api/v1/users', { headers: bearer(await f.ecToken()) })).status, 200)
  const stats = f.gh.gh.runtime().jwt.stats()
  assert.ok(stats.some((s) => s.issuer === 'jwks-idp' && s.failures >= 3))
  // The failures show on the admin port.
  const metrics = await (await fetch(`${f.gh.adminUrl}/metrics`)).text()
  assert.match(metrics, /gatehouse_jwks_fetch_failures_total\{issuer="jwks-idp"\} [3-9]/)
  await f.idp.restart()
  f.idp.setMode('ok')
})

test('a rotated key set is picked up: the new kid works, the dropped kid stops, even when cached', async () => {
  const cachedOld = await f.ecToken()
  assert.equal((await call(f, '/api/v1/users', { headers: bearer(cachedOld) })).status, 200)
  const next = await makeKeyPair('ES256', 'ec-2')
  f.idp.setKeys(jwksOf(next))
  await f.gh.gh.runtime().jwt.refreshNow()
  const fresh = await mintJwt({ iss: 'jwks-idp', sub: 'alice', exp: f.now() + 600, permissions: { users: 'rw' } }, next)
  assert.equal((await call(f, '/api/v1/users', { headers: bearer(fresh) })).status, 200)
  // A token of the dropped key that was never seen before (no cache entry) is refused.
  assert.equal((await call(f, '/api/v1/users', { headers: bearer(await f.ecToken({ jti: 'never-seen' })) })).status, 401)
  // And one that was verified (cached) under the old set is forgotten with its key.
  assert.equal((await call(f, '/api/v1/users', { headers: bearer(cachedOld) })).status, 401)
})
