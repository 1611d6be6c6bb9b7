// Several Gatehouse replicas sharing one Redis (issue 4): each a real `gatehouse
// serve` child process (dist/main.js) or an in-process Gatehouse (whose store a
// test can reach), all with the same users file, the same token-service signing
// key and one store section; plus the HTTP calls the replica tests make.
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { stringify } from 'yaml'
import { serveConfig, startServe, type ServeProcess } from './gatehouse-process.js'
import { request, type Reply } from './http.js'
import { presets, startTestGatehouse, type TestGatehouse } from './gatehouse.js'
import { basic, defaultUsers, PREFIX } from './token-service.js'

export interface Replica {
  readonly name: string
  /** http://127.0.0.1:PORT of the traffic port. */
  readonly url: string
  readonly adminUrl: string
  /** The in-process Gatehouse, for replicas started in this process. */
  readonly inProcess: TestGatehouse | null
  /** Log text so far (JSON lines). */
  logText(): string
  close(): Promise<void>
}

export interface ReplicaFiles {
  readonly dir: string
  /** A config (without listeners) every replica shares, its store section from `store` (e.g. presets.redisStore(url)). */
  config(store: Record<string, unknown>): Record<string, unknown>
  close(): Promise<void>
}

/** The users file (alice: admin, bob: users:r, carol: admin) and one EC signing key, for every replica. */
export async function replicaFiles(upstreamUrl: string): Promise<ReplicaFiles> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-replicas-'))
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  await writeFile(path.join(dir, 'jwt-key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 })
  await writeFile(path.join(dir, 'users.yaml'), stringify({ users: await defaultUsers() }))
  return {
    dir,
    config: (store) => ({
      ...presets.proxy(
        upstreamUrl,
        [
          { name: 'users', prefixes: ['/api/v1/users'] },
          { name: 'version', prefixes: ['/api/v1/version'], public: true },
        ],
        { timeoutMs: 3000, connectTimeoutMs: 1000 },
      ),
      store: { path: './apikeys.json', ...(store.store as Record<string, unknown>) },
      issuer: { usersFile: path.join(dir, 'users.yaml'), signingKeyFile: path.join(dir, 'jwt-key.pem'), jwtMaxTtl: 'PT12H' },
    }),
    close: () => rm(dir, { recursive: true, force: true }),
  }
}

/** `gatehouse serve` as a child process, with its own config file and data folder. */
export async function startReplicaProcess(name: string, config: Record<string, unknown>): Promise<Replica> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `gatehouse-replica-${name}-`))
  const file = path.join(dir, 'gatehouse.yaml')
  await writeFile(file, stringify(serveConfig(config)))
  let p: ServeProcess
  try {
    p = await startServe(['--config', file])
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  return {
    name,
    url: p.proxyUrl,
    adminUrl: p.adminUrl,
    inProcess: null,
    logText: () => p.stdout() + p.stderr(),
    async close() {
      await p.stop(5000)
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Gatehouse in this process: the test can reach its store (`inProcess.gh.store`). */
export async function startReplicaInProcess(name: string, config: Record<string, unknown>): Promise<Replica> {
  const th = await startTestGatehouse(config)
  return { name, url: th.url, adminUrl: th.adminUrl, inProcess: th, logText: () => th.logText(), close: () => th.close() }
}

/** A request through the replica's proxy to the upstream. */
export async function callApi(r: Replica, init: { key?: string; token?: string; method?: string; path?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (init.key) headers['x-api-key'] = init.key
  if (init.token) headers.authorization = `Bearer ${init.token}`
  return request(r.url + (init.path ?? '/api/v1/users'), { method: init.method ?? 'GET', headers })
}

/** A call to the replica's token service, as `user` (Basic). */
export async function callService(r: Replica, user: string, method: string, p: string, body?: unknown): Promise<Reply> {
  const headers: Record<string, string> = { ...basic(user) }
  if (body !== undefined) headers['content-type'] = 'application/json'
  return request(r.url + PREFIX + p, { method, headers, body: body === undefined ? null : JSON.stringify(body) })
}

export async function createKeyVia(r: Replica, user: string, body: Record<string, unknown> = {}): Promise<{ key: string; id: string }> {
  const a = await callService(r, user, 'POST', '/v1/auth/apikeys', { permissions: { users: 'rw' }, ...body })
  if (a.status !== 201) throw new Error(`creating a key through ${r.name}: ${a.status} ${JSON.stringify(a.json)}`)
  return { key: a.json.key as string, id: a.json.id as string }
}

export async function readyz(r: Replica): Promise<number> {
  return (await request(`${r.adminUrl}/readyz`)).status
}

export { msUntil } from './wait.js'
