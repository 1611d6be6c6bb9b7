// SPEC §10: the decision endpoint on the traffic listener. A front proxy asks
// whether to forward a request; the answer is decide()'s own, through the same
// refusal, metrics and log line as proxied traffic (refuse.ts, access-log.ts),
// and nothing is forwarded. Allowed: 200, an empty body and the §4 identity
// headers for the front proxy to copy upstream. Never a redirect; the decision
// request's body is never read (the connection is closed instead).
import type { ServerResponse } from 'node:http'
import type { Runtime } from '../runtime/compile.js'
import type { Denied } from '../pipeline/decision.js'
import { answer } from '../outcome/answer.js'
import { readDecisionRequest, type DecisionForm } from '../pipeline/decision-request.js'
import { buildIdentityHeaders } from '../pipeline/identity-headers.js'
import { logRequest, type Asked } from './access-log.js'
import { hasBody } from './body-limit.js'
import { sendAnswer } from './problem.js'
import { refuse } from './refuse.js'
import { decideSafely, factsOf, type ProxyDeps, type Started } from './traffic.js'

/** Answers a request to forwardAuth.path (`form` says how it names the request to decide). */
export async function answerDecision(deps: ProxyDeps, at: Started, res: ServerResponse, form: DecisionForm, rt: Runtime): Promise<void> {
  const { req, requestId } = at
  const fa = rt.forwardAuth
  if (fa === null) throw new Error('decision endpoint without forwardAuth')
  const facts = factsOf(req)
  const ask = readDecisionRequest(facts, form, fa)
  if (!ask.ok) {
    const denied: Denied = { ok: false, reason: ask.reason, detail: ask.detail, api: null, clientIp: ask.clientIp, path: null, identity: null }
    return refuse(deps, at, res, denied, { method: facts.method })
  }
  const asked: Asked = { method: ask.facts.method }
  const d = await decideSafely(deps, ask.facts, fa.runtime, requestId)
  // decide() never routes to the token service here (forwardAuth's runtime has no service prefix).
  if (d === null || (d.ok && d.route !== 'upstream')) {
    sendAnswer(res, answer('internal_error', { requestId, close: true }))
    return logRequest(deps, at, 500, 'error', null, null, asked)
  }
  if (!d.ok) return refuse(deps, at, res, d, asked)

  const headers = buildIdentityHeaders(rt.headerPlan, d.identity, d.permissions, d.subjectType)
  headers.push('content-length', '0', 'cache-control', 'no-store', 'x-request-id', requestId)
  if (hasBody(req)) headers.push('connection', 'close')
  res.writeHead(200, headers)
  res.end()
  logRequest(deps, at, 200, 'allowed', d, null, asked)
}
