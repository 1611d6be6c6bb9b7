// A SPEC §3 refusal on the traffic port: counted, answered from the catalogue, logged.
import type { ServerResponse } from 'node:http'
import type { Denied } from '../pipeline/decision.js'
import { answer } from '../outcome/answer.js'
import { OUTCOMES } from '../outcome/catalogue.js'
import { logRequest, type AccessLogDeps, type Asked } from './access-log.js'
import { hasBody } from './body-limit.js'
import { sendAnswer } from './problem.js'
import type { Started } from './traffic.js'

/** `asked`: the refusal answers a decision request (SPEC §10) about that request. */
export function refuse(deps: AccessLogDeps, at: Started, res: ServerResponse, d: Denied, asked?: Asked): void {
  deps.metrics.authFailure(d.reason)
  const headers = d.cors ?? undefined
  sendAnswer(res, answer(d.reason, { detail: d.detail, requestId: at.requestId, close: hasBody(at.req), ...(headers ? { headers } : {}) }))
  logRequest(deps, at, OUTCOMES[d.reason].status, 'denied', d, null, asked)
}
