// One access-log line and one metrics update per request, whatever its outcome.
import type { Decision } from '../pipeline/decision.js'
import { writeAccessLine } from '../telemetry/access-line.js'
import type { Logger } from '../telemetry/logger.js'
import type { Metrics, Outcome } from '../telemetry/metrics.js'
import type { Started } from './traffic.js'

export interface AccessLogDeps {
  readonly metrics: Metrics
  readonly logger: Logger
}

/** The request a decision was asked about (SPEC §10), for the log line and the metrics. */
export interface Asked {
  readonly method: string
}

/** `d` is null when decide() itself failed; `upstreamMs` when the upstream answered; `asked` for a decision request. */
export function logRequest(
  deps: AccessLogDeps,
  at: Started,
  status: number,
  outcome: Outcome,
  d: Decision | null,
  upstreamMs: number | null = null,
  asked?: Asked,
): void {
  const { req } = at
  // A decision counts as the request it decided (SPEC §12).
  const method = asked ? asked.method : req.method
  const seconds = (performance.now() - at.start) / 1000
  const api = d?.api ? d.api.name : d && d.ok ? (d.route === 'service' ? 'token_service' : 'unmatched') : '-'
  deps.metrics.request(api, method ?? 'OTHER', status, outcome, seconds)
  // A refusal names the credential only once it was verified (decide.ts), never the one merely presented.
  const identity = d === null ? null : d.ok ? (d.route === 'upstream' ? d.identity : null) : d.identity
  // Only the normalised path: a query string may carry secrets (SPEC §8).
  writeAccessLine(deps.logger, {
    reqId: at.requestId,
    clientIp: d?.clientIp ?? req.socket.remoteAddress,
    method,
    path: d?.path ?? undefined,
    decision: asked ? true : undefined,
    api: d?.api?.name,
    user: identity?.user,
    actor: identity?.actor,
    credentialId: identity?.credentialId,
    status,
    outcome,
    reason: d && !d.ok ? d.reason : d?.ok && d.route === 'preflight' && !d.allowed ? 'cors_preflight_refused' : undefined,
    durationMs: Math.round(seconds * 1e6) / 1e3,
    upstreamMs: upstreamMs === null ? undefined : Math.round(upstreamMs * 1e3) / 1e3,
  })
}
