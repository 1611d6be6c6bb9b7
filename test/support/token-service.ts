// The token-service e2e setup (SPEC §6): a recording upstream and Gatehouse with
// `issuer:` on, a users file (alice: admin who may impersonate; bob: users:r;
// carol: admin; plus any extra users), a clients file, and the small HTTP helpers
// the issuer-*.test.ts files share. Hashes are made once per test file (scrypt
// costs ~50 ms each); carol and the `reporting` client use bcrypt at cost 4, so
// both hash kinds are exercised end to end.
import path from 'node:path'
import bcrypt from 'bcryptjs'
import { stringify } from 'yaml'
import { hashPassword } from '../../src/accounts/password-hash.js'
import { startRecordingUpstream, type RecordingUpstream } from './recording-upstream.js'
import { writeAtomically } from './gatehouse-process.js'
import { request, type Reply } from './http.js'
import { presets, startTestGatehouse, type TestGatehouse } from './gatehouse.js'

export const PREFIX = '/_gatehouse'

export const PASSWORDS: Readonly<Record<string, string>> = Object.freeze({
  alice: 'alice-correct-horse-battery',
  bob: 'bob-staple-orange-kettle',
  carol: 'carol-lantern-seven-rivers',
  dave: 'dave-impersonator-pass',
})

export const CLIENTS = Object.freeze({
  /** users:r, sessions:r; ttl PT10M; scrypt secret. */
  billing: { id: 'billing-batch', secret: 'billing-secret-0123456789' },
  /** users:rw; no ttl (default PT1H); bcrypt secret. */
  reporting: { id: 'reporting', secret: 'reporting-secret-9876543210' },
})

export type Level = 'none' | 'r' | 'rw'

export interface UserEntry {
  name: string
  passwordHash: string
  permissions: Record<string, Level>
  admin?: boolean
  canImpersonate?: boolean
}

export interface ClientEntry {
  clientId: string
  secretHash: string
  permissions: Record<string, Level>
  ttl?: string
  canIntrospect?: boolean
}

let hashes: Promise<Record<string, string>> | null = null

/** The password hashes of PASSWORDS and CLIENTS, computed once per test process. */
export function knownHashes(): Promise<Record<string, string>> {
  hashes ??= (async () => ({
    alice: await hashPassword(PASSWORDS.alice as string),
    bob: await hashPassword(PASSWORDS.bob as string),
    carol: await bcrypt.hash(PASSWORDS.carol as string, 4),
    dave: await hashPassword(PASSWORDS.dave as string),
    [CLIENTS.billing.id]: await hashPassword(CLIENTS.billing.secret),
    [CLIENTS.reporting.id]: await bcrypt.hash(CLIENTS.reporting.secret, 4),
  }))()
  return hashes
}

/** alice, bob and carol as the brief describes them. */
export async function defaultUsers(): Promise<UserEntry[]> {
  const h = await knownHashes()
  return [
    { name: 'alice', passwordHash: h.alice as string, permissions: { users: 'rw', sessions: 'r' }, admin: true, canImpersonate: true },
    { name: 'bob', passwordHash: h.bob as string, permissions: { users: 'r' } },
    { name: 'carol', passwordHash: h.carol as string, permissions: { users: 'rw' }, admin: true },
  ]
}

/** dave: not an admin, may impersonate, users:rw sessions:rw (an impersonation target who could impersonate). */
export async function dave(): Promise<UserEntry> {
  const h = await knownHashes()
  return { name: 'dave', passwordHash: h.dave as string, permissions: { users: 'rw', sessions: 'rw' }, canImpersonate: true }
}

export async function defaultClients(): Promise<ClientEntry[]> {
  const h = await knownHashes()
  return [
    { clientId: CLIENTS.billing.id, secretHash: h[CLIENTS.billing.id] as string, permissions: { users: 'r', sessions: 'r' }, ttl: 'PT10M' },
    { clientId: CLIENTS.reporting.id, secretHash: h[CLIENTS.reporting.id] as string, permissions: { users: 'rw' } },
  ]
}

/** `{ authorization: 'Basic …' }` for a user (their known password unless `pw` is given). */
export function basic(user: string, pw: string = PASSWORDS[user] ?? ''): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${pw}`, 'utf8').toString('base64')}` }
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })
export const apiKey = (key: string): Record<string, string> => ({ 'x-api-key': key })

export interface TokenServiceOptions {
  /** Replaces the default users (alice, bob, carol). */
  readonly users?: UserEntry[]
  readonly clients?: ClientEntry[]
  /** Merged over the `issuer:` section. */
  readonly issuer?: Record<string, unknown>
  /** Merged over the whole config. */
  readonly config?: Record<string, unknown>
  /** Extra files written into the temp dir before start. */
  readonly files?: Record<string, string>
  /** The process clock (ms): the service, the proxy and the key store all read it. */
  readonly now?: () => number
}

export interface TokenServiceFixture {
  readonly upstream: RecordingUpstream
  readonly th: TestGatehouse
  /** http://127.0.0.1:PORT of the traffic port. */
  readonly base: string
  readonly usersFile: string
  readonly clientsFile: string
  /** Replaces the users file atomically (then reload, or wait for the watcher). */
  writeUsers(users: UserEntry[]): Promise<void>
  writeClients(clients: ClientEntry[]): Promise<void>
  /** Rewrites the config file with `issuer:` and the top level patched (then reload, or SIGHUP). */
  writeConfig(patch: { issuer?: Record<string, unknown>; config?: Record<string, unknown> }): Promise<void>
  /** JSON POST to `PREFIX + path`. */
  postJson(path: string, body: unknown, headers?: Record<string, string>): Promise<Reply>
  /** application/x-www-form-urlencoded POST to `PREFIX + path`; pairs may repeat a name. */
  form(path: string, fields: Record<string, string> | [string, string][], headers?: Record<string, string>): Promise<Reply>
  /** Any request to `PREFIX + path`. */
  service(method: string, path: string, init?: { headers?: Record<string, string>; body?: string }): Promise<Reply>
  /** A request through the proxy to the upstream (`path` as is). */
  proxy(path: string, init?: { method?: string; headers?: Record<string, string> }): Promise<Reply>
  /** A JWT for `user` (Basic), asserting 200. */
  issueJwt(user: string, body?: Record<string, unknown>): Promise<string>
  /** An API key for `user` (Basic), asserting 201. */
  createKey(user: string, body?: Record<string, unknown>): Promise<{ key: string; id: string }>
  close(): Promise<void>
}

export async function startTokenService(opts: TokenServiceOptions = {}): Promise<TokenServiceFixture> {
  const users = opts.users ?? (await defaultUsers())
  const clients = opts.clients ?? (await defaultClients())
  const upstream = await startRecordingUpstream()
  const service = presets.tokenService({ jwtMaxTtl: 'PT12H', jwtDefaultTtl: 'PT30M', ...opts.issuer })
  const issuer = service.issuer as Record<string, unknown>
  const config: Record<string, unknown> = {
    ...presets.proxy(
      upstream.url,
      [
        { name: 'users', prefixes: ['/api/v1/users'] },
        { name: 'sessions', prefixes: ['/api/v1/sessions'] },
        { name: 'version', prefixes: ['/api/v1/version'], public: true },
      ],
      { timeoutMs: 3000, connectTimeoutMs: 1000 },
    ),
    // X-Forwarded-For from the loopback test client is believed, so tests can act from distinct addresses.
    ...presets.trustLoopback,
    ...service,
    ...opts.config,
  }
  let th: TestGatehouse
  try {
    th = await startTestGatehouse(
      config,
      {
        files: {
          'users.yaml': stringify({ users }),
          'clients.yaml': stringify({ clients }),
          ...opts.files,
        },
        ...(opts.now ? { now: opts.now } : {}),
      },
    )
  } catch (err) {
    await upstream.close()
    throw err
  }
  const base = th.url
  const usersFile = path.join(th.dir, 'users.yaml')
  const clientsFile = path.join(th.dir, 'clients.yaml')

  const fixture: TokenServiceFixture = {
    upstream,
    th,
    base,
    usersFile,
    clientsFile,
    writeUsers: (u) => writeAtomically(usersFile, stringify({ users: u })),
    writeClients: (c) => writeAtomically(clientsFile, stringify({ clients: c })),
    writeConfig: (patch) => th.writeConfig({ ...config, ...patch.config, issuer: { ...issuer, ...patch.issuer } }),
    postJson: (p, body, headers = {}) =>
      request(base + PREFIX + p, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    form: (p, fields, headers = {}) =>
      request(base + PREFIX + p, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(fields).toString(),
      }),
    service: (method, p, init = {}) => request(base + PREFIX + p, { method, headers: init.headers ?? {}, body: init.body ?? null }),
    proxy: (p, init = {}) => request(base + p, { method: init.method ?? 'GET', headers: init.headers ?? {} }),
    async issueJwt(user, body = {}) {
      const r = await fixture.postJson('/v1/auth/jwt', { permissions: {}, ...body }, basic(user))
      if (r.status !== 200) throw new Error(`issuing a JWT for ${user}: ${r.status} ${r.text}`)
      return r.json.token as string
    },
    async createKey(user, body = {}) {
      const r = await fixture.postJson('/v1/auth/apikeys', { permissions: {}, ...body }, basic(user))
      if (r.status !== 201) throw new Error(`creating a key for ${user}: ${r.status} ${r.text}`)
      return { key: r.json.key as string, id: r.json.id as string }
    },
    async close() {
      // The upstream is closed even when Gatehouse's close fails: a listener left open keeps the test process alive.
      try {
        await th.close()
      } finally {
        await upstream.close()
      }
    },
  }
  return fixture
}

export { writeAtomically }
