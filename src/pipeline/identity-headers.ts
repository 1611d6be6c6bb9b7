// SPEC §4 and §3.8: the headers the upstream receives. Strip before set (STYLE
// habit 6): everything the caller could use to speak for Gatehouse is removed
// first, then Gatehouse's own headers are added, so nothing named in
// `Connection` can remove them (attack #56–#60).
import { formatPermissions, type Permissions } from '../credentials/permissions.js'
import type { Identity } from '../credentials/identity.js'
import { canonicalIp } from '../net/ip-address.js'
import { SPOOFABLE_HEADERS } from '../config/spoofable-headers.js'
import { isTraceparent } from './trace-context.js'

/** Compiled once per (re)load; opaque outside this module. */
export interface HeaderPlan {
  readonly __brand: 'HeaderPlan'
}

interface Plan extends HeaderPlan {
  /** Canonical names (lowercase, `_` -> `-`) that never reach the upstream. */
  readonly drop: ReadonlySet<string>
  readonly dropLengths: ReadonlySet<number>
  readonly prefix: string
  readonly host: string
  readonly names: Readonly<Record<'user' | 'actor' | 'method' | 'credentialId' | 'issuer' | 'permissions' | 'expires' | 'subjectType', string>>
}

export interface ForwardContext {
  readonly identity: Identity | null
  /** Effective permissions (credential ∩ user now); null on public APIs. */
  readonly permissions: Permissions | null
  /** `user` or `client` (X-Auth-Subject-Type); default user. */
  readonly subjectType?: 'user' | 'client' | null
  readonly clientIp: string
  /** The socket peer's address, appended to X-Forwarded-For when it is a trusted proxy. */
  readonly peerIp: string
  /** The socket peer is a trusted proxy, so its X-Forwarded-For chain is kept. */
  readonly peerTrusted: boolean
  readonly proto: 'http' | 'https'
  /** This request's id (trace-context.ts): the caller's X-Request-Id is replaced by it. */
  readonly requestId: string
}

// RFC 9110 §7.6.1 and RFC 9112 §9.6: meaningful for one connection only.
// `expect` too: Node answers 100-continue itself, and undici refuses the header.
const HOP_BY_HOP = [
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authorization', 'http2-settings', 'expect',
]
// SPEC §3.8; attack #52: a method or URL the upstream would obey instead of the one we authorised.
const OVERRIDES = [
  'x-http-method-override', 'x-http-method', 'x-method-override',
  'x-original-url', 'x-rewrite-url', 'x-original-uri', 'x-override-url',
  'x-forwarded-prefix', 'x-forwarded-path', 'x-forwarded-uri',
]
// attack #60: client-supplied addressing that we set ourselves. The other
// spoofable identity and address headers are the configured `removeHeaders`.
const FORWARDING = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'host']
// Set again by us: our request id, and the trace context only when well formed (trace-context.ts).
const TRACING = ['x-request-id', 'traceparent', 'tracestate']

export function compileHeaderPlan(opts: {
  prefix: string
  forwardAuthorization: boolean
  apiKeyHeaders: readonly string[]
  upstreamHost: string
  /** identityHeaders.removeHeaders (issue 13); default SPOOFABLE_HEADERS. */
  removeHeaders?: readonly string[]
}): HeaderPlan {
  const removed = (opts.removeHeaders ?? SPOOFABLE_HEADERS).map(canonicalName)
  const drop = new Set<string>([...HOP_BY_HOP, ...OVERRIDES, ...FORWARDING, ...TRACING, ...removed])
  if (!opts.forwardAuthorization) {
    drop.add('authorization')
    for (const h of opts.apiKeyHeaders) drop.add(canonicalName(h))
  }
  const p = opts.prefix
  const plan: Plan = {
    __brand: 'HeaderPlan',
    drop,
    dropLengths: new Set([...drop].map((n) => n.length)),
    prefix: canonicalName(p),
    host: opts.upstreamHost,
    names: Object.freeze({
      user: `${p}User`,
      actor: `${p}Actor`,
      method: `${p}Method`,
      credentialId: `${p}Credential-Id`,
      issuer: `${p}Issuer`,
      permissions: `${p}Permissions`,
      expires: `${p}Expires`,
      subjectType: `${p}Subject-Type`,
    }),
  }
  return Object.freeze(plan)
}

/** Headers for undici as a flat [name, value, …] list: the caller's, cleaned, then ours. */
export function buildUpstreamHeaders(plan: HeaderPlan, rawHeaders: readonly string[], ctx: ForwardContext): string[] {
  const p = plan as Plan
  let connectionNamed: Set<string> | null = null
  let clientHost: string | undefined
  let chain = ''
  // undefined: none; null: more than one line, which W3C Trace Context §3.2 makes invalid.
  let traceparent: string | null | undefined
  let tracestate: string[] | undefined
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    const n = name.length
    if (n === 10) {
      const lower = name.toLowerCase()
      if (lower === 'connection') connectionNamed = addConnectionTokens(connectionNamed, rawHeaders[i + 1] as string)
      else if (lower === 'tracestate') (tracestate ??= []).push(rawHeaders[i + 1] as string)
    } else if (n === 11 && name.toLowerCase() === 'traceparent') {
      traceparent = traceparent === undefined ? (rawHeaders[i + 1] as string) : null
    } else if (n === 4 && clientHost === undefined && name.toLowerCase() === 'host') {
      clientHost = rawHeaders[i + 1] as string
    } else if (ctx.peerTrusted && n === 15 && name.toLowerCase() === 'x-forwarded-for') {
      const v = (rawHeaders[i + 1] as string).trim()
      if (v !== '') chain = chain === '' ? v : `${chain}, ${v}`
    }
  }

  const out: string[] = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    if (!isDropped(p, name, connectionNamed)) out.push(name, rawHeaders[i + 1] as string)
  }

  const peer = ctx.peerTrusted ? (canonicalIp(ctx.peerIp) ?? ctx.clientIp) : ''
  out.push('X-Forwarded-For', ctx.peerTrusted ? (chain === '' ? peer : `${chain}, ${peer}`) : ctx.clientIp)
  out.push('X-Forwarded-Proto', ctx.proto)
  if (clientHost !== undefined && clientHost !== '') out.push('X-Forwarded-Host', clientHost)
  out.push('Host', p.host)
  out.push('X-Request-Id', ctx.requestId)
  if (typeof traceparent === 'string' && isTraceparent(traceparent)) {
    out.push('traceparent', traceparent)
    for (const v of tracestate ?? []) out.push('tracestate', v)
  }
  if (ctx.identity !== null) pushIdentity(out, p, ctx.identity, ctx.permissions, ctx.subjectType ?? 'user')
  return out
}

/** The §4 identity headers alone, as a flat [name, value, …] list: a decision's answer (SPEC §10). */
export function buildIdentityHeaders(plan: HeaderPlan, identity: Identity | null, permissions: Permissions | null, subjectType: 'user' | 'client' | null): string[] {
  const out: string[] = []
  if (identity !== null) pushIdentity(out, plan as Plan, identity, permissions, subjectType ?? 'user')
  return out
}

function isDropped(p: Plan, name: string, connectionNamed: ReadonlySet<string> | null): boolean {
  // Prefix first: compared in place, folding case and `_`, so X_Auth_User and
  // x-AUTH_user both go (attack #57; CVE-2025-64484).
  if (name.length >= p.prefix.length && startsWithCanonical(name, p.prefix)) return true
  if (connectionNamed === null && !p.dropLengths.has(name.length)) return false
  const canonical = canonicalName(name)
  return p.drop.has(canonical) || (connectionNamed !== null && connectionNamed.has(canonical))
}

function addConnectionTokens(set: Set<string> | null, value: string): Set<string> {
  const out = set ?? new Set<string>()
  for (const token of value.split(',')) {
    const t = token.trim()
    if (t !== '') out.add(canonicalName(t))
  }
  return out
}

/** Lowercase with `_` read as `-`: the name as Symfony, PHP, CGI and WSGI see it. */
function canonicalName(name: string): string {
  const lower = name.toLowerCase()
  return lower.indexOf('_') === -1 ? lower : lower.replaceAll('_', '-')
}

function startsWithCanonical(name: string, canonicalPrefix: string): boolean {
  for (let i = 0; i < canonicalPrefix.length; i++) {
    let c = name.charCodeAt(i)
    if (c >= 0x41 && c <= 0x5a) c += 0x20
    else if (c === 0x5f) c = 0x2d
    if (c !== canonicalPrefix.charCodeAt(i)) return false
  }
  return true
}

function pushIdentity(out: string[], p: Plan, id: Identity, permissions: Permissions | null, subjectType: 'user' | 'client'): void {
  out.push(p.names.user, encodeValue(id.user))
  // A client-credentials token and a user of the same name must never look alike upstream (issue 12).
  out.push(p.names.subjectType, subjectType)
  if (id.actor !== undefined && id.actor !== id.user) out.push(p.names.actor, encodeValue(id.actor))
  out.push(p.names.method, id.method)
  if (id.credentialId !== undefined) out.push(p.names.credentialId, encodeValue(id.credentialId))
  out.push(p.names.issuer, encodeValue(id.issuer))
  // No effective permissions known: say "none" rather than what the credential claims.
  out.push(p.names.permissions, permissions === null ? '' : formatPermissions(permissions))
  if (id.expiresAt !== undefined && Number.isFinite(id.expiresAt)) out.push(p.names.expires, String(Math.trunc(id.expiresAt)))
  // SPEC §9: a list becomes its elements, each encoded like every identity value, joined by `,`.
  for (const [name, value] of id.claimHeaders ?? []) out.push(name, typeof value === 'string' ? encodeValue(value) : value.map(encodeValue).join(','))
}

const ESCAPED: readonly string[] = Array.from({ length: 256 }, (_, b) => '%' + b.toString(16).toUpperCase().padStart(2, '0'))

/**
 * Identity values come from tokens, so anything but visible ASCII is
 * percent-encoded as UTF-8, and so is `%` (so the encoding is reversible), `,`
 * (SPEC §9: `alice, admin` must not read as a list of two users) and a
 * space at either end (RFC 9110 §5.5: it would be trimmed, making " admin" arrive
 * as "admin"). No value can add a header line or be refused by undici.
 */
export function encodeValue(value: string): string {
  const n = value.length
  let safe = true
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i)
    if (c < 0x20 || c > 0x7e || c === 0x25 || c === 0x2c || (c === 0x20 && (i === 0 || i === n - 1))) {
      safe = false
      break
    }
  }
  if (safe) return value
  let out = ''
  for (let i = 0; i < n; i++) {
    let c = value.charCodeAt(i)
    if (c > 0x20 && c < 0x7f && c !== 0x25 && c !== 0x2c) out += value[i]
    else if (c === 0x20 && i !== 0 && i !== n - 1) out += ' '
    else if (c < 0x80) out += ESCAPED[c] as string
    else if (c < 0x800) out += (ESCAPED[0xc0 | (c >> 6)] as string) + (ESCAPED[0x80 | (c & 63)] as string)
    else {
      const next = i + 1 < n ? value.charCodeAt(i + 1) : 0
      if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00)
        i++
        out += (ESCAPED[0xf0 | (c >> 18)] as string) + (ESCAPED[0x80 | ((c >> 12) & 63)] as string)
        out += (ESCAPED[0x80 | ((c >> 6) & 63)] as string) + (ESCAPED[0x80 | (c & 63)] as string)
      } else {
        // A lone surrogate keeps its own three bytes (WTF-8) rather than becoming
        // U+FFFD, so two different names never encode to the same value.
        out += (ESCAPED[0xe0 | (c >> 12)] as string) + (ESCAPED[0x80 | ((c >> 6) & 63)] as string) + (ESCAPED[0x80 | (c & 63)] as string)
      }
    }
  }
  return out
}
