// undici failures -> 502 or 504 problem (SPEC §2 upstream timeouts). These are
// not auth refusals, so they live outside the DenyReason table.
import type { ProblemBody } from './problem.js'

export type UpstreamFailure = { status: 502 | 504; kind: 'connect' | 'timeout' | 'reset' | 'other'; title: string }

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'])
const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL'])
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'])

export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const code = errorCode(err)
  if (code && TIMEOUT_CODES.has(code)) return { status: 504, kind: 'timeout', title: 'Upstream timed out' }
  if (code && CONNECT_CODES.has(code)) return { status: 502, kind: 'connect', title: 'Upstream unreachable' }
  if (code && RESET_CODES.has(code)) return { status: 502, kind: 'reset', title: 'Upstream closed the connection' }
  return { status: 502, kind: 'other', title: 'Upstream failed' }
}

/** The code of the error, or of its cause (undici wraps socket errors). */
function errorCode(err: unknown): string | undefined {
  let e: unknown = err
  for (let depth = 0; depth < 3 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code
    if (code === 'UND_ERR_SOCKET' && !(e as { cause?: unknown }).cause) return code
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

export function upstreamProblem(f: UpstreamFailure, requestId: string): ProblemBody {
  return {
    type: `https://gatehouse.dev/problems/upstream_${f.kind}`,
    title: f.title,
    status: f.status,
    detail: f.title,
    instance: `urn:gatehouse:request:${requestId}`,
  }
}
