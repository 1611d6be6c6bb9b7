// The pipeline has already resolved the client IP (SPEC §3.2) and the request's id
// when it hands a request to the token service; the service reads them from here.
import type { IncomingMessage } from 'node:http'
import type { FastifyRequest } from 'fastify'

const handedOver = new WeakMap<IncomingMessage, { readonly clientIp: string; readonly requestId: string }>()

export function setClientIp(req: IncomingMessage, clientIp: string, requestId: string): void {
  handedOver.set(req, { clientIp, requestId })
}

export function clientIpOf(req: FastifyRequest): string {
  return handedOver.get(req.raw)?.clientIp ?? req.raw.socket.remoteAddress ?? 'unknown'
}

/** The id the proxy gave the request (README "Operations"), for the service's own log lines. */
export function requestIdOf(req: FastifyRequest): string | undefined {
  return handedOver.get(req.raw)?.requestId
}
