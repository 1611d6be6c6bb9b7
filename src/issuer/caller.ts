// Who is calling the token service (SPEC §6): a user by Basic auth, or an API key.
// A JWT never authenticates here (403: a JWT must not mint credentials, RFC 8725
// §3.12). Failed Basic logins are throttled per account and per client IP, and an
// unknown user costs the same hash work as a wrong password (attack #81).
import type { FastifyRequest } from 'fastify'
import { parseBasic } from '../accounts/basic-auth.js'
import type { User } from '../accounts/users.js'
import type { Permissions } from '../credentials/permissions.js'
import { verifyApiKey } from '../keystore/verify-api-key.js'
import type { ApiKeyRecord } from '../keystore/key-store.js'
import { basicChallenge, ServiceError } from './errors.js'
import { serviceOf, type ServiceContext } from './context.js'
import { clientIpOf } from './client-ip.js'
import { verifyThrottled } from './login-throttle.js'
import { loginFailed, loginThrottled } from './login-events.js'

export type Caller =
  | { readonly via: 'basic'; readonly user: User; readonly permissions: Permissions }
  /** An API key: `permissions` is the key's, capped by its user now. */
  | { readonly via: 'apikey'; readonly user: User; readonly permissions: Permissions; readonly record: ApiKeyRecord }

export interface CallerRules {
  /** Whether an API key may authenticate this call: any key, only an admin user's key, or none. */
  readonly apiKey: 'any' | 'admin' | 'never'
}

export async function authenticateCaller(req: FastifyRequest, ctx: ServiceContext, rules: CallerRules): Promise<Caller> {
  // The proxy's own extractor (SPEC §3.5): the same headers, the same "exactly one" rule.
  const found = ctx.runtime().credentials.extract(req.raw.rawHeaders)
  switch (found.kind) {
    case 'ambiguous':
      throw new ServiceError('invalid_body', 'send exactly one credential')
    case 'jwt':
      throw JWT_NOT_ACCEPTED
    case 'apikey':
      return apiKeyCaller(found.key, req, ctx, rules)
    case 'malformed':
      if (found.scheme === 'bearer') throw JWT_NOT_ACCEPTED
      if (found.apiKey) {
        if (rules.apiKey === 'never') throw API_KEY_REFUSED
        loginFailed(ctx, req, { account: 'api_key' }, 'key_malformed')
        throw new ServiceError('unauthenticated', 'API key invalid')
      }
      if (found.scheme === 'basic') return basicCaller(found.authorization, req, ctx)
  }
  throw new ServiceError('unauthenticated', 'authenticate with Basic (user and password)', basicChallenge)
}

const JWT_NOT_ACCEPTED = new ServiceError('jwt_not_accepted', 'a JWT cannot be used here: authenticate with Basic or an API key')
const API_KEY_REFUSED = new ServiceError('forbidden', 'an API key cannot be used here: authenticate with Basic')

async function basicCaller(authorization: string | undefined, req: FastifyRequest, ctx: ServiceContext): Promise<Caller> {
  const parsed = parseBasic(authorization)
  if (parsed === 'absent' || parsed === 'malformed') {
    loginFailed(ctx, req, { account: 'user' }, 'malformed')
    throw new ServiceError('unauthenticated', 'malformed Basic credentials', basicChallenge)
  }
  const user = await checkPassword(parsed.name, parsed.secret, req, ctx)
  return { via: 'basic', user, permissions: user.permissions }
}

/** Shared by Basic callers and OAuth-style user checks: throttle, verify, count, log. */
export async function checkPassword(name: string, secret: string | readonly string[], req: FastifyRequest, ctx: ServiceContext): Promise<User> {
  const users = serviceOf(ctx).users
  const user = users?.get(name)
  const r = await verifyThrottled(ctx.throttle, name, clientIpOf(req), () => ctx.now(), secret, user, (u) => u.passwordHash, users?.dummyHash)
  if (r === false) {
    loginFailed(ctx, req, { account: 'user', name }, user === undefined ? 'unknown_account' : 'wrong_secret')
    throw new ServiceError('unauthenticated', 'unknown user or wrong password', basicChallenge)
  }
  if ('retryAfter' in r) {
    loginThrottled(ctx, req, { account: 'user', name }, r.retryAfter)
    throw new ServiceError('too_many_attempts', 'too many failed logins; try again later', { 'retry-after': String(r.retryAfter) })
  }
  return r
}

async function apiKeyCaller(key: string, req: FastifyRequest, ctx: ServiceContext, rules: CallerRules): Promise<Caller> {
  if (rules.apiKey === 'never') throw API_KEY_REFUSED
  const result = await verifyApiKey(key, ctx.store, Math.floor(ctx.now() / 1000))
  if (!result.ok) {
    if (result.reason === 'store_unavailable') throw new ServiceError('store_unavailable', 'the key store is unavailable', { 'retry-after': '1' })
    loginFailed(ctx, req, { account: 'api_key', key }, result.reason)
    throw new ServiceError('unauthenticated', 'API key invalid')
  }
  const { record, identity } = result
  const ip = clientIpOf(req)
  if (identity.ipFilter && !identity.ipFilter.allows(ip)) {
    loginFailed(ctx, req, { account: 'api_key', key }, 'credential_ip_denied')
    throw new ServiceError('forbidden', 'client address not allowed for this key')
  }
  // The same chain check as the proxy's: user, impersonator and parent keys as they are now.
  const chain = await ctx.runtime().authority.check(identity, ip, Math.floor(ctx.now() / 1000))
  if (!chain.ok) {
    if (chain.reason === 'store_unavailable') throw new ServiceError('store_unavailable', 'the key store is unavailable', { 'retry-after': '1' })
    loginFailed(ctx, req, { account: 'api_key', key }, chain.reason)
    if (chain.reason === 'credential_ip_denied') throw new ServiceError('forbidden', 'client address not allowed for this key')
    throw new ServiceError('unauthenticated', 'API key invalid')
  }
  const users = serviceOf(ctx).users
  const user = users ? users.get(record.user) : { name: record.user, passwordHash: '', permissions: record.permissions, admin: false, canImpersonate: false }
  if (!user) {
    loginFailed(ctx, req, { account: 'api_key', key }, 'authority_revoked')
    throw new ServiceError('unauthenticated', 'API key invalid')
  }
  if (rules.apiKey === 'admin' && !user.admin) throw new ServiceError('forbidden', 'only an admin user\'s API key may do this; use Basic')
  return { via: 'apikey', user, record, permissions: chain.permissions }
}
