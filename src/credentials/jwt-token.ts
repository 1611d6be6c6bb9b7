// What a token says, read before and after its signature is checked: the cheap
// structural prechecks that run before any key lookup, the mapping of jose's
// errors to short details, and the claims -> Identity checks jose leaves to us.
import { decodeJwt, decodeProtectedHeader, errors, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions, type ProtectedHeaderParameters } from 'jose'
import type { ClaimHeader, Identity } from './identity.js'
import { claimAt, permissionsFromClaims, type PermissionSource } from './claim-permissions.js'
import type { RemoteJwks } from './jwt-keys.js'

export type JwtResult =
  | { ok: true; identity: Identity }
  | { ok: false; reason: 'token_invalid' | 'token_expired' | 'credential_malformed'; detail: string }

export interface CompiledIssuer {
  readonly issuer: string
  readonly algorithms: ReadonlySet<string>
  readonly getKey: JWTVerifyGetKey
  /** Everything jwtVerify needs except currentDate, built once. */
  readonly options: Readonly<JWTVerifyOptions>
  readonly sources: readonly PermissionSource[]
  /** The claim naming the user (SPEC §9 userClaim; default sub). */
  readonly userClaim: string
  /** Longest exp - now accepted, in seconds, leeway not included (SPEC §12 maxLifetime). */
  readonly maxLifetimeSeconds: number
  /** [claim path, header name] (SPEC §9 claimHeaders). */
  readonly claimHeaders: readonly (readonly [readonly string[], string])[]
  /** The token service's own issuer: its `client_id: gatehouse` marks a login, not an OAuth2 client (SPEC §12). */
  readonly own: boolean
  readonly remote: RemoteJwks | null
  readonly poolKey: string | undefined
}

/** `client_id` of tokens minted by password or API-key login (SPEC §12). */
export const LOGIN_CLIENT_ID = 'gatehouse'

export type Failure = Extract<JwtResult, { ok: false }>

const MAX_KID_LENGTH = 256
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
const LONE_SURROGATE = /\p{Cs}/u

export const invalid = (detail: string): Failure => ({ ok: false, reason: 'token_invalid', detail })
export const malformed = (detail: string): Failure => ({ ok: false, reason: 'credential_malformed', detail })

/** Structure, issuer and alg, from the unverified token: no key lookup, no signature math. */
export interface Prechecked {
  readonly ok: true
  readonly issuer: CompiledIssuer
  /** Decoded by jose (decodeProtectedHeader, decodeJwt), not yet verified. */
  readonly header: ProtectedHeaderParameters
  readonly claims: JWTPayload
}

export function precheck(token: string, issuers: ReadonlyMap<string, CompiledIssuer>, maxLength: number): Prechecked | Failure {
  if (typeof token !== 'string' || token.length > maxLength || !COMPACT_JWS.test(token)) {
    return malformed('not a compact JWS')
  }
  // Header and claims are JSON objects in UTF-8 (RFC 8725 §3.7): base64url of a
  // leading `{` starts with `e`; a BOM, UTF-16 or leading space would not (attack #29).
  if (token.charCodeAt(0) !== 0x65 || token.charCodeAt(token.indexOf('.') + 1) !== 0x65) {
    return malformed('header or claims are not a JSON object')
  }
  let header: ReturnType<typeof decodeProtectedHeader>
  let claims: JWTPayload
  try {
    header = decodeProtectedHeader(token)
    claims = decodeJwt(token)
  } catch {
    return malformed('header or claims cannot be decoded')
  }
  const issuer = typeof claims.iss === 'string' ? issuers.get(claims.iss) : undefined
  if (issuer === undefined) return invalid('unknown issuer')
  // RFC 8725 §3.1: only the issuer's own algorithms; `none` is never among them.
  if (typeof header.alg !== 'string' || !issuer.algorithms.has(header.alg)) return invalid('algorithm not allowed')
  if (header.kid !== undefined && (typeof header.kid !== 'string' || header.kid.length > MAX_KID_LENGTH)) {
    return invalid('kid malformed')
  }
  return { ok: true, issuer, header, claims }
}

const JOSE_DETAIL: Readonly<Record<string, string>> = {
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'signature verification failed',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'signature verification failed',
  ERR_JWKS_NO_MATCHING_KEY: 'no key matches the token',
  ERR_JOSE_ALG_NOT_ALLOWED: 'algorithm not allowed',
  ERR_JWS_INVALID: 'malformed JWS',
  ERR_JWT_INVALID: 'malformed claims set',
  ERR_JOSE_NOT_SUPPORTED: 'unsupported token',
}

export function joseFailure(err: unknown): Failure {
  if (err instanceof errors.JWTExpired) return { ok: false, reason: 'token_expired', detail: 'token expired' }
  if (err instanceof errors.JWTClaimValidationFailed) {
    return invalid(`${err.claim} ${err.reason === 'missing' ? 'missing' : 'check failed'}`)
  }
  if (err instanceof errors.JOSEError) return invalid(JOSE_DETAIL[err.code] ?? 'token rejected')
  return invalid('token rejected')
}

/** Checks jose leaves to us, then builds the Identity (SPEC §4, RFC 8693 `act`). */
export function toIdentity(claims: JWTPayload, issuer: CompiledIssuer, nowSec: number, leeway: number): JwtResult {
  for (const claim of ['exp', 'nbf', 'iat'] as const) {
    const value = claims[claim]
    if (value !== undefined && !Number.isFinite(value)) return invalid(`${claim} not a finite number`)
  }
  const exp = claims.exp as number
  if (claims.iat !== undefined && claims.iat > nowSec + leeway) return invalid('iat in the future')
  if (claims.nbf !== undefined && exp < claims.nbf) return invalid('exp before nbf')
  // SPEC §12: a token valid for years is refused, measured from now.
  if (exp > nowSec + issuer.maxLifetimeSeconds + leeway) return invalid('exp beyond the issuer\'s maxLifetime')
  const user = Object.hasOwn(claims, issuer.userClaim) ? claims[issuer.userClaim] : undefined
  if (typeof user !== 'string' || user === '') return invalid(`${issuer.userClaim} missing`)
  // A lone surrogate (`\ud800`) is valid JSON but no user name (RFC 8725 §3.7; attack #29).
  if (LONE_SURROGATE.test(user)) return invalid(`${issuer.userClaim} malformed`)
  const actor = actorOf(claims.act)
  if (actor === null) return invalid('act malformed')
  const granted = permissionsFromClaims(claims, issuer.sources)
  if (!granted.ok) return invalid(granted.detail)
  const permissions = granted.permissions
  const clientId = typeof claims.client_id === 'string' && claims.client_id !== '' ? claims.client_id : undefined
  const claimHeaders = claimHeaderValues(claims, issuer.claimHeaders)
  const identity: Identity = {
    user,
    actor: actor !== user ? actor : undefined,
    method: 'jwt',
    credentialId: typeof claims.jti === 'string' && claims.jti !== '' ? claims.jti : undefined,
    issuer: issuer.issuer,
    permissions,
    expiresAt: exp,
    // RFC 9068 §2.2: client_id names the OAuth2 client of a client-credentials token.
    clientId: issuer.own && clientId === LOGIN_CLIENT_ID ? undefined : clientId,
    // Only tokens of our own token service are held to it (pipeline/authority.ts).
    parentKeyId: typeof claims.parent_key_id === 'string' && claims.parent_key_id !== '' ? claims.parent_key_id : undefined,
    ...(claimHeaders.length > 0 ? { claimHeaders } : {}),
  }
  return { ok: true, identity: Object.freeze(identity) }
}

/** `act.sub` (RFC 8693 §4.1); undefined when absent, null when malformed. */
function actorOf(act: unknown): string | undefined | null {
  if (act === undefined) return undefined
  if (act === null || typeof act !== 'object' || Array.isArray(act)) return null
  const sub = (act as { sub?: unknown }).sub
  return typeof sub === 'string' && sub !== '' && !LONE_SURROGATE.test(sub) ? sub : null
}

/** SPEC §9 claimHeaders: strings, numbers and booleans, or lists of them; anything else sets no header. */
function claimHeaderValues(claims: JWTPayload, wanted: CompiledIssuer['claimHeaders']): ClaimHeader[] {
  const out: ClaimHeader[] = []
  for (const [path, header] of wanted) {
    const value = claimAt(claims, path)
    if (isScalar(value)) out.push(Object.freeze([header, String(value)] as const))
    else if (Array.isArray(value) && value.every(isScalar)) out.push(Object.freeze([header, Object.freeze(value.map(String))] as const))
  }
  return out
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))
}
