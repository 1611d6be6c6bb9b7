// POST /v1/auth/jwt/revoke (issue 4, SPEC §6 "admin: … revoke JWTs"): one issued JWT
// refused from now on, before it expires, on every replica within a second. The
// deny list holds its jti until the token's own `exp` plus the verification
// leeway — after that jose refuses the token anyway — so the list only ever
// holds tokens still alive.
import { Type, type Static } from '@sinclair/typebox'
import { decodeJwt } from 'jose'
import type { FastifyRequest } from 'fastify'
import { isJti } from '../keystore/revoked-jwts.js'
import { authenticateCaller } from './caller.js'
import { serviceOf, type ServiceContext } from './context.js'
import { ServiceError } from './errors.js'

// A deny-list entry never outlives this (an `exp` further out is refused, not stored for years).
const MAX_AHEAD_SECONDS = 366 * 24 * 3600

export const JwtRevokeRequest = Type.Object(
  {
    jti: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: '^[\\x21-\\x7e]+$', description: 'the `jti` claim of the token' })),
    exp: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "the token's `exp` (Unix seconds), with jti; default: now + issuer.jwtMaxTtl, the longest a token of this service lives",
      }),
    ),
    token: Type.Optional(Type.String({ minLength: 1, maxLength: 16384, description: 'the token itself, instead of jti and exp' })),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'either {jti, exp?} or {token}',
    examples: [{ jti: '0b4c8a9e-7d2f-4f5e-9a3b-1c2d3e4f5a6b', exp: 1767225600 }],
  },
)
export type JwtRevokeRequest = Static<typeof JwtRevokeRequest>

export const JwtRevokeResponse = Type.Object({
  jti: Type.String(),
  revokedUntil: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'when the entry is forgotten (the token is refused anyway by then); null when the token had already expired',
  }),
})

/**
 * Admins (Basic, or an admin user's API key; never a JWT) revoke any JWT; anyone else
 * only, by the token itself, one issued to them or that they minted acting for someone
 * else (issue 12: an impersonator can take back what it handed out).
 */
export async function revokeJwt(req: FastifyRequest<{ Body: JwtRevokeRequest }>, ctx: ServiceContext) {
  const caller = await authenticateCaller(req, ctx, { apiKey: 'admin' })
  if (!caller.user.admin) {
    const token = req.body.token
    const verified = token === undefined ? null : await ctx.runtime().jwt.verify(token)
    const id = verified?.ok ? verified.identity : null
    const own = id !== null && id.issuer === serviceOf(ctx).name && (id.user === caller.user.name || id.actor === caller.user.name)
    if (!own) throw new ServiceError('forbidden', 'only an admin may revoke JWTs other than their own (send the token itself)')
  }
  const { jti, exp } = await target(req.body, ctx)
  const now = Math.floor(ctx.now() / 1000)
  const until = exp + ctx.runtime().config.jwt.leewaySeconds
  if (until <= now) return { jti, revokedUntil: null }
  await ctx.store.revokeJwt(jti, until)
  ctx.logger.info({ event: 'jwt_revoked', jti, by: caller.user.name, until }, 'JWT revoked')
  return { jti, revokedUntil: new Date(until * 1000).toISOString() }
}

async function target(body: JwtRevokeRequest, ctx: ServiceContext): Promise<{ jti: string; exp: number }> {
  const now = Math.floor(ctx.now() / 1000)
  if (body.token !== undefined) {
    if (body.jti !== undefined || body.exp !== undefined) throw new ServiceError('invalid_body', 'send either token, or jti and exp')
    const verified = await ctx.runtime().jwt.verify(body.token)
    // An expired token needs no entry; anything else must be a token the proxy would accept.
    if (!verified.ok && verified.reason !== 'token_expired') throw new ServiceError('invalid_body', 'token is not one Gatehouse accepts')
    const claims = verified.ok ? { jti: verified.identity.credentialId, exp: verified.identity.expiresAt } : decodeJwt(body.token)
    if (!isJti(claims.jti)) throw new ServiceError('invalid_body', 'the token has no usable jti claim')
    return { jti: claims.jti, exp: typeof claims.exp === 'number' ? Math.floor(claims.exp) : now }
  }
  if (body.jti === undefined) throw new ServiceError('invalid_body', 'jti (or token) is required')
  const exp = body.exp ?? now + serviceOf(ctx).maxTtlSeconds
  if (exp > now + MAX_AHEAD_SECONDS) throw new ServiceError('invalid_body', 'exp is more than a year ahead')
  return { jti: body.jti, exp }
}
