// The pipeline has already resolved the client IP (SPEC §3.2) when it hands a
// request to the token service; the service reads it from here.
import type { IncomingMessage } from 'node:http'
import type { FastifyRequest } from 'fastify'

const clientIps = new WeakMap<IncomingMessage, string>()

export function setClientIp(req: IncomingMessage, ip: string): void {
  clientIps.set(req, ip)
}

export function clientIpOf(req: FastifyRequest): string {
  return clientIps.get(req.raw) ?? req.raw.socket.remoteAddress ?? 'unknown'
}
