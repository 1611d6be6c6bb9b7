// POST /oauth/token: RFC 6749 §4.4 client credentials, errors as §5.2. The client
// authenticates with Basic (§2.3.1, form-encoded id and secret) or with
// client_id/client_secret in the form body, never both (§2.3).
import type { FastifyReply, FastifyRequest } from 'fastify'
import { basicReadings, parseBasic } from '../accounts/basic-auth.js'
import type { Client } from '../accounts/clients.js'
import { atLeast, formatPermissions, isLevel, levelFor, type Level, type Permissions } from '../credentials/permissions.js'
import { clientIpOf } from './client-ip.js'
import { serviceOf, type ServiceContext } from './context.js'
import { basicChallenge, OAuthError } from './errors.js'
import { verifyThrottled } from './login-throttle.js'
import { signAccessToken } from './issue-jwt.js'
import { loginFailed, loginThrottled } from './login-events.js'

export type Form = Map<string, string[]>

/** The one answer to an unknown name or a wrong secret; introspection gives it for users too (#81). */
export const CLIENT_REFUSED = 'unknown name or wrong secret'
/** The one answer to a throttled attempt, for users and clients, known or not (issue 12: a 429 confirms nothing). */
export const THROTTLED = 'too many failed attempts; try again later'

/**
 * RFC 6749 §3.2 parameters arrive as application/x-www-form-urlencoded; repeats are kept to be refused.
 * A parameter sent without a value is treated as omitted (§3.2), as Swagger UI's forms send `scope=`.
 */
export function parseForm(body: string): Form {
  const out: Form = new Map()
  for (const [k, v] of new URLSearchParams(body)) {
    if (v === '') continue
    const list = out.get(k)
    if (list) list.push(v)
    else out.set(k, [v])
  }
  return out
}

/** One value or none; a repeated parameter is invalid_request (RFC 6749 §3.1). */
export function single(form: Form, name: string): string | undefined {
  const v = form.get(name)
  if (v && v.length > 1) throw new OAuthError('oauth_invalid_request', `${name} given more than once`)
  return v?.[0]
}

export async function authenticateClient(req: FastifyRequest, form: Form, ctx: ServiceContext): Promise<Client> {
  const basic = parseBasic(req.headers.authorization)
  const bodyId = single(form, 'client_id')
  const bodySecret = single(form, 'client_secret')
  if (basic === 'malformed') throw malformedClient(req, ctx, basicChallenge)
  if (basic !== 'absent' && (bodyId !== undefined || bodySecret !== undefined)) {
    throw new OAuthError('oauth_invalid_request', 'client credentials in both the Authorization header and the body')
  }
  const challenge = basic !== 'absent' ? basicChallenge : {}
  let id: string
  let secret: string[]
  if (basic !== 'absent') {
    const readings = basicReadings(basic)
    if (readings === null) throw malformedClient(req, ctx, basicChallenge)
    ;({ name: id, secrets: secret } = readings)
  } else if (bodyId !== undefined && bodySecret !== undefined) {
    id = bodyId
    secret = [bodySecret]
  } else {
    throw new OAuthError('oauth_invalid_client', 'client authentication required', basicChallenge)
  }
  if (/[\u0000-\u001f\u007f]/.test(id) || secret.some((s) => /[\u0000-\u001f\u007f]/.test(s))) {
    throw malformedClient(req, ctx, challenge, 'malformed client credentials')
  }
  const clients = serviceOf(ctx).clients
  const client = clients?.get(id)
  const r = await verifyThrottled(ctx.throttle, `client:${id}`, clientIpOf(req), () => ctx.now(), secret, client, (c) => c.secretHash, clients?.dummyHash)
  if (r === false) {
    loginFailed(ctx, req, { account: 'client', name: id }, client === undefined ? 'unknown_account' : 'wrong_secret')
    throw new OAuthError('oauth_invalid_client', CLIENT_REFUSED, challenge)
  }
  if ('retryAfter' in r) {
    loginThrottled(ctx, req, { account: 'client', name: id }, r.retryAfter)
    throw new OAuthError('oauth_too_many_attempts', THROTTLED, { 'retry-after': String(r.retryAfter) })
  }
  return r
}

/** Client credentials that cannot be read: logged and counted as a failed login without a name. */
function malformedClient(req: FastifyRequest, ctx: ServiceContext, challenge: Record<string, string>, description = 'malformed Basic credentials'): OAuthError {
  loginFailed(ctx, req, { account: 'client' }, 'malformed')
  return new OAuthError('oauth_invalid_client', description, challenge)
}

/** `scope` as space-separated api:level; it may only narrow what the client holds (RFC 6749 §3.3). */
function grantedScope(scope: string | undefined, client: Client): Permissions {
  if (scope === undefined) return client.permissions
  const out: Record<string, Level> = {}
  for (const token of scope.split(' ').filter(Boolean)) {
    const i = token.lastIndexOf(':')
    const api = token.slice(0, i)
    const level = token.slice(i + 1)
    if (i <= 0 || !isLevel(level) || !/^[A-Za-z0-9_.-]+$/.test(api)) throw new OAuthError('oauth_invalid_scope', `"${token}" is not api:level`)
    if (!atLeast(levelFor(client.permissions, api), level)) throw new OAuthError('oauth_invalid_scope', `the client may not hold ${token}`)
    out[api] = level
  }
  return Object.freeze(out)
}

export async function oauthToken(req: FastifyRequest<{ Body: string }>, reply: FastifyReply, ctx: ServiceContext) {
  const form = parseForm(req.body)
  const grant = single(form, 'grant_type')
  if (grant === undefined) throw new OAuthError('oauth_invalid_request', 'grant_type is required')
  const client = await authenticateClient(req, form, ctx)
  if (grant !== 'client_credentials') throw new OAuthError('oauth_unsupported_grant_type', 'only client_credentials is supported')
  const permissions = grantedScope(single(form, 'scope'), client)
  const svc = serviceOf(ctx)
  const now = Math.floor(ctx.now() / 1000)
  const ttl = Math.min(client.ttlSeconds, svc.maxTtlSeconds)
  const { token } = await signAccessToken(svc, { sub: client.clientId, clientId: client.clientId, permissions, exp: now + ttl }, now)
  ctx.metrics.credentialIssued('client_token')
  ctx.logger.info({ event: 'oauth_token_issued', client: client.clientId }, 'client credentials token issued')
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  return { access_token: token, token_type: 'Bearer' as const, expires_in: ttl, scope: formatPermissions(permissions) }
}
