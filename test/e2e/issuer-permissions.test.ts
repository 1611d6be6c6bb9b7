// SPEC §3.7 end to end: a credential never does more than its user may do *now*.
// Lowering a user in the users file (reload, or the file watcher alone) lowers
// their existing JWTs and API keys on the very next request; raising the user
// never raises a credential above what it carries.
import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test } from 'node:test'
import { pollUntil } from '../support/gatehouse-process.js'
import {
  apiKey,
  basic,
  bearer,
  defaultUsers,
  startTokenService,
  type Level,
  type TokenServiceFixture,
  type UserEntry,
} from '../support/token-service.js'

let ts: TokenServiceFixture
let users: UserEntry[]

/** The default users, with bob as given. */
function withBob(permissions: Record<string, Level> | null): UserEntry[] {
  const out = users.filter((u) => u.name !== 'bob')
  const bob = users.find((u) => u.name === 'bob') as UserEntry
  return permissions === null ? out : [...out, { ...bob, permissions }]
}

const BOB_FULL: Record<string, Level> = { users: 'rw', sessions: 'r' }

before(async () => {
  users = await defaultUsers()
  ts = await startTokenService({ users: withBob(BOB_FULL) })
  users = withBob(BOB_FULL)
})
after(() => ts.close())

async function setBob(permissions: Record<string, Level> | null): Promise<void> {
  await ts.writeUsers(withBob(permissions))
  assert.equal(await ts.th.gh.reload(), true, 'the new users file is accepted')
}

/** Status through the proxy, and the permissions the upstream was told. */
async function call(headers: Record<string, string>, method: string, p = '/api/v1/users/9') {
  const before = ts.upstream.requests.length
  const r = await ts.proxy(p, { method, headers })
  const seen = ts.upstream.requests.slice(before)
  assert.equal(seen.length, r.status === 200 ? 1 : 0, 'the upstream sees only allowed requests')
  return { status: r.status, permissions: seen[0]?.headers['x-auth-permissions'] }
}

describe("lowering a user lowers their existing credentials at once", () => {
  let jwt: Record<string, string>
  let key: Record<string, string>
  let impersonated: Record<string, string>

  beforeEach(async () => {
    await setBob(BOB_FULL)
    jwt = bearer(await ts.issueJwt('bob', { permissions: { users: 'rw', sessions: 'r' } }))
    key = apiKey((await ts.createKey('bob', { permissions: { users: 'rw', sessions: 'r' } })).key)
    impersonated = bearer(await ts.issueJwt('alice', { permissions: { users: 'rw' }, targetUser: 'bob' }))
  })

  test('users:rw -> users:r: writes are 403 on the next request after the reload, reads still work', async () => {
    for (const cred of [jwt, key, impersonated]) assert.equal((await call(cred, 'POST')).status, 200)

    await setBob({ users: 'r' })
    for (const [name, cred] of [['JWT', jwt], ['API key', key], ['impersonation JWT', impersonated]] as const) {
      assert.equal((await call(cred, 'POST')).status, 403, `${name}: POST`)
      assert.equal((await call(cred, 'DELETE')).status, 403, `${name}: DELETE`)
      const read = await call(cred, 'GET')
      assert.equal(read.status, 200, `${name}: GET`)
      assert.equal(read.permissions, 'users:r', `${name}: the upstream is told the lowered permissions`)
    }
    assert.equal((await call(jwt, 'GET', '/api/v1/sessions')).status, 403, 'sessions was taken away entirely')
  })

  test('a user removed from the file keeps nothing', async () => {
    await setBob(null)
    // The credential's authority is gone, so the credential is no longer valid (issue 12).
    for (const cred of [jwt, key, impersonated]) assert.equal((await call(cred, 'GET')).status, 401)
  })

  test('the lowered user cannot mint past the new limit either', async () => {
    await setBob({ users: 'r' })
    const r = await ts.postJson('/v1/auth/jwt', { permissions: { users: 'rw' } }, basic('bob'))
    assert.equal(r.status, 403, r.text)
    const viaKey = await ts.postJson('/v1/auth/jwt', { permissions: { users: 'rw' } }, key)
    assert.equal(viaKey.status, 403, viaKey.text)
  })

  test('raising the user back restores the credential, but never beyond what it carries', async () => {
    await setBob({ users: 'r' })
    assert.equal((await call(jwt, 'POST')).status, 403)
    await setBob({ users: 'rw', sessions: 'rw' })
    assert.equal((await call(jwt, 'POST')).status, 200)
    assert.equal((await call(jwt, 'POST', '/api/v1/sessions')).status, 403, 'the JWT carries sessions:r only')
    assert.equal((await call(key, 'POST', '/api/v1/sessions')).status, 403, 'the key carries sessions:r only')
    assert.equal((await call(jwt, 'GET', '/api/v1/sessions')).permissions, 'sessions:r users:rw')
  })

  test('the users file is watched: a lowered user applies without a reload call', { timeout: 10_000 }, async () => {
    assert.equal((await call(key, 'POST')).status, 200)
    await ts.writeUsers(withBob({ users: 'r' }))
    const took = await pollUntil(async () => (await call(key, 'POST')).status === 403, 5000, 100)
    assert.notEqual(took, null, 'the watcher picked up the lowered user')
    assert.equal((await call(key, 'GET')).status, 200)
    assert.equal((await call(jwt, 'POST')).status, 403)
  })
})

describe('reloads', () => {
  // Regression: a reload started by the file watcher (or SIGHUP) that read the old
  // users file could finish after a later reload and install the old permissions
  // again. Reloads now run one at a time, so the last one wins. Before the fix
  // about 1 in 100 of these overlapping pairs ended with the stale file.
  test('overlapping reloads always end with the newest users file installed', { timeout: 30_000 }, async () => {
    let stale = 0
    for (let i = 0; i < 200; i++) {
      const level: Level = i % 2 === 0 ? 'r' : 'rw'
      const first = ts.th.gh.reload()
      await new Promise((r) => setImmediate(r))
      await ts.writeUsers(withBob({ users: level }))
      const second = ts.th.gh.reload()
      await Promise.all([first, second])
      if (ts.th.gh.runtime().users?.get('bob')?.permissions.users !== level) stale++
    }
    assert.equal(stale, 0, `${stale} of 200 overlapping reloads left an older users file in force`)
    await setBob(BOB_FULL)
  })
})
