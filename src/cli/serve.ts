// `gatehouse serve`: load and compile the config, open the key store, start the
// traffic and admin listeners, and keep the Runtime current (SIGHUP, changed
// users/key files). Everything a request reads hangs off one Runtime reference,
// swapped whole on reload, so a request sees the old config or the new, never a mix.
import { readFileSync, unwatchFile, watchFile } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { Pool } from 'undici'
import type { Writable } from 'node:stream'
import { compileRuntime, type Runtime } from '../runtime/compile.js'
import { loadConfigFile, parseHostPort } from '../config/load.js'
import { formatProblems, type Problem } from '../config/problem.js'
import { createJwksPool } from '../credentials/jwks-pool.js'
import { createVerifiedCache } from '../credentials/verified-cache.js'
import { openKeyStore } from '../keystore/open-key-store.js'
import type { KeyStore } from '../keystore/key-store.js'
import { createAdminApp } from '../server/admin-app.js'
import { createProxyHandlers } from '../server/proxy-app.js'
import { writeAnswer } from '../server/problem.js'
import { answer } from '../outcome/answer.js'
import type { WireCode } from '../outcome/catalogue.js'
import { createLogger, type Logger } from '../telemetry/logger.js'
import { StartError } from './start-error.js'
import { createMetrics } from '../telemetry/metrics.js'
import type { TokenService } from '../issuer/service.js'
import type { Config } from '../config/schema.js'

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
  const logger = createLogger(config.log.level, opts.logDestination)

  let store: KeyStore
  try {
    // One clock for the whole process: the store's deny list expires entries by the same now the service and proxy use.
    store = await openKeyStore(config.store, opts.now ? { logger, now: opts.now } : { logger })
  } catch (err) {
    throw new StartError(`cannot open the key store: ${(err as Error).message}`, 2)
  }
  if (config.store.type === 'redis' && config.issuer && !config.issuer.signingKeyFile) {
    // Replicas share keys through Redis, but a generated signing key is each replica's own (README, Redis store).
    logger.warn('the token service generates its own signing key per replica: set issuer.signingKeyFile to one key for all replicas')
  }

  const cache = createVerifiedCache(config.cache.maxEntries, config.cache.ttlSeconds)
  store.onChange((change) => cache.dropKeys(change))

  let runtime: Runtime | null = null
  const metrics = createMetrics({
    jwks: () => runtime?.jwt.stats() ?? [],
    storeUp: () => store.isReady().catch(() => false),
  })
  // Each issuer's JWKS cache outlives reloads that keep its key source (its last good keys stay).
  const jwksPool = createJwksPool()
  const deps = {
    store,
    cache,
    onCache: (hit: boolean) => metrics.cache(hit),
    env,
    now: opts.now,
    jwksPool,
    onJwksFetchError: jwksErrorLog(logger, opts.now ?? Date.now),
  }
  const compiled = await compileRuntime(loaded.value, deps)
  if (!compiled.ok) {
    jwksPool.closeAll()
    await store.close()
    throw new StartError(formatProblems(opts.configFile, compiled.problems), 1)
  }
  runtime = compiled.value

  let pool = createPool(config)
  let poolKey = poolKeyOf(config)
  const proto = config.tls ? 'https' : 'http'
  const now = opts.now ?? Date.now
  let tokenService: TokenService | null = null
  if (config.issuer) {
    // Loaded only when configured: Swagger UI and the service's schemas cost memory a bare proxy need not pay.
    const { createTokenService } = await import('../issuer/service.js')
    const { createLoginThrottle } = await import('../issuer/login-throttle.js')
    tokenService = await createTokenService(config.issuer.prefix, {
      runtime: () => runtime as Runtime,
      store,
      throttle: createLoginThrottle(),
      now,
      logger,
    })
  }
  const handlers = createProxyHandlers({
    runtime: () => runtime as Runtime,
    pool: () => pool,
    metrics,
    logger,
    proto,
    service: () => tokenService,
  })

  let server: http.Server
  const serverOptions = serverOptionsOf(config)
  try {
    server = config.tls
      ? https.createServer({ ...serverOptions, cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) })
      : http.createServer(serverOptions)
  } catch (err) {
    await store.close()
    throw new StartError(`cannot read the TLS files: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2)
  }
  configureServer(server, config)
  server.on('request', (req, res) => void handlers.onRequest(req, res))
  server.on('checkContinue', (req, res) => void handlers.onRequest(req, res))
  server.on('upgrade', (req, socket, head) => void handlers.onUpgrade(req, socket, head))
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Malformed requests (smuggling attempts, bad headers), slow ones: answer and close.
    if (socket.writable && err.code !== 'ECONNRESET') {
      writeAnswer(socket, answer(CLIENT_ERROR_OUTCOME[err.code ?? ''] ?? 'wire_malformed', { close: true }))
    } else socket.destroy()
  })
  // CONNECT would open a tunnel past the pipeline: 405 like TRACE (SPEC §3.8).
  server.on('connect', (_req, socket: import('node:stream').Duplex) => {
    socket.on('error', () => socket.destroy())
    writeAnswer(socket, answer('wire_connect', { close: true }))
  })

  const admin = createAdminApp({
    metrics,
    ready: async () =>
      runtime !== null &&
      !shuttingDown &&
      // SPEC §12: discovery issuers always, every remote issuer with jwt.waitForKeys.
      runtime.jwt.keysLoaded(runtime.config.jwt.waitForKeys) &&
      (await store.isReady()),
  })

  let shuttingDown = false
  try {
    await listen(server, config.listen)
    const a = parseHostPort(config.admin.listen) as { host: string; port: number }
    await admin.listen({ host: a.host, port: a.port })
  } catch (err) {
    server.close()
    await admin.close().catch(() => {})
    await store.close()
    throw new StartError(`cannot listen: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2)
  }

  // One reload at a time, each reading the files only once the previous one is
  // installed: overlapping reloads (SIGHUP and the file watcher) could otherwise
  // finish out of order and install the older files last.
  let reloading: Promise<boolean> = Promise.resolve(true)
  function reload(): Promise<boolean> {
    reloading = reloading.then(reloadNow, reloadNow)
    return reloading
  }

  async function reloadNow(): Promise<boolean> {
    const next = await loadConfigFile(opts.configFile, env)
    const problems: Problem[] = next.ok ? [] : next.problems
    let nextRuntime: Runtime | null = null
    if (next.ok) {
      const unchangeable = restartOnly(config, next.value.config)
      if (unchangeable.length > 0) logger.warn({ fields: unchangeable }, 'these settings change only on restart; keeping the running ones')
      const c = await compileRuntime(next.value, deps)
      if (c.ok) nextRuntime = c.value
      else problems.push(...c.problems)
    }
    if (!nextRuntime) {
      // Caches the failed compile created are closed; the running runtime's stay.
      jwksPool.retainOnly(runtime?.jwt.poolKeys ?? [])
      metrics.reload(false)
      logger.error({ problems }, 'reload failed; keeping the running configuration')
      return false
    }
    const old = runtime
    runtime = nextRuntime
    configureServer(server, nextRuntime.config)
    // Keys or issuers may have changed: nothing verified under the old config is trusted.
    cache.clear()
    old?.close()
    jwksPool.retainOnly(nextRuntime.jwt.poolKeys)
    const key = poolKeyOf(nextRuntime.config)
    if (key !== poolKey) {
      const oldPool = pool
      pool = createPool(nextRuntime.config)
      poolKey = key
      void oldPool.close().catch(() => {})
    }
    watchAccounts(nextRuntime)
    metrics.reload(true)
    logger.info('configuration reloaded')
    return true
  }

  // The users and clients files are re-read when they change (SPEC §8), like a SIGHUP.
  let watched: string[] = []
  const onAccountsChange = () => void reload()
  function watchAccounts(rt: Runtime) {
    const files = [rt.config.issuer?.usersFile, rt.config.issuer?.clientsFile].filter((f): f is string => typeof f === 'string')
    for (const f of watched) if (!files.includes(f)) unwatchFile(f, onAccountsChange)
    for (const f of files) if (!watched.includes(f)) watchFile(f, { interval: 500, persistent: false }, onAccountsChange)
    watched = files
  }
  watchAccounts(runtime)

  // TLS files are re-read when they change, for certificate rotation without a restart.
  const tlsFiles = config.tls ? [config.tls.certFile, config.tls.keyFile] : []
  const onTlsChange = () => {
    try {
      ;(server as https.Server).setSecureContext({ cert: readFileSync(tlsFiles[0] as string), key: readFileSync(tlsFiles[1] as string) })
      logger.info('TLS certificate reloaded')
    } catch (err) {
      logger.error({ code: (err as NodeJS.ErrnoException).code }, 'TLS reload failed; keeping the running certificate')
    }
  }
  for (const f of tlsFiles) watchFile(f, { interval: 1000, persistent: false }, onTlsChange)

  await runtime.jwt.ready()
  const proxyAddr = server.address() as AddressInfo
  const adminAddr = admin.server.address() as AddressInfo
  const proxyUrl = `${proto}://${urlHost(proxyAddr)}`
  const adminUrl = `http://${urlHost(adminAddr)}`
  logger.info({ proxy: proxyUrl, admin: adminUrl, upstream: runtime.upstream.origin }, 'gatehouse listening')

  return {
    proxyUrl,
    adminUrl,
    logger,
    store,
    runtime: () => runtime as Runtime,
    reload,
    async shutdown(graceMs = 20_000) {
      if (shuttingDown) return
      shuttingDown = true
      for (const f of tlsFiles) unwatchFile(f, onTlsChange)
      for (const f of watched) unwatchFile(f, onAccountsChange)
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      // close() ends only the connections idle at this moment: a keep-alive connection
      // whose request finishes during the drain would hold the exit until it timed out.
      const idle = setInterval(() => server.closeIdleConnections(), 100)
      const timer = setTimeout(() => server.closeAllConnections(), graceMs)
      await closed
      clearInterval(idle)
      clearTimeout(timer)
      await admin.close().catch(() => {})
      await tokenService?.close().catch(() => {})
      runtime?.close()
      jwksPool.closeAll()
      await pool.close().catch(() => {})
      await store.close()
      logger.info('gatehouse stopped')
      logger.flush()
    },
  }
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

// What node's own clientError handler would answer; anything else is wire_malformed.
const CLIENT_ERROR_OUTCOME: Readonly<Record<string, WireCode>> = {
  HPE_HEADER_OVERFLOW: 'wire_headers_too_large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'wire_chunk_extensions_too_large',
  ERR_HTTP_REQUEST_TIMEOUT: 'wire_request_timeout',
}

/** Options only createServer takes: changing them needs a restart. */
function serverOptionsOf(c: Config): http.ServerOptions {
  return {
    maxHeaderSize: c.limits.maxHeaderBytes,
    // node checks the header and request timeouts only this often (default 30 s,
    // which would let a slowloris client outlive headersTimeout by that much).
    connectionsCheckingInterval: Math.min(1000, Math.ceil(c.limits.headersTimeoutMs / 4)),
  }
}

function configureServer(server: http.Server, c: Config): void {
  // Slow clients are cut off (security-cases #99); node's defaults are 60 s / 300 s.
  server.headersTimeout = c.limits.headersTimeoutMs
  // node requires requestTimeout ≥ headersTimeout (0 would mean none).
  server.requestTimeout = Math.max(c.limits.requestTimeoutMs, c.limits.headersTimeoutMs)
  server.keepAliveTimeout = 5_000
  // One more than the limit, so that decide() can tell "too many" from "exactly enough".
  server.maxHeadersCount = c.limits.maxHeaderCount + 1
  server.maxConnections = c.limits.maxConnections
}

function createPool(c: Config): Pool {
  return new Pool(new URL(c.upstream.url).origin, {
    connections: c.upstream.connections,
    pipelining: 1,
    connect: {
      timeout: c.upstream.connectTimeoutMs,
      ...(c.upstream.caFile ? { ca: readFileSync(c.upstream.caFile) } : {}),
    },
    headersTimeout: c.upstream.timeoutMs,
    bodyTimeout: c.upstream.timeoutMs,
    keepAliveTimeout: 4_000,
  })
}

function poolKeyOf(c: Config): string {
  const u = c.upstream
  return JSON.stringify([new URL(u.url).origin, u.caFile, u.connectTimeoutMs, u.timeoutMs, u.connections])
}

function restartOnly(a: Config, b: Config): string[] {
  const out: string[] = []
  if (a.listen !== b.listen) out.push('listen')
  if (a.admin.listen !== b.admin.listen) out.push('admin.listen')
  if (JSON.stringify(a.tls) !== JSON.stringify(b.tls)) out.push('tls')
  if (JSON.stringify(a.store) !== JSON.stringify(b.store)) out.push('store')
  if (JSON.stringify(a.cache) !== JSON.stringify(b.cache)) out.push('cache')
  if (a.issuer?.prefix !== b.issuer?.prefix) out.push('issuer (on/off, prefix)')
  if (a.log.level !== b.log.level) out.push('log.level')
  if (a.limits.maxHeaderBytes !== b.limits.maxHeaderBytes) out.push('limits.maxHeaderBytes')
  return out
}

function listen(server: http.Server, hostPort: string): Promise<void> {
  const hp = parseHostPort(hostPort) as { host: string; port: number }
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(hp.port, hp.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

function urlHost(a: AddressInfo): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`
}
