// SPEC §10: a decision request names another request — the one a front proxy
// (nginx, Caddy, Traefik, Envoy) is about to forward — by its method and URI.
// Here it becomes the RequestFacts that decide() reads, so the named request
// takes exactly the pipeline of proxied traffic (§3 steps 1–7). Nothing of the
// decision request itself is trusted but its socket peer.
import type { DecideRuntime, RequestFacts } from './decide.js'
import type { DenyReason } from '../outcome/catalogue.js'
import { canonicalIp } from '../net/ip-address.js'
import { createIpSet, type IpSet } from '../net/ip-filter.js'

/** Compiled once per (re)load from `forwardAuth`. */
export interface ForwardAuthRuntime {
  readonly path: string
  readonly callers: IpSet
  /** decide()'s runtime for decisions: see compileForwardAuth. */
  readonly runtime: DecideRuntime
}

/**
 * `headers`: `{path}` (or `{path}?…`), the request named by X-Forwarded-Method/-Uri
 * or X-Original-Method/-URI. `prefix`: `{path}/<original target>` with the original
 * method (Envoy ext_authz `path_prefix`). null: not a decision request.
 */
export type DecisionForm = 'headers' | 'prefix'

export type DecisionAsk =
  | { readonly ok: true; readonly facts: RequestFacts }
  | { readonly ok: false; readonly reason: DenyReason; readonly clientIp: string; readonly detail: string }

export function compileForwardAuth(
  fa: { readonly path: string; readonly trustedCallers: readonly string[] },
  trustedProxies: readonly string[],
  base: DecideRuntime,
): ForwardAuthRuntime {
  return Object.freeze({
    path: fa.path,
    callers: createIpSet(fa.trustedCallers),
    runtime: Object.freeze({
      ...base,
      // §12: trusted callers are trusted proxies for their decision requests.
      trustedProxies: createIpSet([...trustedProxies, ...fa.trustedCallers]),
      hasTrustedProxies: true,
      // The token service answers only requests sent to Gatehouse itself; behind a front
      // proxy its prefix is just another path, so an unmatched one is refused (fail closed).
      servicePrefix: null,
      // The front proxy answers preflights (README "Behind your proxy"): a decision answers only whether to forward.
      corsAnswers: false,
    }),
  })
}

/** One startsWith per request when decision mode is on; the query of `{path}?…` is ignored. */
export function decisionForm(rawTarget: string, path: string): DecisionForm | null {
  if (!rawTarget.startsWith(path)) return null
  if (rawTarget.length === path.length) return 'headers'
  const c = rawTarget.charCodeAt(path.length)
  return c === 0x3f ? 'headers' : c === 0x2f ? 'prefix' : null
}

// X-Original-URL (an absolute URL) is what ingress-nginx's auth-url sends beside X-Original-Method.
const NAMES = ['x-forwarded-method', 'x-forwarded-uri', 'x-original-method', 'x-original-uri', 'x-original-url'] as const
type Named = Partial<Record<(typeof NAMES)[number], string>>

export function readDecisionRequest(req: RequestFacts, form: DecisionForm, fa: ForwardAuthRuntime): DecisionAsk {
  const peer = canonicalIp(req.peerIp) ?? req.peerIp
  if (!fa.callers.has(peer)) return fail('caller_untrusted', peer, 'only forwardAuth.trustedCallers may ask for decisions')

  const named: Named = {}
  let given = 0
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string
    if (name.length < 14 || name.length > 18) continue
    const lower = name.toLowerCase() as (typeof NAMES)[number]
    if (!NAMES.includes(lower)) continue
    // A front proxy sets each of these once; two lines mean someone appended to ours.
    if (named[lower] !== undefined) return fail('request_malformed', peer, `${name} given more than once`)
    named[lower] = req.rawHeaders[i + 1] as string
    given++
  }

  if (form === 'prefix') {
    // The path and the method already name the request: a header naming one too
    // could only come from the client (fail closed rather than pick one).
    if (given > 0) return fail('request_malformed', peer, 'a {path}/<uri> decision request must not carry X-Forwarded-Method/-Uri or X-Original-Method/-URI')
    return { ok: true, facts: { ...req, rawTarget: req.rawTarget.slice(fa.path.length) } }
  }

  const url = named['x-original-url']
  const fromUrl = url === undefined ? undefined : targetOfUrl(url)
  if (fromUrl === null) return fail('request_malformed', peer, 'X-Original-URL is not an absolute http(s) URL')
  const method = agree(named['x-forwarded-method'], named['x-original-method'])
  const uri = agree(agree(named['x-forwarded-uri'], named['x-original-uri']), fromUrl)
  if (method === CONFLICT || uri === CONFLICT) {
    return fail('request_malformed', peer, 'X-Forwarded-* and X-Original-* name different requests')
  }
  if (method === undefined && uri === undefined) return fail('request_malformed', peer, 'the decision request names no method and no URI')
  if (method === undefined || uri === undefined) return fail('request_malformed', peer, `the decision request names no ${method === undefined ? 'method' : 'URI'}`)
  if (!isToken(method)) return fail('request_malformed', peer, 'the named method is not an HTTP method token')
  return { ok: true, facts: { ...req, method, rawTarget: uri } }
}

const CONFLICT = Symbol('conflict')

function agree(a: string | undefined | typeof CONFLICT, b: string | undefined): string | undefined | typeof CONFLICT {
  if (a === undefined || a === CONFLICT) return a === CONFLICT ? a : b
  if (b === undefined || a === b) return a
  return CONFLICT
}

/**
 * `scheme://host/path?query` -> `/path?query`. ingress-nginx builds it as
 * `$scheme://$http_host$request_uri`, and nginx refuses a Host holding `/`, so the
 * first `/` after `://` starts the original request-target. null: not that shape.
 */
function targetOfUrl(url: string): string | null {
  const m = /^https?:\/\//i.exec(url)
  if (!m) return null
  const slash = url.indexOf('/', m[0].length)
  return slash === -1 ? null : url.slice(slash)
}

// RFC 9110 §5.6.2 tchar.
const TCHAR = new Uint8Array(128)
for (const ch of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[ch.charCodeAt(0)] = 1

function isToken(s: string): boolean {
  if (s.length === 0 || s.length > 32) return false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 128 || TCHAR[c] !== 1) return false
  }
  return true
}

function fail(reason: DenyReason, clientIp: string, detail: string): DecisionAsk {
  return { ok: false, reason, clientIp, detail }
}
