// SPEC §3, in order; the first failure answers and nothing reaches the upstream.
import { authenticate, type Credentials } from './authenticate.js'
import { isPermitted } from './authorize.js'
import { resolveClientIp } from './client-ip.js'
import type { DenyReason } from '../outcome/catalogue.js'
import type { Admitted, Allowed, Decision, Denied, Preflight } from './decision.js'
import { canonicalIp } from '../net/ip-address.js'
import type { IpFilter, IpSet } from '../net/ip-filter.js'
import type { ApiMatcher, CompiledApi } from './match-api.js'
import { normalizeTarget } from './normalize-path.js'
import type { ReadingCheck } from './path-readings.js'
import type { QueryFilter } from './query-filter.js'
import type { ClientDirectory } from '../accounts/clients.js'
import type { AuthorityChain } from './authority.js'
import type { UserDirectory } from '../accounts/users.js'
import { requiredLevel } from '../credentials/permissions.js'
import { decideCors, type CorsHeaders } from './cors.js'
import type { Identity } from '../credentials/identity.js'

export interface RequestFacts {
  readonly method: string
  /** The request-target as received (node's req.url). */
  readonly rawTarget: string
  readonly rawHeaders: readonly string[]
  readonly peerIp: string
}

/** What decide() reads: built once per (re)load by runtime/compile.ts. */
export interface DecideRuntime {
  readonly ipFilter: IpFilter
  readonly trustedProxies: IpSet
  readonly hasTrustedProxies: boolean
  readonly apis: ApiMatcher
  /** Issue 13: the readings a legacy upstream could make of a path (pathReadings:). */
  readonly readings: ReadingCheck
  /** Removes upstream.removeQueryParams from the forwarded query. */
  readonly queryFilter: QueryFilter
  readonly unmatched: 'deny' | 'authenticated'
  readonly credentials: Credentials
  readonly users: UserDirectory | null
  readonly clients: ClientDirectory | null
  readonly ownIssuer: string | null
  /** Re-checks the chain of authority behind a credential on every use (issue 12). */
  readonly authority: AuthorityChain
  /** The token service's path prefix (SPEC §6), or null when it is off. */
  readonly servicePrefix: string | null
  readonly now: () => number
  /** limits.maxHeaderCount × 2: the longest rawHeaders list taken. */
  readonly maxRawHeaders: number
  /** limits.maxBodyBytes, for paths that no API names. */
  readonly maxBodyBytes: number
  /** apis[].cors applies (preflights answered, headers added); off for forwardAuth decisions, where the front proxy answers. */
  readonly corsAnswers: boolean
}

export async function decide(req: RequestFacts, rt: DecideRuntime): Promise<Decision> {
  // §3.8: TRACE would echo our identity headers back; CONNECT would open a tunnel.
  if (req.method === 'TRACE' || req.method === 'CONNECT') return deny('method_not_allowed')
  // node keeps every header line in rawHeaders but only the first maxHeadersCount in
  // req.headers: refuse rather than let the two views differ (attack #66).
  if (req.rawHeaders.length > rt.maxRawHeaders) return deny('headers_too_large')

  const target = normalizeTarget(req.rawTarget)
  if (!target.ok) return deny('path_invalid', { detail: target.detail })

  const head = scanHeaders(req.rawHeaders)
  if (head.hostCount > 1) return deny('request_malformed', { path: target.path, detail: 'more than one Host header' }) // RFC 9112 §3.2
  if (head.host !== undefined && !isHostValue(head.host)) return deny('request_malformed', { path: target.path, detail: 'Host is not host[:port]' })

  const peerTrusted = rt.hasTrustedProxies && rt.trustedProxies.has(req.peerIp)
  const clientIp = peerTrusted
    ? resolveClientIp(req.peerIp, head.forwardedFor, rt.trustedProxies, false)
    : (canonicalIp(req.peerIp) ?? req.peerIp)
  if (clientIp === null) return deny('client_address_invalid', { path: target.path, detail: 'the right-most untrusted X-Forwarded-For entry is not an address' })
  if (!rt.ipFilter.allows(clientIp)) return deny('ip_denied', { path: target.path, clientIp })

  // The token service authenticates its own callers (SPEC §6): routed here, before any credential is read.
  if (rt.servicePrefix !== null && isUnder(target.path, rt.servicePrefix)) {
    return { ok: true, route: 'service', api: null, path: target.path, target: target.path + target.query, clientIp, peerTrusted }
  }

  const api = rt.apis.match(target.path)
  if (!api && rt.unmatched === 'deny') return deny('no_api', { path: target.path, clientIp })
  const reading = rt.readings(target.path, api, rt.apis)
  if (reading !== null) return deny('path_ambiguous', { path: target.path, api, clientIp, detail: `the path reads as another API under the ${reading} reading` })
  // What the upstream gets: the query without the parameters it must not read (identityHeaders.removeQueryParams).
  const upstream: Admitted = { path: target.path, target: target.path + rt.queryFilter(target.query), clientIp, peerTrusted }
  // A preflight carries no credential by design: answered here for an API with a cors policy, never forwarded.
  const cors = api?.cors && rt.corsAnswers ? decideCors(api.cors, { method: req.method, ...head.cors }) : null
  if (cors?.preflight && api) return preflight(upstream, api, cors.allowed, cors.headers, cors.detail)
  // From here on every answer, refusals included, carries the API's CORS headers.
  const at = { path: target.path, api, clientIp, cors: cors ? cors.headers : null }
  if (api?.public) {
    if (head.contentLength > api.maxBodyBytes) return deny('body_too_large', at)
    return allow({ ...upstream, api, identity: null, permissions: null, subjectType: null, cors: at.cors })
  }

  const auth = await authenticate(req.rawHeaders, rt.credentials, rt.now(), target.query, clientIp)
  if (!auth.ok) return deny(auth.reason, { ...at, detail: auth.detail })
  const identity = auth.identity
  // From here the credential is verified: a refusal's log line names whose it was.
  const known = { ...at, identity }
  if (identity.ipFilter && !identity.ipFilter.allows(clientIp)) return deny('credential_ip_denied', known)

  const chain = await rt.authority.check(identity, clientIp, Math.floor(rt.now() / 1000))
  if (!chain.ok) return deny(chain.reason, { ...known, detail: chain.detail })
  const permissions = chain.permissions
  if (api && !isPermitted(permissions, api.name, req.method)) {
    return deny('permission_insufficient', { ...known, detail: `needs ${requiredLevel(req.method)} on ${api.name}` })
  }
  // A Content-Length over the limit is refused before a byte is read; chunked bodies are counted as they stream.
  if (head.contentLength > (api ? api.maxBodyBytes : rt.maxBodyBytes)) return deny('body_too_large', known)
  return allow({ ...upstream, api, identity, permissions, subjectType: chain.subjectType, cors: at.cors })
}

interface HeadFacts {
  hostCount: number
  host: string | undefined
  forwardedFor: string[]
  contentLength: number
  /** The headers pipeline/cors.ts reads. */
  cors: { origin: string | undefined; requestMethod: string | undefined; requestHeaders: string | undefined }
}

function scanHeaders(raw: readonly string[]): HeadFacts {
  let hostCount = 0
  let host: string | undefined
  let contentLength = 0
  const forwardedFor: string[] = []
  const cors: HeadFacts['cors'] = { origin: undefined, requestMethod: undefined, requestHeaders: undefined }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    // Cheap length filter before the case-insensitive compare.
    if (name.length === 4 && name.toLowerCase() === 'host') {
      hostCount++
      host = raw[i + 1] as string
    } else if (name.length === 15 && name.toLowerCase() === 'x-forwarded-for') forwardedFor.push(raw[i + 1] as string)
    // node has refused every Content-Length that is not one run of digits (RFC 9110 §8.6).
    else if (name.length === 14 && name.toLowerCase() === 'content-length') contentLength = Number(raw[i + 1])
    else if (name.length === 6 && name.toLowerCase() === 'origin') cors.origin = raw[i + 1]
    else if (name.length === 29 && name.toLowerCase() === 'access-control-request-method') cors.requestMethod = raw[i + 1]
    else if (name.length === 30 && name.toLowerCase() === 'access-control-request-headers') cors.requestHeaders = raw[i + 1]
  }
  return { hostCount, host, forwardedFor, contentLength, cors }
}

// RFC 3986 §3.2.2 reg-name: unreserved, pct-encoded and sub-delims.
const REG_NAME = new Uint8Array(128)
for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%!$&'()*+,;=") REG_NAME[ch.charCodeAt(0)] = 1

/**
 * RFC 9112 §3.2: Host = uri-host [ ":" port ]; not empty (RFC 9110 §4.2.1: an http URI
 * has a host). No userinfo (`a@evil`), path or space: the upstream gets it as
 * X-Forwarded-Host and may build URLs from it (attack #50). Routing never reads it.
 */
function isHostValue(v: string): boolean {
  const n = v.length
  let i = 0
  if (n === 0 || v.charCodeAt(0) === 0x3a) return false
  if (v.charCodeAt(0) === 0x5b) {
    const close = v.indexOf(']')
    if (close < 2) return false
    for (i = 1; i < close; i++) {
      const c = v.charCodeAt(i)
      if (!((c >= 0x30 && c <= 0x3a) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) || c === 0x2e)) return false
    }
    i = close + 1
  } else {
    for (; i < n; i++) {
      const c = v.charCodeAt(i)
      if (c === 0x3a) break
      if (c >= 0x80 || REG_NAME[c] !== 1) return false
    }
  }
  if (i === n) return true
  if (v.charCodeAt(i) !== 0x3a) return false
  for (i++; i < n; i++) {
    const c = v.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return false
  }
  return true
}

function allow(grant: Omit<Allowed, 'ok' | 'route'>): Allowed {
  return { ok: true, route: 'upstream', ...grant }
}

/** `/_gatehouse` and `/_gatehouse/…`, not `/_gatehouseX`. */
function isUnder(path: string, prefix: string): boolean {
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47)
}

function preflight(admitted: Admitted, api: CompiledApi, allowed: boolean, cors: CorsHeaders, detail: string): Preflight {
  return { ok: true, route: 'preflight', ...admitted, api, allowed, cors, detail }
}

/** What is known when a request is refused: each step adds what it found (for the log line and the answer's CORS headers). */
interface Known {
  readonly path?: string
  readonly api?: CompiledApi | null
  readonly clientIp?: string
  readonly identity?: Identity
  readonly detail?: string | undefined
  readonly cors?: CorsHeaders | null
}

function deny(reason: DenyReason, at: Known = {}): Denied {
  return {
    ok: false,
    reason,
    api: at.api ?? null,
    clientIp: at.clientIp ?? null,
    detail: at.detail,
    path: at.path ?? null,
    identity: at.identity ?? null,
    cors: at.cors ?? null,
  }
}
