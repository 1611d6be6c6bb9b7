// Issue 13: the token service's answers as a browser may meet them.
// - Nothing it answers is cached (RFC 6749 §5.1: answers that carry credentials
//   are `no-store`), unless a route says otherwise (the JWKS document).
// - Nothing it answers can be framed (/docs included): frame-ancestors 'none'
//   and X-Frame-Options DENY, so no clickjacking of the Swagger UI.
// - No cross-site request may change anything: a browser attaches cached Basic
//   credentials (there are no cookies) to a cross-site form post, so unsafe
//   methods from another site are refused before authentication, read from
//   Sec-Fetch-Site, or Origin where a browser sends no Sec-Fetch-Site. Requests
//   without either header (curl, SDKs, servers) are not browsers and pass.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ServiceError } from './errors.js'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export function installBrowserGuard(app: FastifyInstance): void {
  app.addHook('onRequest', async (req: FastifyRequest) => {
    if (SAFE_METHODS.has(req.method)) return
    const why = crossSiteReason(req)
    if (why !== null) throw new ServiceError('forbidden', `cross-site request refused: ${why}`)
  })
  app.addHook('onSend', async (_req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
    const csp = reply.getHeader('content-security-policy')
    reply.header('content-security-policy', typeof csp === 'string' && csp !== '' ? `${csp}; frame-ancestors 'none'` : "frame-ancestors 'none'")
    reply.header('x-frame-options', 'DENY')
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    return payload
  })
}

/** Why a request came from another site's page, or null when it did not. */
export function crossSiteReason(req: { headers: Record<string, string | string[] | undefined> }): string | null {
  const site = req.headers['sec-fetch-site']
  if (site !== undefined) {
    // Fetch Metadata: `none` is the user's own navigation, `same-origin` this origin's page.
    return site === 'same-origin' || site === 'none' ? null : `Sec-Fetch-Site: ${String(site)}`
  }
  const origin = req.headers.origin
  if (origin === undefined) return null
  const host = req.headers.host
  if (typeof origin !== 'string' || typeof host !== 'string') return 'Origin'
  let originHost: string
  try {
    originHost = new URL(origin).host // `null` (sandboxed frames, data: pages) does not parse
  } catch {
    return 'Origin: null'
  }
  return originHost.toLowerCase() === host.toLowerCase() ? null : 'Origin of another site'
}
