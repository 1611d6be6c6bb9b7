// Failed and throttled logins to the token service, logged and counted in one place
// (README "Admin port"): who tried (the user name, client id or API key
// id as given, cut to a bounded length), why it failed, from which address, and the
// request's id. Never the password, secret or key: callers pass none here.
import type { FastifyRequest } from 'fastify'
import { parseApiKey } from '../credentials/api-key.js'
import type { LoginAccount, LoginFailure } from '../telemetry/metrics.js'
import { clientIpOf, requestIdOf } from './client-ip.js'
import type { ServiceContext } from './context.js'

/** Longest name logged: a Basic user name may be 8 KiB. */
const MAX_NAME = 128

/** Who tried: the name given for a user or client, or the API key presented (only its id is ever read). */
export type Attempt = { readonly account: 'user' | 'client'; readonly name?: string } | { readonly account: 'api_key'; readonly key?: string }

export function loginFailed(ctx: ServiceContext, req: FastifyRequest, who: Attempt, reason: LoginFailure): void {
  ctx.metrics.loginFailure(who.account, reason)
  ctx.logger.info({ event: 'login_failed', reqId: requestIdOf(req), ...named(who), reason, clientIp: clientIpOf(req) }, 'token service login failed')
}

export function loginThrottled(ctx: ServiceContext, req: FastifyRequest, who: Attempt & { account: 'user' | 'client' }, retryAfter: number): void {
  ctx.metrics.loginThrottled(who.account)
  ctx.logger.info({ event: 'login_throttled', reqId: requestIdOf(req), ...named(who), retryAfter, clientIp: clientIpOf(req) }, 'token service login throttled')
}

function named(who: Attempt): { account: LoginAccount; user?: string; clientId?: string; credentialId?: string } {
  if (who.account === 'api_key') {
    // A key's id is no secret (it is listed and logged on success); its secret part is never read here.
    const id = who.key === undefined ? undefined : parseApiKey(who.key)?.id
    return id === undefined ? { account: 'api_key' } : { account: 'api_key', credentialId: id }
  }
  if (who.name === undefined) return { account: who.account }
  const name = who.name.length > MAX_NAME ? who.name.slice(0, MAX_NAME) : who.name
  return who.account === 'user' ? { account: 'user', user: name } : { account: 'client', clientId: name }
}
