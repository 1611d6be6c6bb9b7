// The token service (SPEC §6) on the traffic port under `issuer.prefix`. A Fastify
// app that never listens: the proxy hands it the requests decide() routed here
// (serverFactory gives us Fastify's request handler), so the service sits behind
// the same path normalisation and global IP filter as everything else.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { http } from '../net/node-http.js'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify'
import { KeyExistsError, StoreUnavailableError } from '../keystore/key-store.js'
import { installBrowserGuard } from './browser-guard.js'
import type { ServiceContext } from './context.js'
import { OAuthError, ServiceError } from './errors.js'
import { answer, type Answer } from '../outcome/answer.js'
import { OUTCOMES } from '../outcome/catalogue.js'
import { registerRoutes } from './routes.js'

const DOCS_TITLE = 'Gatehouse token service'
// A gate, drawn for the docs page's tab.
const FAVICON = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path fill="#2f4f4f" d="M1 15V6l7-5 7 5v9h-3V8H4v7z"/></svg>',
)

export interface TokenService {
  handle(req: IncomingMessage, res: ServerResponse): void
  close(): Promise<void>
}

export async function createTokenService(prefix: string, ctx: ServiceContext): Promise<TokenService> {
  let dispatch: ((req: IncomingMessage, res: ServerResponse) => void) | null = null
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    routerOptions: { caseSensitive: true, ignoreTrailingSlash: false },
    serverFactory: (handler) => {
      dispatch = handler
      return http.createServer()
    },
    // Unknown fields are refused, never silently dropped; types are never coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  })
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) =>
    done(null, body),
  )

  // Before any route is registered: encapsulated route contexts inherit these at registration.
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof OAuthError) return send(reply, answer(err.code, { detail: err.description, headers: err.headers }))
    if (err instanceof ServiceError) return send(reply, answer(err.code, { detail: err.detail, headers: err.headers }))
    if (err instanceof StoreUnavailableError) return send(reply, answer('store_unavailable', { detail: 'the key store is unavailable' }))
    if (err instanceof KeyExistsError) return send(reply, answer('conflict', { detail: 'try again' }))
    if (err.validation) {
      const first = err.validation[0]
      const extra = (first?.params as { additionalProperty?: string } | undefined)?.additionalProperty
      const detail = extra !== undefined ? `${err.validationContext ?? 'body'}: unknown field "${extra}"` : err.message
      return send(reply, answer(req.url.includes('/oauth/') ? 'oauth_invalid_request' : 'invalid_body', { detail }))
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return send(reply, answer('body_too_large', { detail: 'the request body is too large' }))
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return send(reply, answer('unsupported_media_type', { detail: 'use application/json' }))
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.statusCode === 400) {
      return send(reply, answer('invalid_body', { detail: 'the body is not valid JSON' }))
    }
    ctx.logger[OUTCOMES.internal.logLevel]({ err: { name: err.name, message: err.message, code: err.code } }, 'token service error')
    return send(reply, answer('internal', { detail: 'internal error' }))
  })
  app.setNotFoundHandler((_req, reply) => send(reply, answer('not_found', { detail: 'no such endpoint' })))
  installBrowserGuard(app)

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: DOCS_TITLE,
        version: '1',
        license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
        description:
          'Obtain and manage credentials for the APIs behind Gatehouse: JWTs after Basic auth, API keys shown once, OAuth2 client credentials, introspection. Authorize with BasicAuth (a user of the users file) or ApiKeyAuth, then try each endpoint.',
      },
      // Paths carry the prefix: the server is this origin, wherever Gatehouse is reached.
      servers: [{ url: '/', description: 'this Gatehouse' }],
      components: {
        securitySchemes: {
          BasicAuth: { type: 'http', scheme: 'basic', description: 'a user of the users file' },
          ApiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'an API key' },
          ClientBasicAuth: { type: 'http', scheme: 'basic', description: 'an OAuth2 client id and secret' },
        },
      },
    },
  })
  // The page is the service's own: its title and icon, no framework logo (BaseLayout has no top bar).
  await app.register(swaggerUi, {
    routePrefix: `${prefix}/docs`,
    logo: { type: 'image/svg+xml', content: FAVICON },
    theme: { title: DOCS_TITLE, favicon: [{ filename: 'favicon.svg', rel: 'icon', sizes: 'any', type: 'image/svg+xml', content: FAVICON }] },
    uiConfig: { persistAuthorization: false, layout: 'BaseLayout' },
  })
  await app.register(
    async (scoped) => {
      registerRoutes(scoped, ctx)
      scoped.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
    },
    { prefix },
  )

  await app.ready()
  const handler = dispatch as ((req: IncomingMessage, res: ServerResponse) => void) | null
  if (!handler) throw new Error('fastify did not hand over its request handler')
  return {
    handle: handler,
    close: () => app.close(),
  }
}

function send(reply: FastifyReply, a: Answer) {
  return reply.code(a.status).headers(a.headers).send(a.body)
}
