// `gatehouse serve`: the process's lifecycle. Start: load and compile the config,
// open the key store, start the traffic and admin listeners. Reload: the live
// Runtime (runtime/live-runtime.ts) swaps whole on SIGHUP or a changed users or
// clients file. Drain: stop accepting, let requests finish, close in order.
import type { AddressInfo } from 'node:net'
import type { Writable } from 'node:stream'
import { compileRuntime, type Runtime } from '../runtime/compile.js'
import { createLiveRuntime, type LiveRuntime } from '../runtime/live-runtime.js'
import { loadConfigFile, parseHostPort } from '../config/load.js'
import { formatProblems } from '../config/problem.js'
import type { Config } from '../config/schema.js'
import { createJwksPool } from '../credentials/jwks-pool.js'
import { createVerifiedCache } from '../credentials/verified-cache.js'
import { openKeyStore } from '../keystore/open-key-store.js'
import type { KeyStore } from '../keystore/key-store.js'
import { createAdminApp, type AdminApp } from '../server/admin-app.js'
import { createProxyHandlers } from '../server/proxy-app.js'
import { createTrafficServer, urlHost, type TrafficServer } from '../server/traffic-server.js'
import { createUpstreamPool } from '../server/upstream-pool.js'
import { createLogger, type Logger } from '../telemetry/logger.js'
import { createMetrics, type TokenServiceMetrics } from '../telemetry/metrics.js'
import type { TokenService } from '../issuer/service.js'
import { StartError } from './start-error.js'

/** Exit code 1: the config is wrong; 2: it is fine but the process cannot start. */
export { StartError }

export interface GatehouseOptions {
  readonly configFile: string
  readonly env?: NodeJS.ProcessEnv
  /** Where JSON log lines go (default: stdout, asynchronously). */
  readonly logDestination?: Writable
  readonly now?: () => number
}

export interface Gatehouse {
  readonly proxyUrl: string
  readonly adminUrl: string
  readonly logger: Logger
  readonly store: KeyStore
  runtime(): Runtime
  /** Re-reads config and users file; returns false (keeping the old Runtime) when the new one is bad. */
  reload(): Promise<boolean>
  /** Stops accepting, lets in-flight requests finish for at most graceMs, then closes everything. */
  shutdown(graceMs?: number): Promise<void>
}

export async function startGatehouse(opts: GatehouseOptions): Promise<Gatehouse> {
  const env = opts.env ?? process.env
  const loaded = await loadConfigFile(opts.configFile, env)
  if (!loaded.ok) throw new StartError(formatProblems(opts.configFile, loaded.problems), 1)
  const config = loaded.value.config
  const logger = createLogger(config.log, opts.logDestination)
  const store = await openStore(config, logger, opts.now)

  const cache = createVerifiedCache(config.cache.maxEntries, config.cache.ttlSeconds)
  store.onChange((change) => cache.dropKeys(change))
  let live: LiveRuntime | null = null
  const metrics = createMetrics({
    jwks: () => live?.current().jwt.stats() ?? [],
    storeUp: () => store.isReady().catch(() => false),
  })
  // Each issuer's JWKS cache outlives reloads that keep its key source (its last good keys stay).
  const jwksPool = createJwksPool()
  const compileDeps = {
    store,
    cache,
    onCache: (hit: boolean) => metrics.cache(hit),
    env,
    now: opts.now,
    jwksPool,
    onJwksFetchError: jwksErrorLog(logger, opts.now ?? Date.now),
  }
  const compiled = await compileRuntime(loaded.value, compileDeps)
  if (!compiled.ok) {
    jwksPool.closeAll()
    await store.close()
    throw new StartError(formatProblems(opts.configFile, compiled.problems), 1)
  }
  const pool = createUpstreamPool(config)
  let traffic: TrafficServer | null = null
  const running = createLiveRuntime(compiled.value, {
    configFile: opts.configFile,
    env,
    compileDeps,
    logger,
    onReload: (ok) => metrics.reload(ok),
    onInstall(next) {
      traffic?.configure(next.config)
      // Keys or issuers may have changed: nothing verified under the old config is trusted.
      cache.clear()
      pool.configure(next.config)
    },
  })
  live = running
  await warnKeysOutsideUsers(compiled.value, store, logger)

  const tokenService = config.issuer ? await startTokenService(config.issuer.prefix, running, store, { logger, metrics }, opts.now ?? Date.now) : null
  const proto = config.tls ? 'https' : 'http'
  const handlers = createProxyHandlers({ runtime: running.current, pool: pool.current, metrics, logger, proto, service: () => tokenService })
  try {
    traffic = createTrafficServer(config, handlers, logger)
  } catch (err) {
    await store.close()
    throw new StartError(`cannot read the TLS files: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2)
  }
  const server = traffic

  let shuttingDown = false
  const admin = createAdminApp({
    metrics,
    ready: async () => {
      if (shuttingDown) return false
      // SPEC §12: discovery issuers always, every remote issuer with jwt.waitForKeys.
      const rt = running.current()
      return rt.jwt.keysLoaded(rt.config.jwt.waitForKeys) && (await store.isReady())
    },
  })
  await listenBoth(server, admin, config, store)
  running.watchAccounts()

  await running.current().jwt.ready()
  const proxyUrl = server.url()
  const adminUrl = `http://${urlHost(admin.server.address() as AddressInfo)}`
  logger.info({ proxy: proxyUrl, admin: adminUrl, upstream: running.current().upstream.origin }, 'gatehouse listening')

  return {
    proxyUrl,
    adminUrl,
    logger,
    store,
    runtime: running.current,
    reload: running.reload,
    async shutdown(graceMs = 20_000) {
      if (shuttingDown) return
      shuttingDown = true
      running.stopWatching()
      await server.drain(graceMs)
      // Then everything the requests used, the listeners' users first.
      await admin.close().catch(() => {})
      await tokenService?.close().catch(() => {})
      running.close()
      jwksPool.closeAll()
      await pool.close()
      await store.close()
      logger.info('gatehouse stopped')
      logger.flush()
    },
  }
}

/** The traffic port, then the admin port; on failure both are closed and the store too. */
async function listenBoth(server: TrafficServer, admin: AdminApp, config: Config, store: KeyStore): Promise<void> {
  let at = `${config.listen} (listen)`
  try {
    await server.listen()
    at = `${config.admin.listen} (admin.listen)`
    const a = parseHostPort(config.admin.listen) as { host: string; port: number }
    await admin.listen({ host: a.host, port: a.port })
  } catch (err) {
    server.server.close()
    await admin.close().catch(() => {})
    await store.close()
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'EADDRINUSE' ? 'address in use' : code === 'EACCES' ? 'permission denied' : code === 'EADDRNOTAVAIL' ? 'no such local address' : undefined
    throw new StartError(`cannot listen on ${at}: ${why ? `${why} (${code})` : (code ?? (err as Error).message)}`, 2)
  }
}

async function openStore(config: Config, logger: Logger, now: (() => number) | undefined): Promise<KeyStore> {
  let store: KeyStore
  try {
    // One clock for the whole process: the store's deny list expires entries by the same now the service and proxy use.
    store = await openKeyStore(config.store, now ? { logger, now } : { logger })
  } catch (err) {
    throw new StartError(`cannot open the key store: ${(err as Error).message}`, 2)
  }
  if (config.store.type === 'redis' && config.issuer && !config.issuer.signingKeyFile) {
    // Replicas share keys through Redis, but a generated signing key is each replica's own (README, Redis store).
    logger.warn('the token service generates its own signing key per replica: set issuer.signingKeyFile to one key for all replicas')
  }
  return store
}

/**
 * With issuer.usersFile, every API key is capped by what its user holds there now,
 * and a key whose user the file does not list is refused (README, API keys): a
 * config that gains an issuer: section says at start which keys that stops (ids only).
 */
async function warnKeysOutsideUsers(runtime: Runtime, store: KeyStore, logger: Logger): Promise<void> {
  const users = runtime.users
  if (!users) return
  const records = await store.list().catch(() => [])
  const outside = records.filter((r) => users.get(r.user) === undefined).map((r) => r.id)
  if (outside.length === 0) return
  logger.warn(
    { keyIds: outside.slice(0, 100), count: outside.length, usersFile: runtime.config.issuer?.usersFile },
    'API keys whose users are not in the users file are refused (401) while issuer.usersFile is set; add the users or revoke the keys',
  )
}

/** Loaded only when configured: Swagger UI and the service's schemas cost memory a bare proxy need not pay. */
async function startTokenService(
  prefix: string,
  live: LiveRuntime,
  store: KeyStore,
  telemetry: { logger: Logger; metrics: TokenServiceMetrics },
  now: () => number,
): Promise<TokenService> {
  const { createTokenService } = await import('../issuer/service.js')
  const { createLoginThrottle } = await import('../issuer/login-throttle.js')
  return createTokenService(prefix, { runtime: live.current, store, throttle: createLoginThrottle(), now, ...telemetry })
}

/**
 * JWKS and discovery failures, logged with their reason at most once a minute per
 * issuer (an IdP outage must not flood the log); the count of those held back is
 * in the next line, and every failure is counted in gatehouse_jwks_fetch_failures_total.
 */
function jwksErrorLog(logger: Logger, now: () => number): (issuer: string, reason: string) => void {
  const last = new Map<string, { at: number; held: number }>()
  return (issuer, reason) => {
    const seen = last.get(issuer)
    if (seen !== undefined && now() - seen.at < 60_000) {
      seen.held++
      return
    }
    logger.warn({ issuer, reason, suppressed: seen?.held ?? 0 }, 'JWKS fetch failed; the last good keys stay in use')
    last.set(issuer, { at: now(), held: 0 })
  }
}
