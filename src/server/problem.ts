// RFC 9457 problem+json answers for every refusal, built from the one reason
// table in pipeline/decision.ts. Bodies and challenges carry only our own fixed
// text: never the credential, a header value or the path.
import type { ServerResponse } from 'node:http'
import { DENY_REASONS, REASONS, problemType, type DenyReason } from '../pipeline/decision.js'

export interface ProblemBody {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail: string
  readonly instance?: string
}

const REALM = 'realm="gatehouse"'

/** An unexpected failure: answered 500, never a pass. */
export const INTERNAL_ERROR: ProblemBody = { type: 'about:blank', title: 'Internal error', status: 500, detail: 'Internal error' }

// Problem type -> Retry-After, for the reasons that are temporary (a 503 while the store is away).
const RETRY_AFTER: ReadonlyMap<string, string> = new Map(
  DENY_REASONS.flatMap((r) => {
    const s = REASONS[r].retryAfterSeconds
    return s === undefined ? [] : [[problemType(r), String(s)] as const]
  }),
)

/** RFC 6750 §3: no error code when no credential was sent; otherwise the reason's code. */
export function challengeFor(reason: DenyReason): string | undefined {
  const info = REASONS[reason]
  if (info.status === 401 && !info.bearerError) return `Bearer ${REALM}, ApiKey ${REALM}`
  if (!info.bearerError) return undefined
  if (reason === 'credential_ambiguous' || info.status === 401 || info.status === 403) {
    return `Bearer ${REALM}, error="${info.bearerError}", error_description="${info.title}"`
  }
  return undefined
}

export function problemFor(reason: DenyReason, detail: string | undefined, requestId: string): ProblemBody {
  const info = REASONS[reason]
  return { type: problemType(reason), title: info.title, status: info.status, detail: detail ?? info.title, instance: `urn:gatehouse:request:${requestId}` }
}

export function sendProblem(
  res: ServerResponse,
  body: ProblemBody,
  opts: { challenge?: string | undefined; close?: boolean; requestId: string },
): void {
  const payload = JSON.stringify(body)
  const headers: Record<string, string | number> = {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    'x-request-id': opts.requestId,
  }
  if (opts.challenge) headers['www-authenticate'] = opts.challenge
  const retryAfter = RETRY_AFTER.get(body.type)
  if (retryAfter !== undefined) headers['retry-after'] = retryAfter
  // A refused request's body is never read (security-cases #100): close instead
  // of letting node drain it to reuse the connection.
  if (opts.close) headers.connection = 'close'
  res.writeHead(body.status, headers)
  res.end(res.req.method === 'HEAD' ? undefined : payload)
}
