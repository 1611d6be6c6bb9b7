// Issue 12, end to end over real sockets: every credential the token service hands
// out is re-checked against its whole chain of authority on every use (impersonator,
// parent API key, user or client), in the proxy and in the token service alike.
// "Refused" is 401/403 with nothing reaching the upstream. Time moves only through
// the injected clock.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  apiKey,
  basic,
  bearer,
  CLIENTS,
  PASSWORDS,
  dave,
  defaultUsers,
  startTokenService,
  type TokenServiceFixture,
  type UserEntry,
} from '../support/token-service.js'
import type { Reply } from '../support/http.js'

let ts: TokenServiceFixture
// Starts at the real time: the revocation lists judge `exp` by it too.
let clock = Date.now()
let users: UserEntry[]
let erin: UserEntry

const advance = (seconds: number) => {
  clock += seconds * 1000
}
const xff = (ip: string) => ({ 'x-forwarded-for': ip })
// erin shares bob's password hash (hashing is slow); `basic` only knows the fixture's own users.
const auth = (user: string, pw?: string) => basic(user, pw ?? (user === 'erin' ? PASSWORDS.bob : PASSWORDS[user]))
const LEEWAY = 30 // jwt.leewaySeconds: a JWT is accepted this long past its exp

before(async () => {
  const base = await defaultUsers()
  // erin: an ordinary user to remove; bob is the impersonation target of dave.
  erin = { ...(base.find((u) => u.name === 'bob') as UserEntry), name: 'erin', permissions: { users: 'rw' } }
  users = [...base, await dave(), erin]
  ts = await startTokenService({
    users,
    now: () => clock,
    config: {
      unmatched: 'authenticated',
      apis: [
        { name: 'users', prefixes: ['/api/v1/users'] },
        { name: 'sessions', prefixes: ['/api/v1/sessions'] },
      ],
    },
  })
})
after(() => ts.close())

async function setUsers(next: UserEntry[]): Promise<void> {
  await ts.writeUsers(next)
  assert.equal(await ts.th.gh.reload(), true, 'the new users file is accepted')
}

const withUser = (name: string, change: Partial<UserEntry> | null): UserEntry[] =>
  users.flatMap((u) => (u.name !== name ? [u] : change === null ? [] : [{ ...u, ...change }]))

/** Status through the proxy, asserting the upstream saw the request exactly when it was allowed. */
async function through(headers: Record<string, string>, p = '/api/v1/users/1', method = 'GET'): Promise<Reply> {
  const before = ts.upstream.requests.length
  const r = await ts.proxy(p, { method, headers })
  assert.equal(ts.upstream.requests.length - before, r.status === 200 ? 1 : 0, `the upstream sees only allowed requests (got ${r.status})`)
  return r
}

function assertRefused(r: Reply, what: string): void {
  assert.ok(r.status === 401 || r.status === 403, `${what}: refused, got ${r.status} ${r.text}`)
}

describe('impersonation is re-checked on every request', () => {
  async function mintAsDave(): Promise<{ jwt: Record<string, string>; key: Record<string, string>; keyId: string }> {
    const jwt = bearer(await ts.issueJwt('dave', { targetUser: 'bob', permissions: { users: 'r' } }))
    const k = await ts.createKey('dave', { targetUser: 'bob', permissions: { users: 'r' } })
    return { jwt, key: apiKey(k.key), keyId: k.id }
  }

  test('impersonation credentials are refused once the actor loses canImpersonate, in the proxy and the token service', async () => {
    await setUsers(users)
    const { jwt, key } = await mintAsDave()
    assert.equal((await through(jwt)).status, 200)
    assert.equal((await through(key)).status, 200)
    try {
      await setUsers(withUser('dave', { canImpersonate: false }))
      assertRefused(await through(jwt), 'JWT')
      assertRefused(await through(key), 'API key')
      const mint = await ts.postJson('/v1/auth/jwt', { permissions: { users: 'r' } }, key)
      assert.equal(mint.status, 401, 'the token service refuses the impersonation key as a caller')
    } finally {
      await setUsers(users)
    }
  })

  test('impersonation credentials are refused once the actor is removed from the users file', async () => {
    const { jwt, key } = await mintAsDave()
    try {
      await setUsers(withUser('dave', null))
      assertRefused(await through(jwt), 'JWT')
      assertRefused(await through(key), 'API key')
      const info = await ts.service('GET', `/v1/auth/token-info?token=${encodeURIComponent(jwt.authorization!.slice(7))}`, { headers: basic('alice') })
      assert.deepEqual(info.json, { active: false }, 'token-info agrees with the proxy')
    } finally {
      await setUsers(users)
    }
  })

  test('impersonation credentials are refused once the target becomes an admin', async () => {
    const { jwt, key } = await mintAsDave()
    try {
      await setUsers(withUser('bob', { admin: true }))
      assertRefused(await through(jwt), 'JWT')
      assertRefused(await through(key), 'API key')
    } finally {
      await setUsers(users)
    }
  })

  test('the actor lists and revokes the credentials it minted for others', async () => {
    const { jwt, key, keyId } = await mintAsDave()
    const list = await ts.service('GET', '/v1/auth/apikeys', { headers: basic('dave') })
    assert.equal(list.status, 200)
    const mine = (list.json.keys as { id: string; user: string; actor?: string }[]).find((k) => k.id === keyId)
    assert.deepEqual(mine && { user: mine.user, actor: mine.actor }, { user: 'bob', actor: 'dave' })
    const del = await ts.postJson('/v1/auth/apikeys/delete', [keyId], basic('dave'))
    assert.deepEqual(del.json, { revoked: [keyId], notFound: [] })
    assertRefused(await through(key), 'revoked key')
    const rev = await ts.postJson('/v1/auth/jwt/revoke', { token: jwt.authorization!.slice(7) }, basic('dave'))
    assert.equal(rev.status, 200, rev.text)
    assertRefused(await through(jwt), 'revoked JWT')
    // Someone else's token is still not theirs to revoke.
    const other = await ts.issueJwt('alice', { permissions: { users: 'r' } })
    assert.equal((await ts.postJson('/v1/auth/jwt/revoke', { token: other }, basic('dave'))).status, 403)
  })

  test('impersonation credentials live at most issuer.impersonationMaxTtl (default PT15M)', async () => {
    const long = await ts.postJson('/v1/auth/jwt', { targetUser: 'bob', expires: 'PT1H', permissions: { users: 'r' } }, basic('dave'))
    assert.equal(long.status, 400)
    assert.match(long.json.detail, /issuer\.impersonationMaxTtl/)
    assert.match(long.json.detail, /PT15M/)
    const short = await ts.postJson('/v1/auth/jwt', { targetUser: 'bob', permissions: { users: 'r' } }, basic('dave'))
    assert.equal(short.status, 200)
    assert.ok(short.json.expiresIn <= 900, `expiresIn ${short.json.expiresIn}`)
    const key = await ts.postJson('/v1/auth/apikeys', { targetUser: 'bob', permissions: { users: 'r' } }, basic('dave'))
    assert.equal(key.status, 201)
    assert.equal(Date.parse(key.json.expiresAt), Math.floor(clock / 1000) * 1000 + 900_000, 'a key acting for someone else always expires')
    advance(900 + LEEWAY + 1)
    assertRefused(await through(bearer(short.json.token)), 'expired impersonation JWT')
    assertRefused(await through(apiKey(key.json.key)), 'expired impersonation key')
  })
})

describe('credentials minted from an API key never outlive or out-reach it', () => {
  async function parentAndChild(body: Record<string, unknown> = {}, from: Record<string, string> = {}) {
    const parent = await ts.createKey('alice', { permissions: { users: 'rw' }, ...body })
    const r = await ts.postJson('/v1/auth/jwt', { permissions: { users: 'r' }, expires: 'PT1H' }, { ...apiKey(parent.key), ...from })
    assert.equal(r.status, 200, r.text)
    return { parent, child: bearer(r.json.token as string), token: r.json.token as string }
  }

  test('key-minted JWT: refused from the next request once its parent key is revoked', async () => {
    const { parent, child } = await parentAndChild()
    assert.equal((await through(child)).status, 200)
    await ts.postJson('/v1/auth/apikeys/delete', [parent.id], basic('alice'))
    assertRefused(await through(child), 'child of a revoked key')
  })

  test('key-minted JWT: refused while its parent key is disabled', async () => {
    const { parent, child } = await parentAndChild()
    const patch = (enabled: boolean) =>
      ts.service('PATCH', `/v1/auth/apikeys/${parent.id}`, {
        headers: { ...basic('alice'), 'content-type': 'application/json' },
        body: JSON.stringify({ enabled }),
      })
    assert.equal((await patch(false)).status, 200)
    assertRefused(await through(child), 'child of a disabled key')
    assert.equal((await patch(true)).status, 200)
    assert.equal((await through(child)).status, 200, 'back with its parent')
  })

  test('key-minted JWT: refused once its parent key expires, even when the parent was shortened later', async () => {
    const { parent, child } = await parentAndChild({ expires: 'P1D' })
    const patched = await ts.service('PATCH', `/v1/auth/apikeys/${parent.id}`, {
      headers: { ...basic('alice'), 'content-type': 'application/json' },
      body: JSON.stringify({ expires: 'PT1M' }),
    })
    assert.equal(patched.status, 200)
    assert.equal((await through(child)).status, 200)
    advance(61)
    assertRefused(await through(child), 'child of an expired key')
  })

  test("key-minted JWT: refused from addresses its parent key's ipFilter refuses", async () => {
    const { child } = await parentAndChild({ ipFilter: ['10.0.0.0/8'] }, xff('10.1.2.3'))
    assert.equal((await through({ ...child, ...xff('10.9.9.9') })).status, 200)
    const r = await through({ ...child, ...xff('192.0.2.7') })
    assert.equal(r.status, 403)
  })

  test('key-minted JWT: the issuance log line, introspection and token-info name the parent key', async () => {
    const { parent, token } = await parentAndChild()
    const issued = ts.th.logs().filter((l) => l.event === 'jwt_issued').at(-1)
    assert.equal(issued?.parentKeyId, parent.id)
    const intro = await ts.form('/oauth/introspect', { token }, basic('alice'))
    assert.equal(intro.json.active, true)
    assert.equal(intro.json.parent_key_id, parent.id)
    const info = await ts.service('GET', `/v1/auth/token-info?token=${encodeURIComponent(token)}`, { headers: basic('alice') })
    assert.equal(info.json.parent_key_id, parent.id)
  })

  test('key-minted key: carries its parent and is refused once the parent is revoked', async () => {
    const parent = await ts.createKey('alice', { permissions: { users: 'rw' } })
    const r = await ts.postJson('/v1/auth/apikeys', { permissions: { users: 'r' } }, apiKey(parent.key))
    assert.equal(r.status, 201, r.text)
    assert.equal(r.json.parentKeyId, parent.id)
    assert.equal(ts.th.logs().filter((l) => l.event === 'apikey_created').at(-1)?.parentKeyId, parent.id)
    const child = apiKey(r.json.key as string)
    assert.equal((await through(child)).status, 200)
    await ts.postJson('/v1/auth/apikeys/delete', [parent.id], basic('alice'))
    assertRefused(await through(child), 'key minted from a revoked key')
  })
})

describe('removed users and clients are refused everywhere', () => {
  test('removed user: JWT and key refused on an `unmatched: authenticated` path; introspection and token-info agree', async () => {
    await setUsers(users)
    const token = (await ts.postJson('/v1/auth/jwt', { permissions: { users: 'r' } }, auth('erin'))).json.token as string
    const key = (await ts.postJson('/v1/auth/apikeys', { permissions: { users: 'r' } }, auth('erin'))).json as { key: string }
    assert.equal((await through(bearer(token), '/not/an/api')).status, 200)
    assert.equal((await through(apiKey(key.key), '/not/an/api')).status, 200)
    try {
      await setUsers(withUser('erin', null))
      assertRefused(await through(bearer(token), '/not/an/api'), 'JWT on an unmatched path')
      assertRefused(await through(apiKey(key.key), '/not/an/api'), 'key on an unmatched path')
      for (const t of [token, key.key]) {
        assert.deepEqual((await ts.form('/oauth/introspect', { token: t }, basic('alice'))).json, { active: false })
        const info = await ts.service('GET', `/v1/auth/token-info?token=${encodeURIComponent(t)}`, { headers: basic('alice') })
        assert.deepEqual(info.json, { active: false })
      }
    } finally {
      await setUsers(users)
    }
  })

  test('removed client: its token refused on an `unmatched: authenticated` path and inactive in introspection', async () => {
    const r = await ts.form('/oauth/token', { grant_type: 'client_credentials', client_id: CLIENTS.reporting.id, client_secret: CLIENTS.reporting.secret })
    assert.equal(r.status, 200)
    const token = r.json.access_token as string
    assert.equal((await through(bearer(token), '/not/an/api')).status, 200)
    const original = await readFile(ts.clientsFile, 'utf8')
    try {
      await ts.writeClients([])
      assert.equal(await ts.th.gh.reload(), true)
      assertRefused(await through(bearer(token), '/not/an/api'), 'client token on an unmatched path')
      assert.deepEqual((await ts.form('/oauth/introspect', { token }, basic('alice'))).json, { active: false })
    } finally {
      await writeFile(ts.clientsFile, original)
      assert.equal(await ts.th.gh.reload(), true)
    }
  })
})

describe('lock-out is not a weapon', () => {
  const wrong = (user: string, ip: string) => ts.postJson('/v1/auth/jwt', { permissions: {} }, { ...auth(user, 'wrong-password'), ...xff(ip) })
  const right = (user: string, ip: string) => ts.postJson('/v1/auth/jwt', { permissions: {} }, { ...auth(user), ...xff(ip) })

  test('after many wrong passwords from one address, the right one from another address works at once', async () => {
    let last = 0
    for (let i = 0; i < 8; i++) last = (await wrong('bob', '198.51.100.10')).status
    assert.equal(last, 429, 'the guessing address is throttled')
    assert.equal((await right('bob', '203.0.113.10')).status, 200, 'the real bob elsewhere gets in')
  })

  test('the throttled address gets in with the right password once the Retry-After it was told has passed', async () => {
    for (let i = 0; i < 6; i++) await wrong('erin', '198.51.100.20')
    const locked = await right('erin', '198.51.100.20')
    assert.equal(locked.status, 429)
    const wait = Number(locked.headers.get('retry-after'))
    assert.ok(Number.isInteger(wait) && wait > 0, `Retry-After ${wait}`)
    advance(wait - 1)
    assert.equal((await right('erin', '198.51.100.20')).status, 429, 'not a second early')
    advance(1)
    assert.equal((await right('erin', '198.51.100.20')).status, 200, 'Retry-After was true')
  })

  test('throttled answers are identical for existing and unknown accounts (status, body, headers)', async () => {
    const shape = (r: Reply) => {
      const headers = [...r.headers.entries()].filter(([n]) => n !== 'date' && n !== 'x-request-id')
      return { status: r.status, body: r.text, headers }
    }
    const pairs: [string, (name: string, ip: string) => Promise<Reply>][] = [
      ['/v1/auth/jwt', (name, ip) => ts.postJson('/v1/auth/jwt', { permissions: {} }, { ...basic(name, 'nope'), ...xff(ip) })],
      ['/oauth/introspect', (name, ip) => ts.form('/oauth/introspect', { token: 'x' }, { ...basic(name, 'nope'), ...xff(ip) })],
      ['/oauth/token', (name, ip) => ts.form('/oauth/token', { grant_type: 'client_credentials' }, { ...basic(name, 'nope'), ...xff(ip) })],
    ]
    let n = 30
    for (const [where, send] of pairs) {
      const answers = []
      for (const name of where === '/oauth/token' ? [CLIENTS.billing.id, 'no-such-client'] : ['carol', 'no-such-user']) {
        const ip = `198.51.100.${n++}`
        let r: Reply | undefined
        for (let i = 0; i < 8; i++) r = await send(name, ip)
        answers.push(shape(r as Reply))
      }
      assert.equal(answers[0]!.status, 429, `${where}: throttled`)
      assert.deepEqual(answers[0], answers[1], `${where}: a 429 does not tell an existing account from an unknown one`)
    }
  })
})

describe('bounded records', () => {
  test('expires P999999999D is refused with 400 naming the maximum, on create and on patch', async () => {
    const created = await ts.postJson('/v1/auth/apikeys', { permissions: { users: 'r' }, expires: 'P999999999D' }, basic('alice'))
    assert.equal(created.status, 400)
    assert.match(created.json.detail, /issuer\.apiKeyMaxTtl/)
    assert.match(created.json.detail, /P3650D/)
    const key = await ts.createKey('alice', { permissions: { users: 'r' } })
    const patched = await ts.service('PATCH', `/v1/auth/apikeys/${key.id}`, {
      headers: { ...basic('alice'), 'content-type': 'application/json' },
      body: JSON.stringify({ expires: 'P999999999D' }),
    })
    assert.equal(patched.status, 400)
    assert.match(patched.json.detail, /P3650D/)
    const list = await ts.service('GET', '/v1/auth/apikeys', { headers: basic('alice') })
    assert.equal(list.status, 200, 'the listing still works')
  })

  test('a store holding one unreadable record lists every other record and reports the bad one', async () => {
    const good = await ts.createKey('alice', { permissions: { users: 'r' }, description: 'good' })
    const bad = await ts.createKey('alice', { permissions: { users: 'r' }, description: 'bad' })
    const file = path.join(ts.th.dir, 'apikeys.json')
    const doc = JSON.parse(await readFile(file, 'utf8')) as { keys: { id: string; expiresAt: number | null }[] }
    // What P999999999D used to store: a valid integer no date can show.
    for (const k of doc.keys) if (k.id === bad.id) k.expiresAt = Math.floor(clock / 1000) + 999_999_999 * 86_400
    await writeFile(file, JSON.stringify(doc), { mode: 0o600 })
    const deadline = Date.now() + 5000
    let list: Reply
    do {
      await new Promise((r) => setTimeout(r, 100))
      list = await ts.service('GET', '/v1/auth/apikeys', { headers: basic('alice') })
    } while (!(list.json?.unreadable ?? []).length && Date.now() < deadline)
    assert.equal(list.status, 200)
    const ids = (list.json.keys as { id: string }[]).map((k) => k.id)
    assert.ok(ids.includes(good.id), 'the good record is listed')
    assert.ok(!ids.includes(bad.id))
    assert.deepEqual(list.json.unreadable, [{ id: bad.id, problem: 'expiresAt is beyond the year 9999' }])

    const { keysCommand } = await import('../../src/cli/keys.js')
    const { loadConfigFile } = await import('../../src/config/load.js')
    const { openKeyStore } = await import('../../src/keystore/open-key-store.js')
    let out = ''
    let err = ''
    const sink = (add: (s: string) => void) => ({ write: (s: string) => (add(s), true) }) as unknown as NodeJS.WritableStream
    const code = await keysCommand(['list', '--config', ts.th.configFile], {
      stdout: sink((s) => (out += s)),
      stderr: sink((s) => (err += s)),
      loadStore: async (configPath) => {
        const loaded = await loadConfigFile(configPath)
        if (!loaded.ok) throw new Error('config')
        return openKeyStore(loaded.value.config.store, { watch: false })
      },
    })
    assert.equal(code, 0, err)
    assert.ok(out.includes(good.id), 'keys list shows the good key')
    assert.match(err, new RegExp(`key ${bad.id} cannot be shown: expiresAt is beyond the year 9999`))
    await ts.postJson('/v1/auth/apikeys/delete', [bad.id], basic('alice'))
  })
})

describe('clients are not users', () => {
  test('the upstream tells a client-credentials token from a user by X-Auth-Subject-Type', async () => {
    const r = await ts.form('/oauth/token', { grant_type: 'client_credentials', client_id: CLIENTS.reporting.id, client_secret: CLIENTS.reporting.secret })
    await through(bearer(r.json.access_token as string))
    assert.equal(ts.upstream.requests.at(-1)?.headers['x-auth-subject-type'], 'client')
    await through(bearer(await ts.issueJwt('bob', { permissions: { users: 'r' } })))
    assert.equal(ts.upstream.requests.at(-1)?.headers['x-auth-subject-type'], 'user')
    const spoofed = await through({ ...bearer(await ts.issueJwt('bob', { permissions: { users: 'r' } })), 'x-auth-subject-type': 'client' })
    assert.equal(spoofed.status, 200)
    assert.equal(ts.upstream.requests.at(-1)?.headers['x-auth-subject-type'], 'user', 'a caller cannot choose it')
  })

  test('a client id can never be used as a user name to mint user credentials', async () => {
    // A user who happens to share a client's id, and an impersonator naming it.
    const twin: UserEntry = { ...erin, name: CLIENTS.reporting.id }
    try {
      await setUsers([...users, twin])
      const own = await ts.postJson('/v1/auth/jwt', { permissions: { users: 'r' } }, basic(CLIENTS.reporting.id, PASSWORDS.bob))
      assert.equal(own.status, 403, own.text)
      const imp = await ts.postJson('/v1/auth/apikeys', { targetUser: CLIENTS.reporting.id, permissions: { users: 'r' } }, basic('dave'))
      assert.equal(imp.status, 403, imp.text)
      assert.match(imp.json.detail, /OAuth client id/)
    } finally {
      await setUsers(users)
    }
  })
})


describe('each user holds a bounded number of keys', () => {
  test('issuer.maxKeysPerUser: the key above it is 409 with a clear message', async () => {
    const small = await startTokenService({ issuer: { maxKeysPerUser: 2 } })
    try {
      for (let i = 0; i < 2; i++) assert.equal((await small.postJson('/v1/auth/apikeys', { permissions: { users: 'r' } }, basic('bob'))).status, 201)
      const over = await small.postJson('/v1/auth/apikeys', { permissions: { users: 'r' } }, basic('bob'))
      assert.equal(over.status, 409)
      assert.match(over.json.detail, /already holds 2 API keys.*issuer\.maxKeysPerUser/)
      assert.equal((await small.postJson('/v1/auth/apikeys', { permissions: { users: 'r' } }, basic('alice'))).status, 201, 'another user is not counted')
    } finally {
      await small.close()
    }
  })

  test('the default limit is 100 keys per user', async () => {
    const { loadConfigFile } = await import('../../src/config/load.js')
    const loaded = await loadConfigFile(ts.th.configFile)
    assert.ok(loaded.ok)
    assert.equal(loaded.value.config.issuer?.maxKeysPerUser, 100)
  })
})
