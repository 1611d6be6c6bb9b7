// SPEC §5 JWT: verifies a bearer JWT against the key source of the issuer it names,
// with that issuer's algorithms, audience, typ and the configured leeway, and turns
// it into an Identity. Cheap checks run first, so garbage and floods cost little and
// a disallowed alg never reaches a key lookup or a JWKS fetch (security-cases #100).
import {
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  type ProtectedHeaderParameters,
} from 'jose'
import type { IssuerConfig } from '../config/schema.js'
import type { ClaimHeader, Identity } from './identity.js'
import { parseDuration } from '../config/duration.js'
import { claimAt, claimPath, compilePermissionSources, permissionsFromClaims, type PermissionSource } from './claim-permissions.js'
import {
  compileKeySource,
  JWKS_DEFAULTS,
  type JwksStatus,
  type OwnKeys,
  type Problem,
  type RemoteJwks,
} from './jwt-keys.js'
import { verifyJwtSync } from './sync-verify.js'
import type { JwksPool } from './jwks-pool.js'

export type JwtResult =
  | { ok: true; identity: Identity }
  | { ok: false; reason: 'token_invalid' | 'token_expired' | 'credential_malformed'; detail: string }

export interface JwtVerifier {
  /** Never throws; every failure is a JwtResult with a short detail that never contains the token. */
  verify(token: string): Promise<JwtResult>
  /** Resolves once every remote JWKS has had its first fetch attempt, successful or not. */
  ready(): Promise<void>
  /** Refetches every remote JWKS now (SIGHUP, tests); resolves when all attempts end. */
  refreshNow(): Promise<void>
  /** Stops background refreshes and aborts fetches under way; call on reload and shutdown. */
  close(): void
  /** One entry per issuer with a remote JWKS, for metrics and readiness. */
  stats(): ({ issuer: string } & JwksStatus)[]
  /**
   * Whether the remote keys were loaded once: those of every discovery issuer (SPEC §12),
   * and with `all` those of every remote issuer (config jwt.waitForKeys).
   */
  keysLoaded(all: boolean): boolean
  /** Pool keys of the remote caches this verifier uses (the pool keeps them across reloads). */
  readonly poolKeys: readonly string[]
}

export interface JwtVerifierOptions {
  leewaySeconds: number
  /** Clock in ms; also drives the JWKS cooldown and backoff. Default Date.now. */
  now?: () => number
  ownKeys?: OwnKeys
  /** Where secretEnv is looked up; default process.env. */
  env?: NodeJS.ProcessEnv
  /** Base for a relative publicKeyFile (the config loader normally resolves it already). */
  baseDir?: string
  /** JWKS fetch timeout; default 5000 (security-cases #94). */
  fetchTimeoutMs?: number
  /** Largest JWKS body read; default 512 KiB. */
  maxJwksBytes?: number
  /** Longest wait between failing JWKS fetches; default 5 min (never below the cooldown). */
  maxBackoffMs?: number
  /** false: compile without fetching any JWKS (check-config must not call out). Default true. */
  fetchKeys?: boolean
  /** Called when a JWKS refresh drops a kid (the verified-credential cache forgets its tokens). */
  onKeysRemoved?: () => void
  /** Longest token looked at (config limits.maxTokenBytes); default 16 KiB. */
  maxTokenBytes?: number
  /** Most fetches of one remote JWKS in any minute (config limits.jwksFetchesPerMinute); default 10. */
  jwksFetchesPerMinute?: number
  /**
   * Who checks signatures: 'node' (default) node:crypto synchronously where
   * sync-verify.ts models the case, jose for the rest; 'jose' jose's jwtVerify for
   * all (the oracle of the differential test).
   */
  signatures?: 'node' | 'jose'
  /** Remote JWKS caches kept across reloads (serve); absent: this verifier owns and closes its own. */
  jwksPool?: JwksPool
  /** A JWKS fetch or discovery failed (logged, rate-limited, by the caller). */
  onJwksFetchError?: (issuer: string, reason: string) => void
}

export type CompileJwtResult = { ok: true; verifier: JwtVerifier } | { ok: false; problems: Problem[] }

interface CompiledIssuer {
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

/** SPEC §12: maxLifetime defaults to P1D. */
export const DEFAULT_MAX_LIFETIME_SECONDS = 86_400
/** `client_id` of tokens minted by password or API-key login (SPEC §12). */
export const LOGIN_CLIENT_ID = 'gatehouse'

type Failure = Extract<JwtResult, { ok: false }>

// Node's own header cap is 16 KiB (security-cases #32); a longer token is not one we issue or accept.
const DEFAULT_MAX_TOKEN_LENGTH = 16 * 1024
const MAX_KID_LENGTH = 256
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
const LONE_SURROGATE = /\p{Cs}/u

const invalid = (detail: string): Failure => ({ ok: false, reason: 'token_invalid', detail })
const malformed = (detail: string): Failure => ({ ok: false, reason: 'credential_malformed', detail })

/** Compiles every `jwt.issuers` entry once; returns all problems with their config paths. */
export async function compileJwtVerifier(
  issuers: readonly IssuerConfig[],
  opts: JwtVerifierOptions,
): Promise<CompileJwtResult> {
  const now = opts.now ?? Date.now
  const leeway = opts.leewaySeconds
  if (!Number.isFinite(leeway) || leeway < 0) {
    return { ok: false, problems: [{ path: 'jwt.leewaySeconds', message: 'must be a non-negative number' }] }
  }
  const problems: Problem[] = []
  const compiled = new Map<string, CompiledIssuer>()
  for (const [i, cfg] of issuers.entries()) {
    const path = `jwt.issuers[${i}]`
    if (issuers.findIndex((c) => c.issuer === cfg.issuer) !== i) {
      problems.push({ path: `${path}.issuer`, message: `issuer "${cfg.issuer}" is configured twice` })
      continue
    }
    const entry = await compileIssuer(cfg, path, leeway, opts, now)
    if (entry.ok) compiled.set(cfg.issuer, entry.issuer)
    else problems.push(...entry.problems)
  }
  if (problems.length > 0) return { ok: false, problems }
  if (opts.fetchKeys !== false) for (const entry of compiled.values()) entry.remote?.start()
  const check = opts.signatures === 'jose' ? checkWithJose : checkWithNode
  return { ok: true, verifier: createVerifier(compiled, leeway, now, opts.maxTokenBytes ?? DEFAULT_MAX_TOKEN_LENGTH, check) }
}

async function compileIssuer(
  cfg: IssuerConfig,
  path: string,
  leeway: number,
  opts: JwtVerifierOptions,
  now: () => number,
): Promise<{ ok: true; issuer: CompiledIssuer } | { ok: false; problems: Problem[] }> {
  const sources = compilePermissionSources(cfg, path)
  const extras = compileClaimExtras(cfg, path)
  const keys = await compileKeySource(cfg, path, {
    now,
    env: opts.env ?? process.env,
    baseDir: opts.baseDir,
    ownKeys: opts.ownKeys,
    fetchTimeoutMs: opts.fetchTimeoutMs ?? JWKS_DEFAULTS.fetchTimeoutMs,
    maxJwksBytes: opts.maxJwksBytes ?? JWKS_DEFAULTS.maxJwksBytes,
    maxBackoffMs: opts.maxBackoffMs ?? JWKS_DEFAULTS.maxBackoffMs,
    maxFetchesPerMinute: opts.jwksFetchesPerMinute ?? JWKS_DEFAULTS.maxFetchesPerMinute,
    onKeysRemoved: opts.onKeysRemoved,
    onFetchError: opts.onJwksFetchError,
    pool: opts.jwksPool,
  })
  if (!keys.ok || !sources.ok || !extras.ok) {
    return {
      ok: false,
      problems: [...(keys.ok ? [] : keys.problems), ...(sources.ok ? [] : sources.problems), ...(extras.ok ? [] : extras.problems)],
    }
  }
  const { source } = keys
  const typ = cfg.requiredType ?? source.requiredType
  const options: JWTVerifyOptions = {
    algorithms: [...source.algorithms],
    issuer: cfg.issuer,
    clockTolerance: leeway,
    // jose accepts a token without exp unless told otherwise (security-cases #19).
    requiredClaims: ['exp'],
    ...(cfg.audience !== undefined ? { audience: cfg.audience } : {}),
    // RFC 9068 §4: the issuer may insist on a typ, so ID tokens are not taken as access tokens.
    ...(typ !== undefined ? { typ } : {}),
  }
  const issuer: CompiledIssuer = {
    issuer: cfg.issuer,
    algorithms: new Set(source.algorithms),
    getKey: source.getKey,
    options: Object.freeze(options),
    sources: sources.sources,
    userClaim: cfg.userClaim ?? 'sub',
    maxLifetimeSeconds: extras.maxLifetimeSeconds,
    claimHeaders: extras.claimHeaders,
    own: opts.ownKeys?.issuer === cfg.issuer && cfg.jwksUri === undefined && cfg.publicKeyFile === undefined && cfg.secretEnv === undefined,
    remote: source.remote,
    poolKey: source.poolKey,
  }
  return { ok: true, issuer }
}

function compileClaimExtras(
  cfg: IssuerConfig,
  path: string,
):
  | { ok: true; maxLifetimeSeconds: number; claimHeaders: readonly (readonly [readonly string[], string])[] }
  | { ok: false; problems: Problem[] } {
  const problems: Problem[] = []
  let maxLifetimeSeconds = DEFAULT_MAX_LIFETIME_SECONDS
  if (cfg.maxLifetime !== undefined) {
    const d = parseDuration(cfg.maxLifetime)
    if (d.ok) maxLifetimeSeconds = d.seconds
    else problems.push({ path: `${path}.maxLifetime`, message: d.message })
  }
  const claimHeaders: (readonly [readonly string[], string])[] = []
  for (const [claim, header] of Object.entries(cfg.claimHeaders ?? {})) {
    const segments = claimPath(claim)
    if (segments === null) problems.push({ path: `${path}.claimHeaders.${claim}`, message: 'not a dotted claim path' })
    else claimHeaders.push(Object.freeze([segments, header] as const))
  }
  if (problems.length > 0) return { ok: false, problems }
  return { ok: true, maxLifetimeSeconds, claimHeaders: Object.freeze(claimHeaders) }
}

type SignatureCheck = (token: string, pre: Prechecked, currentDate: Date) => Promise<JWTPayload>

const checkWithJose: SignatureCheck = async (token, pre, currentDate) =>
  (await jwtVerify(token, pre.issuer.getKey, { ...pre.issuer.options, currentDate })).payload
const checkWithNode: SignatureCheck = (token, pre, currentDate) =>
  verifyJwtSync(token, pre.header, pre.claims, pre.issuer.getKey, { ...pre.issuer.options, currentDate })

function createVerifier(
  issuers: ReadonlyMap<string, CompiledIssuer>,
  leeway: number,
  now: () => number,
  maxLength: number,
  check: SignatureCheck,
): JwtVerifier {
  const remotes = [...issuers.values()].filter((i) => i.remote !== null)
  return {
    verify: async (token) => {
      try {
        return await verifyToken(token, issuers, leeway, now, maxLength, check)
      } catch {
        return invalid('token rejected')
      }
    },
    ready: async () => {
      await Promise.all(remotes.map((i) => i.remote?.ready()))
    },
    refreshNow: async () => {
      await Promise.all(remotes.map((i) => i.remote?.refresh()))
    },
    close: () => {
      // A pooled cache may serve the next runtime too: the pool closes it when none does.
      for (const i of remotes) if (i.poolKey === undefined) i.remote?.close()
    },
    stats: () => remotes.flatMap((i) => (i.remote ? [{ issuer: i.issuer, ...i.remote.status() }] : [])),
    keysLoaded: (all) => remotes.every((i) => i.remote === null || i.remote.loaded || (!all && !i.remote.discovered)),
    poolKeys: Object.freeze(remotes.flatMap((i) => (i.poolKey !== undefined ? [i.poolKey] : []))),
  }
}

async function verifyToken(
  token: string,
  issuers: ReadonlyMap<string, CompiledIssuer>,
  leeway: number,
  now: () => number,
  maxLength: number,
  check: SignatureCheck,
): Promise<JwtResult> {
  const pre = precheck(token, issuers, maxLength)
  if (!pre.ok) return pre
  const nowMs = now()
  let claims: JWTPayload
  try {
    // alg is checked against `algorithms` before a key is resolved, and the signature before claims (#2).
    claims = await check(token, pre, new Date(nowMs))
  } catch (err) {
    return joseFailure(err)
  }
  return toIdentity(claims, pre.issuer, Math.floor(nowMs / 1000), leeway)
}

/** Structure, issuer and alg, from the unverified token: no key lookup, no signature math. */
interface Prechecked {
  readonly ok: true
  readonly issuer: CompiledIssuer
  /** Decoded by jose (decodeProtectedHeader, decodeJwt), not yet verified. */
  readonly header: ProtectedHeaderParameters
  readonly claims: JWTPayload
}

function precheck(token: string, issuers: ReadonlyMap<string, CompiledIssuer>, maxLength: number): Prechecked | Failure {
  if (typeof token !== 'string' || token.length > maxLength || !COMPACT_JWS.test(token)) {
    return malformed('not a compact JWS')
  }
  // Header and claims are JSON objects in UTF-8 (RFC 8725 §3.7): base64url of a
  // leading `{` starts with `e`; a BOM, UTF-16 or leading space would not (security-cases #29).
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

function joseFailure(err: unknown): Failure {
  if (err instanceof errors.JWTExpired) return { ok: false, reason: 'token_expired', detail: 'token expired' }
  if (err instanceof errors.JWTClaimValidationFailed) {
    return invalid(`${err.claim} ${err.reason === 'missing' ? 'missing' : 'check failed'}`)
  }
  if (err instanceof errors.JOSEError) return invalid(JOSE_DETAIL[err.code] ?? 'token rejected')
  return invalid('token rejected')
}

/** Checks jose leaves to us, then builds the Identity (SPEC §4, RFC 8693 `act`). */
function toIdentity(claims: JWTPayload, issuer: CompiledIssuer, nowSec: number, leeway: number): JwtResult {
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
  // A lone surrogate (`\ud800`) is valid JSON but no user name (RFC 8725 §3.7; security-cases #29).
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
