// SPEC §5 JWT: verifies a bearer JWT against the key source of the issuer it names,
// with that issuer's algorithms, audience, typ and the configured leeway, and turns
// it into an Identity. Cheap checks run first, so garbage and floods cost little and
// a disallowed alg never reaches a key lookup or a JWKS fetch (attack #100).
import { jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose'
import type { IssuerConfig } from '../config/schema.js'
import { parseDuration } from '../config/duration.js'
import { DEFAULT_MAX_LIFETIME_SECONDS } from '../config/jwt-algorithms.js'
import { claimPath, compilePermissionSources } from './claim-permissions.js'
import { compileKeySource, JWKS_DEFAULTS, type JwksStatus, type OwnKeys, type Problem } from './jwt-keys.js'
import { verifyJwtSync } from './sync-verify.js'
import type { JwksPool } from './jwks-pool.js'
import { invalid, joseFailure, precheck, toIdentity, type CompiledIssuer, type JwtResult, type Prechecked } from './jwt-token.js'

export type { JwtResult } from './jwt-token.js'
export { LOGIN_CLIENT_ID } from './jwt-token.js'

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
  /** JWKS fetch timeout; default 5000 (attack #94). */
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

// Node's own header cap is 16 KiB (attack #32); a longer token is not one we issue or accept.
const DEFAULT_MAX_TOKEN_LENGTH = 16 * 1024
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
    // jose accepts a token without exp unless told otherwise (attack #19).
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

