// SPEC §11, §12: the token service describes itself to standard OAuth2 clients
// (RFC 8414 authorization-server metadata, and the same document at the OpenID
// discovery address), listing only what it really offers: no authorization
// endpoint, no grant it does not serve.
import type { FastifyRequest } from 'fastify'
import type { TLSSocket } from 'node:tls'
import { serviceOf, type ServiceContext } from './context.js'

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post']

/**
 * Where the service's URLs start: `issuer.name` itself when it is a URL (it should end
 * with the prefix), else the request's scheme and host with the prefix.
 */
export function serviceBaseUrl(req: FastifyRequest, ctx: ServiceContext): string {
  const svc = serviceOf(ctx)
  if (/^https?:\/\//.test(svc.name)) return svc.name.replace(/\/+$/, '')
  const scheme = (req.raw.socket as TLSSocket).encrypted ? 'https' : 'http'
  return `${scheme}://${req.headers.host ?? 'localhost'}${svc.prefix}`
}

export function serverMetadata(req: FastifyRequest, ctx: ServiceContext) {
  const svc = serviceOf(ctx)
  const base = serviceBaseUrl(req, ctx)
  const algs = [...new Set([svc.keys.current.alg, ...svc.keys.algorithms])]
  return {
    issuer: svc.name,
    token_endpoint: `${base}/oauth/token`,
    token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    introspection_endpoint: `${base}/oauth/introspect`,
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    jwks_uri: `${base}/.well-known/jwks.json`,
    grant_types_supported: ['client_credentials'],
    // RFC 8414 §2 requires the member; there is no authorization endpoint, so no response type.
    response_types_supported: [],
    // RFC 9068 access tokens, signed with these algorithms.
    access_token_signing_alg_values_supported: algs,
    service_documentation: `${base}/docs`,
  }
}
