// SPEC §10: the decision endpoint on the traffic listener. A front proxy asks
// whether to forward a request; the answer is decide()'s own, through the same
// refusal, metrics and log line as proxied traffic (proxy-app.ts hands them in),
// and nothing is forwarded. Allowed: 200, an empty body and the §4 identity
// headers for the front proxy to copy upstream. Never a redirect; the decision
// request's body is never read (the connection is closed instead).
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Runtime } from '../runtime/compile.js'
import type { DecideRuntime, RequestFacts } from '../pipeline/decide.js'
import type { Allowed, Decision, Denied } from '../pipeline/decision.js'
import { answer as answerOf } from '../outcome/answer.js'
import { readDecisionRequest, type DecisionForm } from '../pipeline/decision-request.js'
import { buildIdentityHeaders } from '../pipeline/identity-headers.js'
import type { Outcome } from '../telemetry/metrics.js'
import { hasBody } from './body-limit.js'
import { sendAnswer } from './problem.js'

/** The request a decision was asked about, for the log line and the metrics. */
export interface Asked {
  readonly method: string
}

export interface DecisionEndpointDeps {
  decideSafely(facts: RequestFacts, rt: DecideRuntime, requestId: string): Promise<Decision | null>
  refuse(req: IncomingMessage, res: ServerResponse, d: Denied, requestId: string, start: number, asked?: Asked): void
  /** The log line and metrics of proxy-app, for the request that was decided. */
  record(req: IncomingMessage, requestId: string, start: number, status: number, outcome: Outcome, d: Allowed | null, asked: Asked): void
}

export function createDecisionEndpoint(deps: DecisionEndpointDeps) {
  async function answer(
    req: IncomingMessage,
    res: ServerResponse,
    facts: RequestFacts,
    form: DecisionForm,
    rt: Runtime,
    requestId: string,
    start: number,
  ): Promise<void> {
    const fa = rt.forwardAuth
    if (fa === null) throw new Error('decision endpoint without forwardAuth')
    const ask = readDecisionRequest(facts, form, fa)
    if (!ask.ok) {
      const denied: Denied = { ok: false, reason: ask.reason, detail: ask.detail, api: null, clientIp: ask.clientIp }
      return deps.refuse(req, res, denied, requestId, start, { method: facts.method })
    }
    const asked: Asked = { method: ask.facts.method }
    const d = await deps.decideSafely(ask.facts, fa.runtime, requestId)
    // decide() never routes to the token service here (forwardAuth's runtime has no service prefix).
    if (d === null || (d.ok && d.route !== 'upstream')) {
      sendAnswer(res, answerOf('internal_error', { requestId, close: true }))
      return deps.record(req, requestId, start, 500, 'error', null, asked)
    }
    if (!d.ok) return deps.refuse(req, res, d, requestId, start, asked)

    const headers = buildIdentityHeaders(rt.headerPlan, d.identity, d.permissions, d.subjectType)
    headers.push('content-length', '0', 'cache-control', 'no-store', 'x-request-id', requestId)
    if (hasBody(req)) headers.push('connection', 'close')
    res.writeHead(200, headers)
    res.end()
    deps.record(req, requestId, start, 200, 'allowed', d, asked)
  }

  return { answer }
}
