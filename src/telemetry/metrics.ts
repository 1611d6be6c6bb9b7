// SPEC §7 metrics, declared in one place with bounded label sets (STYLE habit 8):
// api is a configured API name, `unmatched`, `token_service` or `-`; method one of a fixed list or
// OTHER; reason a DenyReason. Never a path, user or key id.
import client from 'prom-client'
import { OUTCOMES, type DenyReason } from '../outcome/catalogue.js'
import { hotCounter, hotHistogram } from './hot-metrics.js'
import { droppedLogLines } from './logger.js'

export type Outcome = 'allowed' | 'denied' | 'upstream_error' | 'error' | 'service' | 'preflight'

/** Who tried to log in to the token service: a user (Basic), an OAuth client, or an API key. */
export type LoginAccount = 'user' | 'client' | 'api_key'
/** Why a token-service login failed: a closed set (a key's reasons are the proxy's own). */
export type LoginFailure = 'unknown_account' | 'wrong_secret' | 'malformed' | DenyReason
/** What the token service issued: a JWT after a login, an API key, or a client-credentials token. */
export type IssuedKind = 'jwt' | 'api_key' | 'client_token'

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

export interface Metrics {
  readonly registry: client.Registry
  request(api: string, method: string, status: number, outcome: Outcome, seconds: number): void
  upstream(api: string, seconds: number): void
  /** Time spent deciding (SPEC §3 steps 1–7): the auth share of a request's latency. */
  decision(seconds: number): void
  upstreamError(kind: 'connect' | 'timeout' | 'reset' | 'other'): void
  authFailure(reason: DenyReason): void
  cache(hit: boolean): void
  reload(ok: boolean): void
  loginFailure(account: LoginAccount, reason: LoginFailure): void
  loginThrottled(account: Exclude<LoginAccount, 'api_key'>): void
  credentialIssued(kind: IssuedKind): void
}

/** What the token service records (issuer/login-events.ts). */
export type TokenServiceMetrics = Pick<Metrics, 'loginFailure' | 'loginThrottled' | 'credentialIssued'>

export interface MetricSources {
  /** Per JWKS issuer: fetch counters and last success (ms epoch), read at scrape time. */
  jwks(): readonly { issuer: string; fetches: number; failures: number; lastSuccessAt: number | null }[]
  storeUp(): Promise<boolean>
}

const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

export function createMetrics(sources: MetricSources): Metrics {
  const registry = new client.Registry()
  registerProcessMetrics(registry)
  const recorders = { ...requestMetrics(registry), ...outcomeMetrics(registry), ...tokenServiceMetrics(registry) }
  registerScrapedMetrics(registry, sources)
  return { registry, ...recorders }
}

/** prom-client's process and Node metrics, under gatehouse_. */
function registerProcessMetrics(registry: client.Registry): void {
  client.collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' })
  // prom-client names these gauges *_total, which Prometheus reserves for counters
  // (promtool check metrics refuses them); the resource-count gauges say the same.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(`gatehouse_${name}`)
  }
}

/** Every request's count and durations (SPEC §7): updated on every request, so kept in hot metrics (hot-metrics.ts). */
function requestMetrics(registry: client.Registry): Pick<Metrics, 'request' | 'upstream' | 'decision'> {
  const requests = hotCounter('gatehouse_requests_total', 'Requests on the traffic port, by API, method, status class and outcome.', ['api', 'method', 'status_class', 'outcome'])
  const duration = hotHistogram('gatehouse_request_duration_seconds', 'Whole request, from arrival to the last byte of the response.', ['outcome'], DURATION_BUCKETS)
  const upstreamDuration = hotHistogram('gatehouse_upstream_duration_seconds', 'Time from forwarding a request to the upstream until its response headers arrive.', ['api'], DURATION_BUCKETS)
  const decisionDuration = hotHistogram(
    'gatehouse_decision_duration_seconds',
    'Time spent deciding a request (path, address, credential, permission), before any forwarding.',
    [],
    [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1, 5],
  )
  for (const m of [requests, duration, upstreamDuration, decisionDuration]) registry.registerMetric(m as unknown as client.Metric)
  const decisions = decisionDuration.child()
  return {
    request(api, method, status, outcome, seconds) {
      const m = METHODS.has(method) ? method : 'OTHER'
      const cls = status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other'
      requests.child(api, m, cls, outcome).inc()
      duration.child(outcome).observe(seconds)
    },
    upstream(api, seconds) {
      upstreamDuration.child(api).observe(seconds)
    },
    decision(seconds) {
      decisions.observe(seconds)
    },
  }
}

/** Why requests failed, and how the verified-credential cache and reloads fare. */
function outcomeMetrics(registry: client.Registry): Pick<Metrics, 'upstreamError' | 'authFailure' | 'cache' | 'reload'> {
  const authFailures = new client.Counter({
    name: 'gatehouse_auth_failures_total',
    help: 'Requests refused by the pipeline, by reason (SPEC §3).',
    labelNames: ['reason'] as const,
    registers: [registry],
  })
  const upstreamErrors = new client.Counter({
    name: 'gatehouse_upstream_errors_total',
    help: 'Upstream failures answered with 502 or 504, by kind.',
    labelNames: ['kind'] as const,
    registers: [registry],
  })
  const cacheHits = new client.Counter({
    name: 'gatehouse_auth_cache_hits_total',
    help: 'Credentials answered from the verified-credential cache.',
    registers: [registry],
  })
  const cacheMisses = new client.Counter({
    name: 'gatehouse_auth_cache_misses_total',
    help: 'Credentials that had to be verified (signature or key hash).',
    registers: [registry],
  })
  const reloads = new client.Counter({
    name: 'gatehouse_config_reloads_total',
    help: 'Configuration reloads (SIGHUP or a changed file), by result.',
    labelNames: ['result'] as const,
    registers: [registry],
  })
  return {
    upstreamError(kind) {
      upstreamErrors.labels(kind).inc()
    },
    authFailure(reason) {
      authFailures.labels(OUTCOMES[reason].metricReason ?? reason).inc()
    },
    cache(hit) {
      ;(hit ? cacheHits : cacheMisses).inc()
    },
    reload(ok) {
      reloads.labels(ok ? 'ok' : 'failed').inc()
    },
  }
}

/** The token service's logins and what it issued; labels are closed sets, never a user or client name. */
function tokenServiceMetrics(registry: client.Registry): TokenServiceMetrics {
  const failures = new client.Counter({
    name: 'gatehouse_token_service_login_failures_total',
    help: 'Failed logins to the token service, by account kind (user, client, api_key) and reason.',
    labelNames: ['account', 'reason'] as const,
    registers: [registry],
  })
  const throttled = new client.Counter({
    name: 'gatehouse_token_service_logins_throttled_total',
    help: 'Logins refused with 429 by the login throttle before any password check, by account kind.',
    labelNames: ['account'] as const,
    registers: [registry],
  })
  const issued = new client.Counter({
    name: 'gatehouse_token_service_credentials_issued_total',
    help: 'Credentials issued by the token service, by kind (jwt, api_key, client_token).',
    labelNames: ['kind'] as const,
    registers: [registry],
  })
  return {
    loginFailure(account, reason) {
      failures.labels(account, reason).inc()
    },
    loginThrottled(account) {
      throttled.labels(account).inc()
    },
    credentialIssued(kind) {
      issued.labels(kind).inc()
    },
  }
}

/** Metrics read from their sources when scraped: JWKS health, dropped log lines, the store. */
function registerScrapedMetrics(registry: client.Registry, sources: MetricSources): void {
  new client.Gauge({
    name: 'gatehouse_jwks_last_success_timestamp_seconds',
    help: 'When each remote JWKS was last fetched successfully (0 = never).',
    labelNames: ['issuer'] as const,
    registers: [registry],
    collect() {
      for (const s of sources.jwks()) this.set({ issuer: s.issuer }, (s.lastSuccessAt ?? 0) / 1000)
    },
  })
  // A counter (so increase() survives restarts) fed at scrape time from the verifiers' own counts,
  // which start again at zero when a reload builds a new verifier.
  const seenFailures = new Map<string, number>()
  new client.Counter({
    name: 'gatehouse_jwks_fetch_failures_total',
    help: 'Failed JWKS fetches, per issuer.',
    labelNames: ['issuer'] as const,
    registers: [registry],
    collect() {
      for (const s of sources.jwks()) {
        const before = seenFailures.get(s.issuer) ?? 0
        const added = s.failures >= before ? s.failures - before : s.failures
        seenFailures.set(s.issuer, s.failures)
        this.inc({ issuer: s.issuer }, added)
      }
    },
  })
  let seenDropped = 0
  new client.Counter({
    name: 'gatehouse_log_lines_dropped_total',
    help: 'Log lines dropped because standard output could not take them (a slow or gone log reader); never waited for.',
    registers: [registry],
    collect() {
      const now = droppedLogLines()
      this.inc(Math.max(0, now - seenDropped))
      seenDropped = now
    },
  })
  new client.Gauge({
    name: 'gatehouse_store_up',
    help: '1 while the API-key store answers, else 0.',
    registers: [registry],
    async collect() {
      this.set((await sources.storeUp()) ? 1 : 0)
    },
  })
}
