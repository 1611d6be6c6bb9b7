// Per-issuer JWT key sources (SPEC §2 `jwt.issuers`, §5 JWT): a PEM or JWKS file, an
// HS* secret from the environment, a remote JWKS with our own cache, or the token
// service's own keys. Each source is compiled once and belongs to exactly one issuer,
// so a key of one issuer never verifies a token naming another.
import { readFile } from 'node:fs/promises'
import { isAbsolute, resolve } from 'node:path'
import {
  createLocalJWKSet,
  errors,
  importSPKI,
  importX509,
  type CryptoKey,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose'
import type { IssuerConfig } from '../config/schema.js'
import { JWT_ALGORITHMS, type JwtAlgorithm } from '../config/jwt-algorithms.js'
import { checkFetchUrl, discoverJwksUri } from './discovery.js'
import type { JwksPool } from './jwks-pool.js'
import { RemoteJwks } from './remote-jwks.js'

export { JWKS_DEFAULTS, RemoteJwks, type JwksStatus } from './remote-jwks.js'

/** The token service's own verification keys, used by the issuer entry named like it (SPEC §2 `issuer.name`). */
export interface OwnKeys {
  readonly issuer: string
  readonly getKey: JWTVerifyGetKey
  /** Used when the config entry names no algorithms; default RS256. */
  readonly algorithms?: readonly JwtAlgorithm[]
  /** Used when the config entry names no requiredType, e.g. `at+jwt` (RFC 9068). */
  readonly requiredType?: string
}

export interface KeySourceOptions {
  /** Clock in ms, for the JWKS cooldown and backoff. */
  readonly now: () => number
  readonly env: NodeJS.ProcessEnv
  readonly baseDir?: string | undefined
  readonly ownKeys?: OwnKeys | undefined
  readonly fetchTimeoutMs: number
  readonly maxJwksBytes: number
  readonly maxBackoffMs: number
  /** Most fetches of one remote JWKS in any minute. */
  readonly maxFetchesPerMinute?: number | undefined
  /** Called when a JWKS refresh drops a kid, so verified tokens of that key are forgotten. */
  readonly onKeysRemoved?: (() => void) | undefined
  /** Called when a JWKS fetch (or discovery) fails, with the issuer and the reason. */
  readonly onFetchError?: ((issuer: string, reason: string) => void) | undefined
  /** Caches kept across reloads; without it every compile makes its own (closed with the verifier). */
  readonly pool?: JwksPool | undefined
}

export interface KeySource {
  readonly getKey: JWTVerifyGetKey
  readonly algorithms: readonly JwtAlgorithm[]
  readonly requiredType?: string | undefined
  /** Present for `jwksUri` and `discovery`: must be started, and closed when no runtime uses it. */
  readonly remote: RemoteJwks | null
  /** The pool key of `remote` when it belongs to a pool (the pool closes it, not the verifier). */
  readonly poolKey?: string | undefined
}

export interface Problem {
  readonly path: string
  readonly message: string
}

export type KeySourceResult = { ok: true; source: KeySource } | { ok: false; problems: Problem[] }

// RFC 7518 §3.2: an HMAC key at least as long as the hash output.
const HMAC_MIN_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 }
const KNOWN_ALGORITHMS: ReadonlySet<string> = new Set(JWT_ALGORITHMS)
const PRIVATE_PEM = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'priv'] as const

const isHmac = (alg: string): boolean => alg.startsWith('HS')
const fail = (path: string, message: string): KeySourceResult => ({ ok: false, problems: [{ path, message }] })

/**
 * Compiles the one key source of an issuer entry. Remote JWKS sources are returned
 * unstarted, so that a config with problems never fetches anything.
 */
export async function compileKeySource(cfg: IssuerConfig, path: string, opts: KeySourceOptions): Promise<KeySourceResult> {
  const given = (['jwksUri', 'publicKeyFile', 'secretEnv', 'discovery'] as const).filter((k) => cfg[k] !== undefined && cfg[k] !== false)
  if (given.length > 1) {
    return fail(path, `has ${given.join(' and ')}: an issuer has exactly one key source (SPEC §5)`)
  }
  const own = given.length === 0 && opts.ownKeys?.issuer === cfg.issuer ? opts.ownKeys : undefined
  const algorithms = cfg.algorithms ?? own?.algorithms ?? (cfg.secretEnv !== undefined ? ['HS256'] : ['RS256'])
  const unknown = algorithms.filter((a) => !KNOWN_ALGORITHMS.has(a))
  if (unknown.length > 0) return fail(`${path}.algorithms`, `unsupported algorithm ${unknown.join(', ')}`)

  if (cfg.secretEnv !== undefined) return compileSecret(cfg.secretEnv, algorithms, path, opts.env)
  // Never HS* with a public key: the algorithm-confusion attack (RFC 8725 §3.1).
  const hmac = algorithms.filter(isHmac)
  if (hmac.length > 0) {
    return fail(`${path}.algorithms`, `${hmac.join(', ')} needs secretEnv; an HMAC algorithm never uses a public key (RFC 8725 §3.1)`)
  }
  if (cfg.publicKeyFile !== undefined) return compileFile(cfg.publicKeyFile, algorithms, `${path}.publicKeyFile`, opts.baseDir)
  if (cfg.jwksUri !== undefined || cfg.discovery === true) {
    return compileRemote(cfg, algorithms, cfg.discovery === true ? `${path}.discovery` : `${path}.jwksUri`, opts)
  }
  if (own !== undefined) {
    return { ok: true, source: { getKey: own.getKey, algorithms, requiredType: own.requiredType, remote: null } }
  }
  return fail(path, 'has no key source: set jwksUri, discovery, publicKeyFile or secretEnv (only the token service\'s own issuer may omit it)')
}

function compileSecret(envName: string, algorithms: readonly JwtAlgorithm[], path: string, env: NodeJS.ProcessEnv): KeySourceResult {
  const problems: Problem[] = []
  const other = algorithms.filter((a) => !isHmac(a))
  if (other.length > 0) {
    problems.push({ path: `${path}.algorithms`, message: `secretEnv allows only HS256, HS384 or HS512, not ${other.join(', ')}` })
  }
  const secret = env[envName]
  if (secret === undefined || secret === '') {
    problems.push({ path: `${path}.secretEnv`, message: `environment variable ${envName} is not set or empty` })
    return { ok: false, problems }
  }
  const key = new TextEncoder().encode(secret)
  for (const alg of algorithms) {
    const min = HMAC_MIN_BYTES[alg]
    if (min !== undefined && key.byteLength < min) {
      problems.push({
        path: `${path}.secretEnv`,
        message: `the secret in ${envName} is ${key.byteLength} bytes; ${alg} needs at least ${min} (RFC 7518 §3.2)`,
      })
    }
  }
  if (problems.length > 0) return { ok: false, problems }
  return { ok: true, source: { getKey: async () => key, algorithms, remote: null } }
}

async function compileFile(file: string, algorithms: readonly JwtAlgorithm[], path: string, baseDir?: string): Promise<KeySourceResult> {
  let text: string
  try {
    text = (await readFile(baseDir !== undefined && !isAbsolute(file) ? resolve(baseDir, file) : file, 'utf8')).trim()
  } catch (err) {
    return fail(path, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'read failed'}`)
  }
  // A private key here is a deployment mistake that leaks signing power: derive nothing from it.
  if (PRIVATE_PEM.test(text)) return fail(path, 'publicKeyFile holds a private key')
  if (text.startsWith('{')) return compileJwksFile(text, algorithms, path)

  let importKey: (pem: string, alg: string) => Promise<CryptoKey>
  if (text.includes('-----BEGIN PUBLIC KEY-----')) importKey = importSPKI
  else if (text.includes('-----BEGIN CERTIFICATE-----')) importKey = importX509
  else return fail(path, 'publicKeyFile must hold a PEM public key (BEGIN PUBLIC KEY), an X.509 certificate or a JWKS')

  // One imported key per allowed algorithm: the key is bound to the algorithms configured for it.
  const keys = new Map<string, CryptoKey>()
  for (const alg of algorithms) {
    try {
      const key = await importKey(text, alg)
      const bits = (key.algorithm as { modulusLength?: number }).modulusLength
      if (bits !== undefined && bits < 2048) return fail(path, `the RSA key has ${bits} bits; at least 2048 are required`)
      keys.set(alg, key)
    } catch {
      return fail(path, `the key in ${file} cannot be used with ${alg}`)
    }
  }
  const getKey: JWTVerifyGetKey = async (header) => {
    const key = keys.get(header.alg)
    if (key === undefined) throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed')
    return key
  }
  return { ok: true, source: { getKey, algorithms, remote: null } }
}

function compileJwksFile(text: string, algorithms: readonly JwtAlgorithm[], path: string): KeySourceResult {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return fail(path, 'publicKeyFile is neither PEM nor valid JSON')
  }
  const keys = (json as { keys?: unknown } | null)?.keys
  if (Array.isArray(keys) && keys.some(holdsPrivateMembers)) return fail(path, 'publicKeyFile holds a private key')
  try {
    // createLocalJWKSet validates the set; members that are not public keys are refused at use.
    return { ok: true, source: { getKey: createLocalJWKSet(json as JSONWebKeySet), algorithms, remote: null } }
  } catch {
    return fail(path, 'publicKeyFile is not a valid JWKS (RFC 7517 §5)')
  }
}

function holdsPrivateMembers(jwk: unknown): boolean {
  if (jwk === null || typeof jwk !== 'object') return false
  return (jwk as { kty?: unknown }).kty === 'oct' || PRIVATE_JWK_MEMBERS.some((m) => Object.hasOwn(jwk, m))
}

function compileRemote(
  cfg: IssuerConfig,
  algorithms: readonly JwtAlgorithm[],
  path: string,
  opts: KeySourceOptions,
): KeySourceResult {
  const discovery = cfg.discovery === true
  const url = discovery ? checkFetchUrl(cfg.issuer, 'with discovery, the issuer') : checkFetchUrl(cfg.jwksUri ?? '', 'jwksUri')
  if (typeof url === 'string') return fail(path, url)
  const cooldownMs = (cfg.jwksCooldownSeconds ?? 30) * 1000
  const timing = {
    now: opts.now,
    cacheMs: (cfg.jwksCacheSeconds ?? 300) * 1000,
    cooldownMs,
    maxBackoffMs: Math.max(opts.maxBackoffMs, cooldownMs),
    fetchTimeoutMs: opts.fetchTimeoutMs,
    maxBytes: opts.maxJwksBytes,
    maxFetchesPerMinute: opts.maxFetchesPerMinute,
    onKeysRemoved: opts.onKeysRemoved,
    onFetchError: opts.onFetchError && ((reason: string) => opts.onFetchError?.(cfg.issuer, reason)),
    ...(discovery ? { locate: (closed: AbortSignal) => discoverJwksUri(cfg.issuer, { fetchTimeoutMs: opts.fetchTimeoutMs, maxBytes: opts.maxJwksBytes }, closed) } : {}),
  }
  const create = () => new RemoteJwks(discovery ? null : url, timing)
  if (opts.pool === undefined) {
    const own = create()
    return { ok: true, source: { getKey: own.getKey, algorithms, remote: own } }
  }
  // Same issuer, same source, same timing: the running cache (and its last good keys) carries over.
  const poolKey = JSON.stringify([cfg.issuer, discovery ? 'discovery' : url.href, timing.cacheMs, cooldownMs, timing.maxBackoffMs, opts.fetchTimeoutMs, opts.maxJwksBytes, opts.maxFetchesPerMinute])
  const remote = opts.pool.take(poolKey, create)
  return { ok: true, source: { getKey: remote.getKey, algorithms, remote, poolKey } }
}
