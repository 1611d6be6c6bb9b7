// POST /v1/auth/jwt (SPEC §6) and the claims Gatehouse signs: iss, sub, aud, iat,
// exp, jti, permissions, and act (RFC 8693) when impersonating; typ at+jwt (RFC 9068).
import { randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import type { FastifyRequest } from 'fastify'
import { formatPermissions, type Permissions } from '../credentials/permissions.js'
import { LOGIN_CLIENT_ID } from '../credentials/verify-jwt.js'
import { authenticateCaller } from './caller.js'
import type { ServiceRuntime } from '../runtime/compile.js'
import { serviceOf, type ServiceContext } from './context.js'
import { ServiceError } from './errors.js'
import { boundedExpiry, effective, grantFor, lifetime, limitFor } from './grant.js'
import type { JwtRequest } from './schemas.js'

export interface AccessTokenClaims {
  readonly sub: string
  readonly permissions: Permissions
  readonly actor?: string | undefined
  readonly clientId?: string | undefined
  /** The API key the token is minted with (issue 12): the token never outlives or out-reaches it. */
  readonly parentKeyId?: string | undefined
  /** Unix seconds */
  readonly exp: number
}

export async function signAccessToken(svc: ServiceRuntime, c: AccessTokenClaims, nowSeconds: number): Promise<{ token: string; jti: string }> {
  const jti = randomUUID()
  // RFC 9068 §2.2: client_id always (`gatehouse` for logins, SPEC §12), scope beside permissions.
  const payload: Record<string, unknown> = {
    client_id: c.clientId ?? LOGIN_CLIENT_ID,
    scope: formatPermissions(c.permissions),
    permissions: c.permissions,
  }
  if (c.actor) payload.act = { sub: c.actor }
  if (c.parentKeyId) payload.parent_key_id = c.parentKeyId
  const token = await new SignJWT(payload)
    .setProtectedHeader({ alg: svc.keys.current.alg, kid: svc.keys.current.kid, typ: 'at+jwt' })
    .setIssuer(svc.name)
    .setSubject(c.sub)
    .setAudience(svc.audience)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(c.exp)
    .setJti(jti)
    .sign(svc.keys.current.privateKey)
  return { token, jti }
}

/** POST /v1/auth/jwt: Basic or an API key, never a JWT (SPEC §6). */
export async function issueJwt(req: FastifyRequest<{ Body: JwtRequest }>, ctx: ServiceContext) {
  const caller = await authenticateCaller(req, ctx, { apiKey: 'any' })
  const body = req.body
  const subject = grantFor(caller, body.targetUser, body.permissions, ctx)
  const svc = serviceOf(ctx)
  const now = Math.floor(ctx.now() / 1000)
  const max = limitFor(subject, { seconds: svc.maxTtlSeconds, key: 'issuer.jwtMaxTtl' }, ctx)
  const ttl = lifetime(body.expires, Math.min(svc.defaultTtlSeconds, max.seconds), max) as number
  const exp = boundedExpiry(caller, now + ttl) as number
  if (exp <= now) throw new ServiceError('forbidden', 'the API key used has expired')
  const parentKeyId = caller.via === 'apikey' ? caller.record.id : undefined
  const claims = { sub: subject.user.name, actor: subject.actor, permissions: effective(body.permissions), exp, parentKeyId }
  const { token, jti } = await signAccessToken(svc, claims, now)
  ctx.metrics.credentialIssued('jwt')
  ctx.logger.info({ event: 'jwt_issued', jti, user: subject.user.name, actor: subject.actor, via: caller.via, parentKeyId }, 'JWT issued')
  return { token, tokenType: 'Bearer' as const, expiresAt: new Date(exp * 1000).toISOString(), expiresIn: exp - now }
}
