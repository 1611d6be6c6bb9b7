// The traffic port's request handler. A plain node:http handler around decide()
// and an undici Pool: the proxied path is the hot path, so it skips a framework's
// per-request lifecycle (measured: see README "Architecture"). Per request:
// decide, then a catalogue answer (refuse.ts), the token service, or one streamed
// upstream exchange (upstream-exchange.ts); one access-log line (access-log.ts).
// Requests to forwardAuth.path go to decision-endpoint.ts (SPEC §10), upgrades
// to websocket-tunnel.ts.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Preflight, ToService } from '../pipeline/decision.js'
import { decisionForm } from '../pipeline/decision-request.js'
import { answer } from '../outcome/answer.js'
import { setClientIp } from '../issuer/client-ip.js'
import { logRequest } from './access-log.js'
import { answerDecision } from './decision-endpoint.js'
import { sendAnswer } from './problem.js'
import { refuse } from './refuse.js'
import { hasBody } from './body-limit.js'
import { decideSafely, factsOf, startRequest, type ProxyDeps, type Started } from './traffic.js'
import { forward } from './upstream-exchange.js'
import { createUpgradeHandler } from './websocket-tunnel.js'

export type { ProxyDeps } from './traffic.js'
export { TUNNEL_RECHECK_MS } from './websocket-tunnel.js'

export function createProxyHandlers(deps: ProxyDeps) {
  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rt = deps.runtime()
    if (rt.forwardAuth !== null) {
      const form = decisionForm(req.url ?? '', rt.forwardAuth.path)
      // The front proxy asking is a trusted caller (SPEC §12): its request id is taken like a trusted proxy's.
      if (form !== null) return answerDecision(deps, startRequest(req, rt.forwardAuth.runtime), res, form, rt)
    }
    const at = startRequest(req, rt)
    const d = await decideSafely(deps, factsOf(req), rt, at.requestId)
    if (d === null) {
      sendAnswer(res, answer('internal_error', { close: true, requestId: at.requestId }))
      logRequest(deps, at, 500, 'error', null)
      return
    }
    if (!d.ok) return refuse(deps, at, res, d)
    if (d.route === 'service') return toTokenService(at, res, d)
    if (d.route === 'preflight') return answerPreflight(at, res, d)
    if (req.headers.expect !== undefined) res.writeContinue() // only once the request is allowed
    forward(deps, at, res, d, rt)
  }

  /** The token service authenticates its own callers; it sees the normalised target only. */
  function toTokenService(at: Started, res: ServerResponse, d: ToService): void {
    const service = deps.service()
    if (!service) {
      sendAnswer(res, answer('service_off', { requestId: at.requestId }))
      return
    }
    const { req } = at
    setClientIp(req, d.clientIp, at.requestId)
    req.url = d.target
    res.setHeader('x-request-id', at.requestId)
    res.once('close', () => logRequest(deps, at, res.statusCode, 'service', d))
    service.handle(req, res)
  }

  /** pipeline/cors.ts decided it; the upstream never sees a preflight of an API with a cors policy. */
  function answerPreflight(at: Started, res: ServerResponse, d: Preflight): void {
    const a = answer(d.allowed ? 'cors_preflight' : 'cors_preflight_refused', { requestId: at.requestId, headers: d.cors, close: hasBody(at.req) })
    sendAnswer(res, a)
    logRequest(deps, at, a.status, 'preflight', d)
  }

  return { onRequest, onUpgrade: createUpgradeHandler(deps) }
}
