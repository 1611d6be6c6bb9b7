// Config -> Runtime: everything the per-request path reads, built once per (re)load
// (STYLE habit 1). A failed compile returns problems and leaves the running
// Runtime untouched, so a reload is atomic.
import { loadUsersFile, type UserDirectory } from '../accounts/users.js'
import { compileExtractor } from '../credentials/extract.js'
import type { VerifiedCache } from '../credentials/verified-cache.js'
import { compileJwtVerifier, type JwtVerifier } from '../credentials/verify-jwt.js'
import type { KeyStore } from '../keystore/key-store.js'
import type { DecideRuntime } from '../pipeline/decide.js'
import { compileHeaderPlan, type HeaderPlan } from '../pipeline/identity-headers.js'
import { createIpFilter, createIpSet } from '../pipeline/ip-filter.js'
import { compileApis } from '../pipeline/match-api.js'
import type { LoadedConfig } from './load.js'
import type { Checked, Problem } from './problem.js'
import type { Config } from './schema.js'

export interface Runtime extends DecideRuntime {
  readonly config: Config
  readonly file: string
  readonly headerPlan: HeaderPlan
  readonly jwt: JwtVerifier
  readonly upstream: UpstreamTarget
  /** API names, for bounded metric labels. */
  readonly apiNames: readonly string[]
  close(): void
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
  /** Verification keys of Gatehouse's own token service, when it runs. */
  readonly ownKeys?: Parameters<typeof compileJwtVerifier>[1]['ownKeys']
  /** false for check-config: compile without calling out to any JWKS endpoint. */
  readonly fetchKeys?: boolean
}

export async function compileRuntime(loaded: LoadedConfig, deps: CompileDeps): Promise<Checked<Runtime>> {
  const c = loaded.config
  const problems: Problem[] = []

  const apis = compileApis(c.apis)
  if (!apis.ok) problems.push(...apis.problems)

  let users: UserDirectory | null = null
  if (c.issuer?.usersFile) {
    const u = await loadUsersFile(c.issuer.usersFile)
    if (u.ok) users = u.value
    else problems.push(...u.problems)
  }

  const now = deps.now ?? Date.now
  const jwt = await compileJwtVerifier(c.jwt.issuers, {
    leewaySeconds: c.jwt.leewaySeconds,
    now,
    env: deps.env ?? process.env,
    baseDir: loaded.dir,
    ownKeys: deps.ownKeys,
    fetchKeys: deps.fetchKeys,
    onKeysRemoved: () => deps.cache.clear(),
  })
  if (!jwt.ok) problems.push(...jwt.problems)

  if (problems.length > 0 || !apis.ok || !jwt.ok) {
    if (jwt.ok) jwt.verifier.close()
    return { ok: false, problems }
  }

  const url = new URL(c.upstream.url)
  const upstream: UpstreamTarget = {
    origin: url.origin,
    host: url.host,
    basePath: url.pathname.replace(/\/+$/, ''),
  }
  const runtime: Runtime = {
    config: c,
    file: loaded.file,
    ipFilter: createIpFilter(c.ipFilter),
    trustedProxies: createIpSet(c.trustedProxies),
    hasTrustedProxies: c.trustedProxies.length > 0,
    apis: apis.matcher,
    apiNames: Object.freeze(c.apis.map((a) => a.name)),
    unmatched: c.unmatched,
    credentials: {
      extract: compileExtractor(c.apiKeys.headers),
      jwt: jwt.verifier,
      store: deps.store,
      cache: deps.cache,
      onCache: deps.onCache,
    },
    jwt: jwt.verifier,
    users,
    ownIssuer: c.issuer?.name ?? null,
    now,
    headerPlan: compileHeaderPlan({
      prefix: c.identityHeaders.prefix,
      forwardAuthorization: c.identityHeaders.forwardAuthorization,
      apiKeyHeaders: c.apiKeys.headers,
      upstreamHost: url.host,
    }),
    upstream,
    close: () => jwt.verifier.close(),
  }
  return { ok: true, value: runtime }
}
