// Config -> Runtime: everything the per-request path reads, built once per (re)load
// (STYLE habit 1). A failed compile returns problems and leaves the running
// Runtime untouched, so a reload is atomic.
import path from 'node:path'
import type { ClientDirectory } from '../accounts/clients.js'
import type { UserDirectory } from '../accounts/users.js'
import { AuthorityChain } from '../pipeline/authority.js'
import { compileExtractor } from '../credentials/extract.js'
import type { JwksPool } from '../credentials/jwks-pool.js'
import type { VerifiedCache } from '../credentials/verified-cache.js'
import { compileJwtVerifierLazily } from '../credentials/lazy-jwt-verifier.js'
import type { JwtVerifier } from '../credentials/verify-jwt.js'
import type { KeyStore } from '../keystore/key-store.js'
import type { DecideRuntime } from '../pipeline/decide.js'
import { compileHeaderPlan, type HeaderPlan } from '../pipeline/identity-headers.js'
import { compileForwardAuth, type ForwardAuthRuntime } from '../pipeline/decision-request.js'
import { createIpFilter, createIpSet } from '../net/ip-filter.js'
import { compileApis } from '../pipeline/match-api.js'
import { compileReadingCheck } from '../pipeline/path-readings.js'
import { compileQueryFilter } from '../pipeline/query-filter.js'
import { createFailureThrottle } from '../pipeline/failure-throttle.js'
import type { LoadedConfig } from '../config/load.js'
import type { Checked, Problem } from '../config/problem.js'
import type { Config, IssuerConfig } from '../config/schema.js'
import { DEFAULT_MAX_LIFETIME_SECONDS } from '../config/jwt-algorithms.js'
import { formatDuration, parseDuration } from '../config/duration.js'
import { MAX_KEY_TTL_SECONDS } from '../keystore/key-record.js'
import type { SigningKeys } from '../credentials/signing-key.js'
import { secretFileProblems } from '../config/secret-files.js'

export interface Runtime extends DecideRuntime {
  readonly config: Config
  readonly file: string
  readonly headerPlan: HeaderPlan
  readonly jwt: JwtVerifier
  readonly upstream: UpstreamTarget
  /** API names, for bounded metric labels. */
  readonly apiNames: readonly string[]
  /** The token service's compiled `issuer:` section, or null when it is off. */
  readonly service: ServiceRuntime | null
  /** The decision endpoint (SPEC §10), or null when `forwardAuth` is absent. */
  readonly forwardAuth: ForwardAuthRuntime | null
  close(): void
}

/** The `issuer:` section, compiled (SPEC §2, §6). */
export interface ServiceRuntime {
  readonly prefix: string
  /** `iss` of issued tokens. */
  readonly name: string
  /** `aud` of issued tokens. */
  readonly audience: string
  readonly maxTtlSeconds: number
  readonly defaultTtlSeconds: number
  /** issuer.impersonationMaxTtl: the longest life of a credential minted with targetUser. */
  readonly impersonationMaxTtlSeconds: number
  /** issuer.apiKeyMaxTtl: the longest `expires` of an API key. */
  readonly apiKeyMaxTtlSeconds: number
  readonly maxKeysPerUser: number
  readonly users: UserDirectory | null
  readonly clients: ClientDirectory | null
  readonly keys: SigningKeys
}

export interface UpstreamTarget {
  readonly origin: string
  /** host[:port] as the upstream's Host header. */
  readonly host: string
  /** Prepended to every forwarded path (the upstream URL's own path, without a trailing slash). */
  readonly basePath: string
}

export interface CompileDeps {
  readonly store: KeyStore
  readonly cache: VerifiedCache
  readonly onCache: (hit: boolean) => void
  readonly env?: NodeJS.ProcessEnv
  readonly now?: () => number
  /** false for check-config: compile without calling out to any JWKS endpoint. */
  readonly fetchKeys?: boolean
  /** Remote JWKS caches kept across reloads (serve). */
  readonly jwksPool?: JwksPool
  /** A JWKS fetch or discovery failed. */
  readonly onJwksFetchError?: (issuer: string, reason: string) => void
}

export async function compileRuntime(loaded: LoadedConfig, deps: CompileDeps): Promise<Checked<Runtime>> {
  const c = loaded.config
  const problems: Problem[] = []

  const apis = compileApis(c.apis, c.limits.maxBodyBytes)
  if (!apis.ok) problems.push(...apis.problems)
  problems.push(...secretFileProblems(c))

  let users: UserDirectory | null = null
  // The token service's files, keys and JWT verification load only when the config has
  // them: check-config and a sidecar without them never load jose or bcrypt (issue 17).
  if (c.issuer?.usersFile) {
    const { loadUsersFile } = await import('../accounts/users.js')
    const u = await loadUsersFile(c.issuer.usersFile)
    if (u.ok) users = u.value
    else problems.push(...u.problems)
  }

  const service = c.issuer ? await compileService(c, users, problems) : null
  problems.push(...claimHeaderProblems(c))
  const now = deps.now ?? Date.now
  const jwt = await compileJwt(loaded, service, deps, now)
  if (!jwt.ok) problems.push(...jwt.problems)

  if (problems.length > 0 || !apis.ok || !jwt.ok) {
    if (jwt.ok) jwt.verifier.close()
    return { ok: false, problems }
  }
  return { ok: true, value: assembleRuntime(loaded, deps, { apis: apis.matcher, jwt: jwt.verifier, users, service, now }) }
}

/**
 * Tokens the service issues are accepted by the proxy even when jwt.issuers does
 * not list the service by name (SPEC §2: such an entry uses the service's keys).
 * Its own tokens may live up to jwtMaxTtl, which may exceed the P1D default of maxLifetime.
 */
function effectiveIssuers(c: Config, service: ServiceRuntime | null): IssuerConfig[] {
  const ownLifetime = service && service.maxTtlSeconds > DEFAULT_MAX_LIFETIME_SECONDS ? c.issuer?.jwtMaxTtl : undefined
  const issuers: IssuerConfig[] = c.jwt.issuers.map((i) =>
    i.issuer === service?.name && i.maxLifetime === undefined && ownLifetime !== undefined ? { ...i, maxLifetime: ownLifetime } : i,
  )
  if (service && !issuers.some((i) => i.issuer === service.name)) {
    issuers.push({
      issuer: service.name,
      audience: service.audience,
      jwksCacheSeconds: 300,
      jwksCooldownSeconds: 30,
      ...(ownLifetime !== undefined ? { maxLifetime: ownLifetime } : {}),
    })
  }
  return issuers
}

function compileJwt(loaded: LoadedConfig, service: ServiceRuntime | null, deps: CompileDeps, now: () => number) {
  const c = loaded.config
  return compileJwtVerifierLazily(effectiveIssuers(c, service), {
    leewaySeconds: c.jwt.leewaySeconds,
    maxTokenBytes: c.limits.maxTokenBytes,
    jwksFetchesPerMinute: c.limits.jwksFetchesPerMinute,
    now,
    env: deps.env ?? process.env,
    baseDir: loaded.dir,
    ownKeys: service
      ? { issuer: service.name, getKey: service.keys.getKey, algorithms: service.keys.algorithms, requiredType: 'at+jwt' }
      : undefined,
    fetchKeys: deps.fetchKeys,
    ...(deps.jwksPool ? { jwksPool: deps.jwksPool } : {}),
    ...(deps.onJwksFetchError ? { onJwksFetchError: deps.onJwksFetchError } : {}),
    onKeysRemoved: () => deps.cache.clear(),
  })
}

interface CompiledParts {
  readonly apis: DecideRuntime['apis']
  readonly jwt: JwtVerifier
  readonly users: UserDirectory | null
  readonly service: ServiceRuntime | null
  readonly now: () => number
}

/** The Runtime from parts that all compiled: nothing here can fail. */
function assembleRuntime(loaded: LoadedConfig, deps: CompileDeps, parts: CompiledParts): Runtime {
  const c = loaded.config
  const { jwt, users, service } = parts
  const url = new URL(c.upstream.url)
  const upstream: UpstreamTarget = { origin: url.origin, host: url.host, basePath: url.pathname.replace(/\/+$/, '') }
  const ownIssuer = c.issuer?.name ?? null
  const clients = service?.clients ?? null
  const base: Omit<Runtime, 'forwardAuth'> = {
    config: c,
    file: loaded.file,
    ipFilter: createIpFilter(c.ipFilter),
    trustedProxies: createIpSet(c.trustedProxies),
    hasTrustedProxies: c.trustedProxies.length > 0,
    apis: parts.apis,
    readings: compileReadingCheck(c.pathReadings),
    queryFilter: compileQueryFilter(c.upstream.removeQueryParams),
    apiNames: Object.freeze(c.apis.map((a) => a.name)),
    unmatched: c.unmatched,
    credentials: {
      extract: compileExtractor(c.apiKeys.headers),
      jwt,
      store: deps.store,
      cache: deps.cache,
      onCache: deps.onCache,
      throttle: createFailureThrottle(c.limits.authFailuresPerMinute),
    },
    jwt,
    users,
    clients,
    ownIssuer,
    authority: new AuthorityChain({ users, clients, ownIssuer }, deps.store),
    servicePrefix: service?.prefix ?? null,
    service,
    now: parts.now,
    maxRawHeaders: 2 * c.limits.maxHeaderCount,
    maxBodyBytes: c.limits.maxBodyBytes,
    corsAnswers: true,
    headerPlan: compileHeaderPlan({
      prefix: c.identityHeaders.prefix,
      forwardAuthorization: c.identityHeaders.forwardAuthorization,
      apiKeyHeaders: c.apiKeys.headers,
      upstreamHost: url.host,
      removeHeaders: c.identityHeaders.removeHeaders,
    }),
    upstream,
    close: () => jwt.close(),
  }
  const forwardAuth = c.forwardAuth ? compileForwardAuth(c.forwardAuth, c.trustedProxies, base) : null
  return { ...base, forwardAuth }
}

/** SPEC §9: claimHeaders name identity headers, so callers can never send them (they are stripped by prefix). */
function claimHeaderProblems(c: Config): Problem[] {
  const prefix = c.identityHeaders.prefix.toLowerCase().replaceAll('_', '-')
  const reserved = new Set(['user', 'actor', 'method', 'credential-id', 'issuer', 'permissions', 'expires'].map((n) => prefix + n))
  const problems: Problem[] = []
  for (const [i, issuer] of c.jwt.issuers.entries()) {
    for (const [claim, header] of Object.entries(issuer.claimHeaders ?? {})) {
      const name = header.toLowerCase().replaceAll('_', '-')
      const at = `jwt.issuers[${i}].claimHeaders.${claim}`
      if (!name.startsWith(prefix) || name.length === prefix.length) {
        problems.push({ path: at, message: `header "${header}" must start with the identity prefix ${c.identityHeaders.prefix}` })
      } else if (reserved.has(name)) problems.push({ path: at, message: `header "${header}" is one Gatehouse sets itself (SPEC §4)` })
    }
  }
  return problems
}

async function compileService(c: Config, users: UserDirectory | null, problems: Problem[]): Promise<ServiceRuntime | null> {
  const is = c.issuer
  if (!is) return null
  let clients: ClientDirectory | null = null
  if (is.clientsFile) {
    const { loadClientsFile } = await import('../accounts/clients.js')
    const r = await loadClientsFile(is.clientsFile)
    if (r.ok) clients = r.value
    else problems.push(...r.problems)
  }
  const { loadSigningKeys } = await import('../credentials/signing-key.js')
  const keys = await loadSigningKeys({
    signingKeyFile: is.signingKeyFile,
    previousKeyFiles: is.previousKeyFiles,
    dataDir: path.dirname(c.store.path),
  })
  if (!keys.ok) problems.push(...keys.problems)
  const maxTtl = parseDuration(is.jwtMaxTtl)
  const defaultTtl = parseDuration(is.jwtDefaultTtl)
  const impersonationMaxTtl = parseDuration(is.impersonationMaxTtl)
  const apiKeyMaxTtl = parseDuration(is.apiKeyMaxTtl)
  if (!maxTtl.ok || !defaultTtl.ok || !impersonationMaxTtl.ok || !apiKeyMaxTtl.ok || !keys.ok) return null
  if (apiKeyMaxTtl.seconds > MAX_KEY_TTL_SECONDS) {
    problems.push({ path: 'issuer.apiKeyMaxTtl', message: `must be at most ${formatDuration(MAX_KEY_TTL_SECONDS)}` })
    return null
  }
  if (defaultTtl.seconds > maxTtl.seconds) {
    problems.push({ path: 'issuer.jwtDefaultTtl', message: 'must not be longer than issuer.jwtMaxTtl' })
    return null
  }
  const own = c.jwt.issuers.find((i) => i.issuer === is.name)
  const audience = typeof own?.audience === 'string' ? own.audience : (own?.audience?.[0] ?? is.name)
  return Object.freeze({
    prefix: is.prefix,
    name: is.name,
    audience,
    maxTtlSeconds: maxTtl.seconds,
    defaultTtlSeconds: defaultTtl.seconds,
    impersonationMaxTtlSeconds: impersonationMaxTtl.seconds,
    apiKeyMaxTtlSeconds: apiKeyMaxTtl.seconds,
    maxKeysPerUser: is.maxKeysPerUser,
    users,
    clients,
    keys: keys.value,
  })
}
