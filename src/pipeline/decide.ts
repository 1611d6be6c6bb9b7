// SPEC §3, in order; the first failure answers and nothing reaches the upstream.
import { authenticate, type Credentials } from './authenticate.js'
import { effectivePermissions, isPermitted } from './authorize.js'
import { resolveClientIp } from './client-ip.js'
import type { Decision, DenyReason, Identity } from './decision.js'
import { canonicalIp, type IpFilter, type IpSet } from './ip-filter.js'
import type { ApiMatcher, CompiledApi } from './match-api.js'
import { normalizeTarget } from './normalize-path.js'
import type { ClientDirectory } from '../accounts/clients.js'
import type { UserDirectory } from '../accounts/users.js'
import type { Permissions } from '../credentials/permissions.js'

export interface RequestFacts {
  readonly method: string
  /** The request-target as received (node's req.url). */
  readonly rawTarget: string
  readonly rawHeaders: readonly string[]
  readonly peerIp: string
}

/** What decide() reads: built once per (re)load by config/compile.ts. */
export interface DecideRuntime {
  readonly ipFilter: IpFilter
  readonly trustedProxies: IpSet
  readonly hasTrustedProxies: boolean
  readonly apis: ApiMatcher
  readonly unmatched: 'deny' | 'authenticated'
  readonly credentials: Credentials
  readonly users: UserDirectory | null
  readonly clients: ClientDirectory | null
  readonly ownIssuer: string | null
  /** The token service's path prefix (SPEC §6), or null when it is off. */
  readonly servicePrefix: string | null
  readonly now: () => number
}

export type Allowed = Extract<Decision, { ok: true }> & {
  readonly target: string
  readonly peerTrusted: boolean
  /** For the token service, which authenticates its callers itself, not for the upstream. */
  readonly service: boolean
}
export type Denied = Extract<Decision, { ok: false }>

export async function decide(req: RequestFacts, rt: DecideRuntime): Promise<Allowed | Denied> {
  // §3.8: TRACE would echo our identity headers back; CONNECT would open a tunnel.
  if (req.method === 'TRACE' || req.method === 'CONNECT') return deny('method_not_allowed', null, null)

  const target = normalizeTarget(req.rawTarget)
  if (!target.ok) return deny('path_invalid', null, null, target.detail)

  const head = scanHeaders(req.rawHeaders)
  if (head.hostCount > 1) return deny('request_malformed', null, null, 'more than one Host header') // RFC 9112 §3.2

  const peerTrusted = rt.hasTrustedProxies && rt.trustedProxies.has(req.peerIp)
  const clientIp = peerTrusted
    ? resolveClientIp(req.peerIp, head.forwardedFor, rt.trustedProxies, false)
    : (canonicalIp(req.peerIp) ?? req.peerIp)
  if (!rt.ipFilter.allows(clientIp)) return deny('ip_denied', null, clientIp)

  if (rt.servicePrefix !== null && isUnder(target.path, rt.servicePrefix)) {
    return allow(target.path, target.query, null, null, null, clientIp, peerTrusted, true)
  }

  const api = rt.apis.match(target.path)
  if (api?.public) return allow(target.path, target.query, api, null, null, clientIp, peerTrusted)
  if (!api && rt.unmatched === 'deny') return deny('no_api', null, clientIp)

  const auth = await authenticate(req.rawHeaders, rt.credentials, rt.now())
  if (!auth.ok) return deny(auth.reason, api, clientIp, auth.detail)
  const identity = auth.identity
  if (identity.ipFilter && !identity.ipFilter.allows(clientIp)) return deny('credential_ip_denied', api, clientIp)

  const permissions = effectivePermissions(identity, rt.users, rt.ownIssuer, rt.clients)
  if (api && !isPermitted(permissions, api.name, req.method)) {
    return deny('permission_insufficient', api, clientIp, `needs ${req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS' ? 'r' : 'rw'} on ${api.name}`)
  }
  return allow(target.path, target.query, api, identity, permissions, clientIp, peerTrusted)
}

function scanHeaders(raw: readonly string[]): { hostCount: number; forwardedFor: string[] } {
  let hostCount = 0
  const forwardedFor: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    // Cheap length filter before the case-insensitive compare.
    if (name.length === 4 && name.toLowerCase() === 'host') hostCount++
    else if (name.length === 15 && name.toLowerCase() === 'x-forwarded-for') forwardedFor.push(raw[i + 1] as string)
  }
  return { hostCount, forwardedFor }
}

function allow(
  path: string,
  query: string,
  api: CompiledApi | null,
  identity: Identity | null,
  permissions: Permissions | null,
  clientIp: string,
  peerTrusted: boolean,
  service = false,
): Allowed {
  return { ok: true, path, target: path + query, api, identity, permissions, clientIp, peerTrusted, service }
}

/** `/_gatehouse` and `/_gatehouse/…`, not `/_gatehouseX`. */
function isUnder(path: string, prefix: string): boolean {
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47)
}

function deny(reason: DenyReason, api: CompiledApi | null, clientIp: string | null, detail?: string): Denied {
  return { ok: false, reason, api, clientIp, detail }
}
