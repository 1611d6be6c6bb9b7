// Issue 12, model-based (fast-check commands) through a real Gatehouse: random
// sequences of minting (password, API key, key-from-key, impersonation, client
// credentials), revoking, disabling, lowering and removing users, taking away
// canImpersonate, making a target an admin, removing clients and moving the clock.
// After every step, every credential minted so far is used through the proxy, and
// must be granted exactly what its whole chain of authority grants *now* in the
// model (refused = 401/403 with nothing at the upstream) — never more.
// AUTHORITY_RUNS=200 node --import tsx --test test/property/authority-chain.test.ts for a long run.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import fc from 'fast-check'
import {
  apiKey,
  basic,
  bearer,
  CLIENTS,
  dave,
  defaultClients,
  defaultUsers,
  startTokenService,
  type ClientEntry,
  type Level,
  type TokenServiceFixture,
  type UserEntry,
} from '../support/token-service.js'

const RUNS = Number(process.env.AUTHORITY_RUNS ?? 10)
const LEEWAY = 30 // jwt.leewaySeconds default
const JWT_DEFAULT_TTL = 1800 // the fixture's issuer.jwtDefaultTtl PT30M
const IMPERSONATION_MAX_TTL = 900 // issuer.impersonationMaxTtl default PT15M
const APIS = ['users', 'sessions'] as const

type Perms = Partial<Record<(typeof APIS)[number], Level>>

interface MUser {
  perms: Perms
  admin: boolean
  canImpersonate: boolean
  exists: boolean
}

interface MCred {
  readonly label: string
  readonly headers: Record<string, string>
  readonly kind: 'jwt' | 'key'
  readonly user: string
  readonly actor?: string
  readonly clientId?: string
  readonly parent?: MCred
  readonly perms: Perms
  /** Unix seconds; null: never. */
  readonly expiresAt: number | null
  readonly keyId?: string
  enabled: boolean
  revoked: boolean
}

interface Model {
  users: Map<string, MUser>
  clients: Map<string, { perms: Perms; exists: boolean; ttl: number }>
  creds: MCred[]
}

let ts: TokenServiceFixture
let clock = Date.now() - (Date.now() % 1000)
let baseUsers: UserEntry[]
let baseClients: ClientEntry[]
const now = () => Math.floor(clock / 1000)

before(async () => {
  baseUsers = [...(await defaultUsers()), await dave(), { ...(await defaultUsers())[1]!, name: 'erin', permissions: { users: 'rw', sessions: 'r' } }]
  baseClients = await defaultClients()
  ts = await startTokenService({
    users: baseUsers,
    now: () => clock,
    issuer: { maxKeysPerUser: 1_000_000 },
    // Refusals are the point here: no address is throttled for them.
    config: { limits: { authFailuresPerMinute: 0 } },
  })
})
after(() => ts.close())

const rank = (l: Level | undefined) => (l === 'rw' ? 2 : l === 'r' ? 1 : 0)
const lower = (a: Level | undefined, b: Level | undefined): Level => (rank(a) <= rank(b) ? (a ?? 'none') : (b ?? 'none'))
function intersect(a: Perms, b: Perms): Perms {
  const out: Perms = {}
  for (const api of APIS) {
    const l = lower(a[api], b[api])
    if (l !== 'none') out[api] = l
  }
  return out
}
const format = (p: Perms) =>
  APIS.filter((a) => p[a] !== undefined && p[a] !== 'none')
    .sort()
    .map((a) => `${a}:${p[a]}`)
    .join(' ')
const password = (user: string) => (user === 'erin' ? 'bob-staple-orange-kettle' : undefined)
const login = (user: string) => basic(user, password(user) ?? undefined)

/** What `c` may do now according to the model: its permissions, or null when refused. */
function grant(m: Model, c: MCred): Perms | null {
  const t = now()
  if (c.kind === 'key' && (c.revoked || !c.enabled || (c.expiresAt !== null && t >= c.expiresAt))) return null
  if (c.kind === 'jwt' && (c.revoked || (c.expiresAt !== null && t >= c.expiresAt + LEEWAY))) return null
  if (c.clientId !== undefined) {
    const client = m.clients.get(c.clientId)
    return client?.exists ? intersect(c.perms, client.perms) : null
  }
  const user = m.users.get(c.user)
  if (!user?.exists) return null
  let perms = intersect(c.perms, user.perms)
  if (c.actor !== undefined) {
    const actor = m.users.get(c.actor)
    if (!actor?.exists || !actor.canImpersonate || user.admin) return null
  }
  if (c.parent) {
    const up = grant(m, c.parent)
    if (up === null) return null
    perms = intersect(perms, up)
  }
  return perms
}

async function writeAccounts(m: Model): Promise<void> {
  const users = baseUsers.flatMap((u) => {
    const s = m.users.get(u.name)
    if (!s?.exists) return []
    return [{ ...u, permissions: { ...s.perms }, admin: s.admin, canImpersonate: s.canImpersonate }]
  })
  await ts.writeUsers(users)
  await ts.writeClients(baseClients.flatMap((c) => (m.clients.get(c.clientId)?.exists ? [c] : [])))
  assert.equal(await ts.th.gh.reload(), true)
}

/** Every credential so far, through the proxy: exactly what the model grants now, never more. */
async function checkAll(m: Model): Promise<void> {
  for (const c of m.creds) {
    const expected = grant(m, c)
    const before = ts.upstream.requests.length
    const r = await ts.proxy('/api/v1/users/1', { headers: c.headers })
    const seen = ts.upstream.requests.slice(before)
    const where = `${c.label} at t+${now() - start}s`
    if (expected === null || rank(expected.users) < 1) {
      assert.ok(r.status === 401 || r.status === 403, `${where}: expected refused, got ${r.status} (model ${JSON.stringify(expected)})`)
      assert.equal(seen.length, 0, `${where}: the upstream saw a refused request`)
    } else {
      assert.equal(r.status, 200, `${where}: expected allowed with ${format(expected)}, got ${r.status} ${r.text}`)
      assert.equal(seen[0]?.headers['x-auth-permissions'], format(expected), `${where}: granted what the chain grants now`)
    }
  }
}
let start = now()

type Cmd = fc.AsyncCommand<Model, TokenServiceFixture>
const level = fc.constantFrom<Level>('none', 'r', 'rw')
const perms = fc.record({ users: level, sessions: level })
const person = fc.constantFrom('bob', 'erin', 'dave')
const anyUser = fc.constantFrom('alice', 'bob', 'erin', 'dave')

class MintByPassword implements Cmd {
  constructor(
    readonly user: string,
    readonly kind: 'jwt' | 'key',
    readonly want: Perms,
    readonly expires: string | undefined,
  ) {}
  check = () => true
  async run(m: Model): Promise<void> {
    const u = m.users.get(this.user)!
    const asked = u.exists ? intersect(this.want, u.perms) : {}
    const body = { permissions: asked, ...(this.expires ? { expires: this.expires } : {}) }
    const r = await ts.postJson(this.kind === 'jwt' ? '/v1/auth/jwt' : '/v1/auth/apikeys', body, login(this.user))
    if (!u.exists) return assert.equal(r.status, 401, `a removed user logs in: ${r.status}`)
    assert.ok(r.status === 200 || r.status === 201, `${this}: ${r.status} ${r.text}`)
    const ttl = this.expires === 'PT10M' ? 600 : this.expires === 'PT2H' ? 7200 : null
    m.creds.push({
      label: String(this),
      kind: this.kind,
      headers: this.kind === 'jwt' ? bearer(r.json.token) : apiKey(r.json.key),
      user: this.user,
      perms: asked,
      expiresAt: this.kind === 'jwt' ? now() + (ttl ?? JWT_DEFAULT_TTL) : ttl === null ? null : now() + ttl,
      ...(this.kind === 'key' ? { keyId: r.json.id } : {}),
      enabled: true,
      revoked: false,
    })
  }
  toString = () => `password-${this.kind}(${this.user} ${format(this.want)} ${this.expires ?? '-'})`
}

class MintFromKey implements Cmd {
  constructor(
    readonly pick: number,
    readonly kind: 'jwt' | 'key',
  ) {}
  check = (m: Readonly<Model>) => m.creds.some((c) => c.kind === 'key')
  async run(m: Model): Promise<void> {
    const keys = m.creds.filter((c) => c.kind === 'key')
    const parent = keys[this.pick % keys.length]!
    const g = grant(m, parent)
    const asked = g ?? {}
    const r = await ts.postJson(this.kind === 'jwt' ? '/v1/auth/jwt' : '/v1/auth/apikeys', { permissions: asked }, parent.headers)
    const mayMint = g !== null && (this.kind === 'jwt' || m.users.get(parent.user)!.admin)
    if (!mayMint) return assert.ok(r.status === 401 || r.status === 403, `${this} from ${parent.label}: expected refused, got ${r.status}`)
    assert.ok(r.status === 200 || r.status === 201, `${this} from ${parent.label}: ${r.status} ${r.text}`)
    const ttl = parent.actor !== undefined ? IMPERSONATION_MAX_TTL : JWT_DEFAULT_TTL
    const own = this.kind === 'jwt' ? now() + ttl : null
    const expiresAt = parent.expiresAt === null ? own : own === null ? parent.expiresAt : Math.min(own, parent.expiresAt)
    m.creds.push({
      label: `${this}<-${parent.label}`,
      kind: this.kind,
      headers: this.kind === 'jwt' ? bearer(r.json.token) : apiKey(r.json.key),
      user: parent.user,
      ...(parent.actor !== undefined ? { actor: parent.actor } : {}),
      parent,
      perms: asked,
      expiresAt,
      ...(this.kind === 'key' ? { keyId: r.json.id } : {}),
      enabled: true,
      revoked: false,
    })
  }
  toString = () => `from-key-${this.kind}(#${this.pick})`
}

class Impersonate implements Cmd {
  constructor(
    readonly actor: 'alice' | 'dave',
    readonly target: 'bob' | 'erin',
    readonly kind: 'jwt' | 'key',
    readonly want: Perms,
  ) {}
  check = () => true
  async run(m: Model): Promise<void> {
    const a = m.users.get(this.actor)!
    const t = m.users.get(this.target)!
    const asked = t.exists ? intersect(this.want, t.perms) : {}
    const r = await ts.postJson(this.kind === 'jwt' ? '/v1/auth/jwt' : '/v1/auth/apikeys', { targetUser: this.target, permissions: asked }, login(this.actor))
    const may = a.exists && a.canImpersonate && t.exists && !t.admin
    if (!may) return assert.ok(r.status >= 400 && r.status < 500, `${this}: expected refused, got ${r.status}`)
    assert.ok(r.status === 200 || r.status === 201, `${this}: ${r.status} ${r.text}`)
    m.creds.push({
      label: String(this),
      kind: this.kind,
      headers: this.kind === 'jwt' ? bearer(r.json.token) : apiKey(r.json.key),
      user: this.target,
      actor: this.actor,
      perms: asked,
      expiresAt: now() + IMPERSONATION_MAX_TTL,
      ...(this.kind === 'key' ? { keyId: r.json.id } : {}),
      enabled: true,
      revoked: false,
    })
  }
  toString = () => `impersonate-${this.kind}(${this.actor}->${this.target} ${format(this.want)})`
}

class ClientToken implements Cmd {
  constructor(readonly client: 'billing' | 'reporting') {}
  check = () => true
  async run(m: Model): Promise<void> {
    const { id, secret } = CLIENTS[this.client]
    const c = m.clients.get(id)!
    const r = await ts.form('/oauth/token', { grant_type: 'client_credentials', client_id: id, client_secret: secret })
    if (!c.exists) return assert.equal(r.status, 401)
    assert.equal(r.status, 200, r.text)
    m.creds.push({ label: String(this), kind: 'jwt', headers: bearer(r.json.access_token), user: id, clientId: id, perms: c.perms, expiresAt: now() + c.ttl, enabled: true, revoked: false })
  }
  toString = () => `client-token(${this.client})`
}

class RevokeOrDisable implements Cmd {
  constructor(
    readonly pick: number,
    readonly how: 'revoke' | 'disable',
  ) {}
  check = (m: Readonly<Model>) => m.creds.some((c) => c.keyId !== undefined && !c.revoked)
  async run(m: Model): Promise<void> {
    const keys = m.creds.filter((c) => c.keyId !== undefined && !c.revoked)
    const k = keys[this.pick % keys.length]!
    if (this.how === 'revoke') {
      const r = await ts.postJson('/v1/auth/apikeys/delete', [k.keyId], basic('alice'))
      assert.deepEqual(r.json.revoked, [k.keyId])
      k.revoked = true
    } else {
      const r = await ts.service('PATCH', `/v1/auth/apikeys/${k.keyId}`, {
        headers: { ...basic('alice'), 'content-type': 'application/json' },
        body: JSON.stringify({ enabled: false }),
      })
      assert.equal(r.status, 200, r.text)
      k.enabled = false
    }
  }
  toString = () => `${this.how}(#${this.pick})`
}

class ChangeAccount implements Cmd {
  constructor(
    readonly change:
      | { kind: 'perms'; user: string; perms: Perms }
      | { kind: 'remove' | 'restore'; user: string }
      | { kind: 'impersonate'; user: 'dave' | 'alice'; value: boolean }
      | { kind: 'admin'; user: 'bob' | 'erin'; value: boolean }
      | { kind: 'client'; client: 'billing' | 'reporting'; exists: boolean },
  ) {}
  check = () => true
  async run(m: Model): Promise<void> {
    const c = this.change
    if (c.kind === 'client') m.clients.get(CLIENTS[c.client].id)!.exists = c.exists
    else {
      const u = m.users.get(c.user)!
      if (c.kind === 'perms') u.perms = c.perms
      else if (c.kind === 'remove') u.exists = false
      else if (c.kind === 'restore') u.exists = true
      else if (c.kind === 'impersonate') u.canImpersonate = c.value
      else if (c.kind === 'admin') u.admin = c.value
    }
    await writeAccounts(m)
  }
  toString = () => `change(${JSON.stringify(this.change)})`
}

class Advance implements Cmd {
  constructor(readonly seconds: number) {}
  check = () => true
  async run(): Promise<void> {
    clock += this.seconds * 1000
  }
  toString = () => `advance(${this.seconds}s)`
}

/** Every command is followed by the check of every credential. */
function checked(cmd: Cmd): Cmd {
  return {
    check: (m) => cmd.check(m),
    async run(m, r) {
      await cmd.run(m, r)
      await checkAll(m)
    },
    toString: () => cmd.toString(),
  }
}

const commands = [
  fc.tuple(anyUser, fc.constantFrom<'jwt' | 'key'>('jwt', 'key'), perms, fc.constantFrom(undefined, 'PT10M', 'PT2H')).map(
    ([u, k, p, e]) => new MintByPassword(u, k, p, e),
  ),
  fc.tuple(fc.nat(), fc.constantFrom<'jwt' | 'key'>('jwt', 'key')).map(([i, k]) => new MintFromKey(i, k)),
  fc.tuple(fc.constantFrom<'alice' | 'dave'>('alice', 'dave'), fc.constantFrom<'bob' | 'erin'>('bob', 'erin'), fc.constantFrom<'jwt' | 'key'>('jwt', 'key'), perms).map(
    ([a, t, k, p]) => new Impersonate(a, t, k, p),
  ),
  fc.constantFrom<'billing' | 'reporting'>('billing', 'reporting').map((c) => new ClientToken(c)),
  fc.tuple(fc.nat(), fc.constantFrom<'revoke' | 'disable'>('revoke', 'disable')).map(([i, h]) => new RevokeOrDisable(i, h)),
  fc.tuple(anyUser.filter((u) => u !== 'alice'), perms).map(([user, p]) => new ChangeAccount({ kind: 'perms', user, perms: p })),
  fc.tuple(person, fc.constantFrom<'remove' | 'restore'>('remove', 'restore')).map(([user, kind]) => new ChangeAccount({ kind, user })),
  fc.tuple(fc.constantFrom<'dave' | 'alice'>('dave', 'alice'), fc.boolean()).map(([user, value]) => new ChangeAccount({ kind: 'impersonate', user, value })),
  fc.tuple(fc.constantFrom<'bob' | 'erin'>('bob', 'erin'), fc.boolean()).map(([user, value]) => new ChangeAccount({ kind: 'admin', user, value })),
  fc.tuple(fc.constantFrom<'billing' | 'reporting'>('billing', 'reporting'), fc.boolean()).map(
    ([client, exists]) => new ChangeAccount({ kind: 'client', client, exists }),
  ),
  // Odd steps, so a step rarely lands exactly on an expiry.
  fc.constantFrom(37, 301, 907, 86_413).map((s) => new Advance(s)),
].map((arb) => arb.map(checked))

test('model: every credential grants at most what its whole chain of authority grants now, through the proxy', { timeout: 600_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 14 }), async (cmds) => {
      const model: Model = {
        users: new Map(
          baseUsers.map((u) => [u.name, { perms: { ...u.permissions } as Perms, admin: u.admin ?? false, canImpersonate: u.canImpersonate ?? false, exists: true }]),
        ),
        clients: new Map(baseClients.map((c) => [c.clientId, { perms: { ...c.permissions } as Perms, exists: true, ttl: c.ttl === 'PT10M' ? 600 : 3600 }])),
        creds: [],
      }
      await writeAccounts(model)
      start = now()
      await fc.asyncModelRun(() => ({ model, real: ts }), cmds)
    }),
    { numRuns: RUNS, maxSkipsPerRun: 1000 },
  )
})
