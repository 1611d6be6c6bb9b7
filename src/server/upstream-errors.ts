// undici failures -> the upstream_* rows of outcome/catalogue.ts (SPEC §2 upstream
// timeouts): 502 or 504. These are not auth refusals, so they are no DenyReason.
import { OUTCOMES, type UpstreamCode } from '../outcome/catalogue.js'

export type UpstreamFailure = { code: UpstreamCode; status: number; kind: 'connect' | 'timeout' | 'reset' | 'other' }

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'])
const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL'])
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'])

export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const code = errorCode(err)
  if (code && TIMEOUT_CODES.has(code)) return failure('timeout')
  if (code && CONNECT_CODES.has(code)) return failure('connect')
  if (code && RESET_CODES.has(code)) return failure('reset')
  return failure('other')
}

function failure(kind: UpstreamFailure['kind']): UpstreamFailure {
  const code: UpstreamCode = `upstream_${kind}`
  return { code, status: OUTCOMES[code].status, kind }
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
