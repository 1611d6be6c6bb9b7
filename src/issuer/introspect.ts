// POST /oauth/introspect (RFC 7662) and GET /v1/auth/token-info: what a JWT or API
// key is worth *now*. Both require authentication (RFC 7662 §2.1); anything
// expired, revoked, unknown or not the caller's is just `{"active": false}` with
// no other member (§2.2), whatever `token_type_hint` says.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { basicReadings, parseBasic } from '../accounts/basic-auth.js'
import { parseApiKey } from '../credentials/api-key.js'
import { formatPermissions } from '../credentials/permissions.js'
import { verifyApiKey } from '../keystore/verify-api-key.js'
import type { Identity } from '../credentials/identity.js'
import { LOGIN_CLIENT_ID } from '../credentials/verify-jwt.js'
import { authenticateCaller, checkPassword } from './caller.js'
import { serviceOf, type ServiceContext } from './context.js'
import { OAuthError, ServiceError } from './errors.js'
import { authenticateClient, CLIENT_REFUSED, parseForm, single, THROTTLED } from './oauth-token.js'

type Owner = { kind: 'user'; name: string; admin: boolean } | { kind: 'client'; id: string; canIntrospect: boolean }

const INACTIVE = Object.freeze({ active: false as const })

async function identityOf(token: string, ctx: ServiceContext): Promise<Identity | null> {
  const now = ctx.now()
  if (parseApiKey(token)) {
    const r = await verifyApiKey(token, ctx.store, Math.floor(now / 1000))
    return r.ok ? r.identity : null
  }
  const r = await ctx.runtime().jwt.verify(token)
  if (!r.ok) return null
  // A JWT revoked by its jti (POST /v1/auth/jwt/revoke) is not active (RFC 7662 §2.2).
  const jti = r.identity.credentialId
  return jti !== undefined && ctx.store.isJwtRevoked(jti, Math.floor(now / 1000)) ? null : r.identity
}

function owns(owner: Owner, id: Identity): boolean {
  // SPEC §11: a resource server (canIntrospect) asks about any token; other clients about their own.
  if (owner.kind === 'client') return owner.canIntrospect || id.clientId === owner.id
  return owner.admin || id.user === owner.name || id.actor === owner.name
}

async function describe(token: string, owner: Owner, ctx: ServiceContext) {
  const identity = await identityOf(token, ctx)
  if (!identity || !owns(owner, identity)) return null
  // The proxy's own chain check (pipeline/authority.ts), so the two always agree; no
  // address: a parent key's ipFilter is judged per request, not here.
  const chain = await ctx.runtime().authority.check(identity, null, Math.floor(ctx.now() / 1000))
  if (!chain.ok) return null
  return { identity, permissions: chain.permissions, subjectType: chain.subjectType }
}

export async function introspect(req: FastifyRequest<{ Body: string }>, reply: FastifyReply, ctx: ServiceContext) {
  const form = parseForm(req.body)
  const token = single(form, 'token')
  reply.header('cache-control', 'no-store')
  const owner = await introspectionCaller(req, form, ctx)
  if (!token) throw new OAuthError('oauth_invalid_request', 'token is required')
  const found = await describe(token, owner, ctx)
  if (!found) return INACTIVE
  const { identity: id, permissions, subjectType } = found
  return {
    active: true,
    sub: id.user,
    subject_type: subjectType,
    username: id.user,
    ...(id.actor ? { act: { sub: id.actor } } : {}),
    ...(id.clientId ? { client_id: id.clientId } : loginClient(id, ctx)),
    iss: id.issuer,
    ...(id.credentialId ? { jti: id.credentialId } : {}),
    ...(id.expiresAt !== undefined ? { exp: id.expiresAt } : {}),
    ...(id.parentKeyId ? { parent_key_id: id.parentKeyId } : {}),
    token_type: id.method === 'jwt' ? 'Bearer' : 'ApiKey',
    scope: formatPermissions(permissions),
    permissions,
  }
}

/** SPEC §12: our tokens minted by login carry client_id `gatehouse` (RFC 9068 §2.2), and say so here too. */
function loginClient(id: Identity, ctx: ServiceContext): { client_id?: string } {
  return id.method === 'jwt' && id.issuer === ctx.runtime().ownIssuer ? { client_id: LOGIN_CLIENT_ID } : {}
}

/** A user (Basic) or an OAuth client (Basic or form); a user name is tried first. */
async function introspectionCaller(req: FastifyRequest, form: Map<string, string[]>, ctx: ServiceContext): Promise<Owner> {
  const basic = parseBasic(req.headers.authorization)
  const readings = typeof basic === 'object' ? basicReadings(basic) : null
  if (readings !== null && serviceOf(ctx).users?.get(readings.name)) {
    try {
      const user = await checkPassword(readings.name, readings.secrets, req, ctx)
      return { kind: 'user', name: user.name, admin: user.admin }
    } catch (err) {
      // Worded as for an unknown name (a client, below), so the answer does not tell user names apart (#81).
      if (err instanceof ServiceError) throw err.status === 429 ? new OAuthError('oauth_too_many_attempts', THROTTLED, err.headers) : new OAuthError('oauth_invalid_client', CLIENT_REFUSED, err.headers)
      throw err
    }
  }
  if ((req.headers.authorization ?? '').toLowerCase().startsWith('bearer ')) {
    throw new OAuthError('oauth_invalid_client', 'authenticate with Basic (a user or a client), not a bearer token')
  }
  const client = await authenticateClient(req, form, ctx)
  return { kind: 'client', id: client.clientId, canIntrospect: client.canIntrospect }
}

export async function tokenInfo(req: FastifyRequest<{ Querystring: { token?: string } }>, reply: FastifyReply, ctx: ServiceContext) {
  const caller = await authenticateCaller(req, ctx, { apiKey: 'never' })
  reply.header('cache-control', 'no-store')
  const token = req.query.token
  if (!token) throw new ServiceError('invalid_body', 'the token query parameter is required')
  const found = await describe(token, { kind: 'user', name: caller.user.name, admin: caller.user.admin }, ctx)
  if (!found) return INACTIVE
  const { identity: id, permissions, subjectType } = found
  return {
    active: true,
    user: id.user,
    subject_type: subjectType,
    ...(id.actor ? { actor: id.actor } : {}),
    method: id.method,
    ...(id.credentialId ? { credential_id: id.credentialId } : {}),
    ...(id.parentKeyId ? { parent_key_id: id.parentKeyId } : {}),
    issuer: id.issuer,
    expire_time: id.expiresAt === undefined ? null : new Date(id.expiresAt * 1000).toISOString(),
    permissions,
  }
}
