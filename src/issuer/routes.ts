// Every SPEC §6 endpoint with its schema, in one place: the whole token-service API.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createApiKey, deleteApiKeys, listApiKeys, patchApiKey } from './api-keys.js'
import { serviceOf, type ServiceContext } from './context.js'
import { OAuthError } from './errors.js'
import { introspect, tokenInfo } from './introspect.js'
import { issueJwt } from './issue-jwt.js'
import { serverMetadata } from './metadata.js'
import { oauthToken } from './oauth-token.js'
import { JwtRevokeRequest, JwtRevokeResponse, revokeJwt } from './revoke-jwt.js'
import {
  ApiKeyCreated,
  ApiKeyCreateRequest,
  ApiKeyIds,
  ApiKeyPatchRequest,
  ApiKeyView,
  IntrospectForm,
  JwtRequest,
  JwtResponse,
  OAuthForm,
  JwksBody,
  ServerMetadata,
  TokenInfo,
  TokenResponse,
} from './schemas.js'
import { Type } from '@sinclair/typebox'
import { ok, RESPONSES } from './doc-responses.js'

type Security = { [scheme: string]: string[] }[]
const BASIC: Security = [{ BasicAuth: [] }]
const BASIC_OR_KEY: Security = [{ BasicAuth: [] }, { ApiKeyAuth: [] }]

/** Every SPEC §6 endpoint, in the order the OpenAPI document lists them. */
export function registerRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  registerJwtRoutes(app, ctx)
  registerApiKeyRoutes(app, ctx)
  registerOAuthRoutes(app, ctx)
  registerTokenInfoRoute(app, ctx)
  registerPublicDocuments(app, ctx)
}

/** JWTs: issued after Basic or an API key, revoked by jti. */
function registerJwtRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.post(
    '/v1/auth/jwt',
    {
      schema: {
        operationId: 'issueJwt',
        summary: 'Issue a JWT (Basic or API key; never a JWT)',
        tags: ['tokens'],
        security: BASIC_OR_KEY,
        body: JwtRequest,
        response: { 200: ok('the JWT', JwtResponse), ...RESPONSES.callerWithBody, ...RESPONSES.noSuchUser },
      },
    },
    (req: FastifyRequest<{ Body: JwtRequest }>) => issueJwt(req, ctx),
  )

  app.post(
    '/v1/auth/jwt/revoke',
    {
      schema: {
        operationId: 'revokeJwt',
        summary: 'Revoke one JWT by its jti, on every replica (admins only)',
        tags: ['tokens'],
        security: BASIC_OR_KEY,
        body: JwtRevokeRequest,
        response: { 200: ok('revoked (or already revoked, or expired)', JwtRevokeResponse), ...RESPONSES.callerWithBody },
      },
    },
    (req: FastifyRequest<{ Body: JwtRevokeRequest }>) => revokeJwt(req, ctx),
  )
}

/** API keys: created (shown once), listed, changed and revoked. */
function registerApiKeyRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.post(
    '/v1/auth/apikeys',
    {
      schema: {
        operationId: 'createApiKey',
        summary: 'Create an API key (shown once)',
        tags: ['api keys'],
        security: BASIC_OR_KEY,
        body: ApiKeyCreateRequest,
        response: { 201: ok('the new key: its secret is shown this once', ApiKeyCreated), ...RESPONSES.callerWithBody, ...RESPONSES.noSuchUser, ...RESPONSES.tooManyKeys },
      },
    },
    async (req: FastifyRequest<{ Body: ApiKeyCreateRequest }>, reply: FastifyReply) => {
      const created = await createApiKey(req, ctx)
      reply.code(201).header('cache-control', 'no-store')
      return created
    },
  )

  app.get(
    '/v1/auth/apikeys',
    {
      schema: {
        operationId: 'listApiKeys',
        summary: "List the caller's API keys (every key for admins); never a secret",
        tags: ['api keys'],
        security: BASIC,
        response: {
          200: ok("the caller's keys", Type.Object({
            keys: Type.Array(ApiKeyView),
            unreadable: Type.Optional(
              Type.Array(Type.Object({ id: Type.String(), problem: Type.String() }), {
                description: 'records the store holds but cannot show (never expected; reported rather than failing the list)',
              }),
            ),
          })),
          ...RESPONSES.caller,
        },
      },
    },
    (req) => listApiKeys(req, ctx),
  )

  app.patch(
    '/v1/auth/apikeys/:id',
    {
      schema: {
        operationId: 'patchApiKey',
        summary: 'Change description, enabled, ipFilter or expires of a key',
        tags: ['api keys'],
        security: BASIC,
        params: Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9]{12}$' }) }),
        body: ApiKeyPatchRequest,
        response: { 200: ok('the key as changed', ApiKeyView), ...RESPONSES.callerWithBody, ...RESPONSES.noSuchKey },
      },
    },
    (req: FastifyRequest<{ Params: { id: string }; Body: ApiKeyPatchRequest }>) => patchApiKey(req, ctx),
  )

  app.post(
    '/v1/auth/apikeys/delete',
    {
      schema: {
        operationId: 'revokeApiKeys',
        summary: 'Revoke API keys by id',
        tags: ['api keys'],
        security: BASIC,
        body: ApiKeyIds,
        response: { 200: ok('which ids were revoked and which the caller has no key of', Type.Object({ revoked: Type.Array(Type.String()), notFound: Type.Array(Type.String()) })), ...RESPONSES.callerWithBody },
      },
    },
    (req: FastifyRequest<{ Body: string[] }>) => deleteApiKeys(req, ctx),
  )
}

/** RFC 6749 client credentials and RFC 7662 introspection, POST only. */
function registerOAuthRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.post(
    '/oauth/token',
    {
      schema: {
        operationId: 'oauthToken',
        summary: 'OAuth2 client credentials (RFC 6749 §4.4)',
        tags: ['oauth'],
        security: [{ ClientBasicAuth: [] }, {}],
        consumes: ['application/x-www-form-urlencoded'],
        body: OAuthForm,
        response: { 200: ok('the access token (RFC 6749 §5.1)', TokenResponse), ...RESPONSES.oauth },
      },
      // The form is parsed by our own code (repeated parameters are errors); the schema documents it.
      validatorCompiler: () => () => true,
    },
    (req: FastifyRequest<{ Body: string }>, reply) => oauthToken(formBody(req), reply, ctx),
  )

  app.post(
    '/oauth/introspect',
    {
      schema: {
        operationId: 'introspectToken',
        summary: 'Token introspection (RFC 7662) for JWTs and API keys',
        tags: ['oauth'],
        security: [{ BasicAuth: [] }, { ClientBasicAuth: [] }],
        consumes: ['application/x-www-form-urlencoded'],
        body: IntrospectForm,
        response: { 200: ok('what the token is worth now; {"active": false} for anything not the caller\'s (RFC 7662 §2.2)', TokenInfo), ...RESPONSES.oauth },
      },
      validatorCompiler: () => () => true,
    },
    (req: FastifyRequest<{ Body: string }>, reply) => introspect(formBody(req), reply, ctx),
  )
  for (const url of ['/oauth/token', '/oauth/introspect']) {
    app.route({
      method: ['GET', 'PUT', 'PATCH', 'DELETE'],
      url,
      schema: { hide: true },
      handler: async (_req, reply) => {
        reply.header('allow', 'POST')
        throw new OAuthError('oauth_method_not_allowed', 'use POST with a form body')
      },
    })
  }
}

/** What a token the caller owns is worth now. */
function registerTokenInfoRoute(app: FastifyInstance, ctx: ServiceContext): void {
  app.get(
    '/v1/auth/token-info',
    {
      schema: {
        operationId: 'tokenInfo',
        summary: 'What a token the caller owns is worth now',
        tags: ['tokens'],
        security: BASIC,
        querystring: Type.Object({ token: Type.String({ minLength: 1, maxLength: 16384 }) }, { additionalProperties: false }),
        response: { 200: ok('what the token is worth now', TokenInfo), ...RESPONSES.caller },
      },
    },
    (req: FastifyRequest<{ Querystring: { token?: string } }>, reply) => tokenInfo(req, reply, ctx),
  )
}

/** The unauthenticated documents: RFC 8414 / OpenID metadata and the JWKS. */
function registerPublicDocuments(app: FastifyInstance, ctx: ServiceContext): void {
  for (const [doc, summary] of [
    ['oauth-authorization-server', 'Authorization server metadata (RFC 8414)'],
    ['openid-configuration', 'The same metadata at the OpenID discovery address'],
  ] as const) {
    app.get(
      `/.well-known/${doc}`,
      { schema: { summary, tags: ['oauth'], security: [], operationId: doc === 'openid-configuration' ? 'openidConfiguration' : 'authorizationServerMetadata', response: { 200: ok('the metadata document', ServerMetadata), ...RESPONSES.public } } },
      async (req, reply) => {
        reply.header('cache-control', 'public, max-age=300')
        return serverMetadata(req, ctx)
      },
    )
  }

  app.get(
    '/.well-known/jwks.json',
    { schema: { summary: 'Public keys of the signing key(s)', operationId: 'jwks', tags: ['tokens'], security: [], response: { 200: ok('the JWKS (RFC 7517): public members only', JwksBody), ...RESPONSES.public } } },
    async (_req, reply) => {
      reply.header('content-type', 'application/jwk-set+json').header('cache-control', 'public, max-age=300')
      return serviceOf(ctx).keys.jwks
    },
  )
}

/** The OAuth endpoints take only application/x-www-form-urlencoded (RFC 6749 §4.4.2). */
function formBody<T extends FastifyRequest<{ Body: string }>>(req: T): T {
  // Fastify also hands text/plain over as a string: only the form media type is a form.
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase()
  if (typeof req.body !== 'string' || type !== 'application/x-www-form-urlencoded') {
    throw new OAuthError('oauth_invalid_request', 'the body must be application/x-www-form-urlencoded')
  }
  return req
}
