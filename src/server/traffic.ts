// What the traffic port's request handler (proxy-app.ts), the upstream exchange
// and the websocket tunnel share: their dependencies, a request's start record,
// the facts decide() reads, and decide() itself with failures caught.
import type { IncomingMessage } from 'node:http'
import type { Dispatcher } from 'undici'
import type { Runtime } from '../runtime/compile.js'
import { decide, type DecideRuntime, type RequestFacts } from '../pipeline/decide.js'
import type { Allowed, Decision } from '../pipeline/decision.js'
import { buildUpstreamHeaders } from '../pipeline/identity-headers.js'
import { requestIdIn } from '../pipeline/trace-context.js'
import { OUTCOMES } from '../outcome/catalogue.js'
import type { Logger } from '../telemetry/logger.js'
import type { Metrics } from '../telemetry/metrics.js'
import type { TokenService } from '../issuer/service.js'

export interface ProxyDeps {
  runtime(): Runtime
  /** The keep-alive pool to the current upstream. */
  pool(): Dispatcher
  readonly metrics: Metrics
  readonly logger: Logger
  readonly proto: 'http' | 'https'
  /** The token service, when `issuer:` is configured (SPEC §6). */
  service(): TokenService | null
}

/** A request as it arrived: what its access-log line needs besides the outcome. */
export interface Started {
  readonly req: IncomingMessage
  readonly requestId: string
  /** performance.now() at arrival. */
  readonly start: number
}

let sequence = 0
const instance = Math.random().toString(36).slice(2, 8)

/** Whose word is taken for a request's id: the trusted proxies of SPEC §3.2 (for a decision request, its runtime's). */
export type IdTrust = Pick<DecideRuntime, 'trustedProxies' | 'hasTrustedProxies'>

/** A request's start: its id is a trusted proxy's valid X-Request-Id, else one of ours (trace-context.ts). */
export function startRequest(req: IncomingMessage, trust: IdTrust): Started {
  const start = performance.now()
  const peer = req.socket.remoteAddress
  const given = trust.hasTrustedProxies && peer !== undefined && trust.trustedProxies.has(peer) ? requestIdIn(req.rawHeaders) : null
  return { req, requestId: given ?? `${instance}-${(++sequence).toString(36)}`, start }
}

/** What decide() reads of a request; kept for a tunnel, which is decided again while it lives. */
export function factsOf(req: IncomingMessage): RequestFacts {
  return { method: req.method ?? '', rawTarget: req.url ?? '', rawHeaders: req.rawHeaders, peerIp: req.socket.remoteAddress ?? '' }
}

/** decide(), with an unexpected failure logged and returned as null (answered 500, never a pass). */
export async function decideSafely(deps: ProxyDeps, facts: RequestFacts, rt: DecideRuntime, requestId: string): Promise<Decision | null> {
  const t0 = performance.now()
  try {
    const d = await decide(facts, rt)
    deps.metrics.decision((performance.now() - t0) / 1000)
    return d
  } catch (err) {
    deps.logger[OUTCOMES.internal_error.logLevel]({ reqId: requestId, err: safeError(err) }, 'decision failed')
    return null
  }
}

/** The client's headers as the upstream gets them: identity headers stripped and set (SPEC §4). */
export function upstreamHeaders(deps: ProxyDeps, at: Started, d: Allowed, rt: Runtime): string[] {
  const { req } = at
  return buildUpstreamHeaders(rt.headerPlan, req.rawHeaders, {
    requestId: at.requestId,
    identity: d.identity,
    permissions: d.permissions,
    subjectType: d.subjectType,
    clientIp: d.clientIp,
    peerIp: req.socket.remoteAddress ?? '',
    peerTrusted: d.peerTrusted,
    proto: deps.proto,
  })
}

function safeError(err: unknown): { name: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'unknown', message: String(err) }
}
