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
import { JWT_ALGORITHMS, type IssuerConfig, type JwtAlgorithm } from '../config/schema.js'

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
}

export interface KeySource {
  readonly getKey: JWTVerifyGetKey
  readonly algorithms: readonly JwtAlgorithm[]
  readonly requiredType?: string | undefined
  /** Present for `jwksUri`: must be started, and closed on reload. */
  readonly remote: RemoteJwks | null
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
  const given = (['jwksUri', 'publicKeyFile', 'secretEnv'] as const).filter((k) => cfg[k] !== undefined)
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
  if (cfg.jwksUri !== undefined) return compileRemote(cfg, algorithms, `${path}.jwksUri`, opts)
  if (own !== undefined) {
    return { ok: true, source: { getKey: own.getKey, algorithms, requiredType: own.requiredType, remote: null } }
  }
  return fail(path, 'has no key source: set jwksUri, publicKeyFile or secretEnv (only the token service\'s own issuer may omit it)')
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
  const url = checkJwksUrl(cfg.jwksUri ?? '')
  if (typeof url === 'string') return fail(path, url)
  const cooldownMs = (cfg.jwksCooldownSeconds ?? 30) * 1000
  const remote = new RemoteJwks(url, {
    now: opts.now,
    cacheMs: (cfg.jwksCacheSeconds ?? 300) * 1000,
    cooldownMs,
    maxBackoffMs: Math.max(opts.maxBackoffMs, cooldownMs),
    fetchTimeoutMs: opts.fetchTimeoutMs,
    maxBytes: opts.maxJwksBytes,
  })
  return { ok: true, source: { getKey: remote.getKey, algorithms, remote } }
}

/** https: anywhere, http: only to a loopback host (keys fetched in clear text could be swapped). */
function checkJwksUrl(text: string): URL | string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return 'jwksUri is not a valid URL'
  }
  if (url.username !== '' || url.password !== '') return 'jwksUri must not carry credentials'
  if (url.protocol === 'https:') return url
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url
  return 'jwksUri must use https:// (http:// only to a loopback host)'
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}


/** Fetch limits used unless the caller overrides them (security-cases #94, "Library defaults"). */
export const JWKS_DEFAULTS = Object.freeze({ fetchTimeoutMs: 5000, maxJwksBytes: 512 * 1024, maxBackoffMs: 5 * 60 * 1000 })

export interface JwksStatus {
  readonly url: string
  readonly fetches: number
  readonly failures: number
  /** Clock ms of the last successful fetch; null until one succeeds. */
  readonly lastSuccessAt: number | null
  /** Why the last fetch failed; null after a success. */
  readonly lastError: string | null
}

interface RemoteJwksTiming {
  readonly now: () => number
  readonly cacheMs: number
  readonly cooldownMs: number
  readonly maxBackoffMs: number
  readonly fetchTimeoutMs: number
  readonly maxBytes: number
}

/**
 * A remote JWKS with our own cache, in place of jose `createRemoteJWKSet`, which has
 * no stale-if-error and no backoff (security-cases #93, #94, #96): the last good set
 * is kept when the IdP fails, refreshed in the background, refetched for an unknown
 * kid at most once per cooldown (concurrent misses share one fetch), and failures
 * back off exponentially so the IdP is never flooded.
 */
export class RemoteJwks {
  #set: ((...args: Parameters<JWTVerifyGetKey>) => Promise<CryptoKey>) | null = null
  #inflight: Promise<void> | null = null
  #first: Promise<void> | null = null
  #nextFetchAt = Number.NEGATIVE_INFINITY
  #backoffMs: number
  #timer: NodeJS.Timeout | undefined
  #closed = false
  readonly #abort = new AbortController()
  #fetches = 0
  #failures = 0
  #lastSuccessAt: number | null = null
  #lastError: string | null = null

  constructor(
    readonly url: URL,
    private readonly timing: RemoteJwksTiming,
  ) {
    this.#backoffMs = timing.cooldownMs
  }

  /** Starts the first fetch and, through it, the background refresh. */
  start(): void {
    this.#first ??= this.refresh()
  }

  /** Resolves once the first fetch attempt has finished, whether it succeeded or not. */
  ready(): Promise<void> {
    return this.#first ?? Promise.resolve()
  }

  status(): JwksStatus {
    return {
      url: this.url.href,
      fetches: this.#fetches,
      failures: this.#failures,
      lastSuccessAt: this.#lastSuccessAt,
      lastError: this.#lastError,
    }
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#abort.abort()
  }

  /** Fetches now, or joins the fetch already under way; never rejects. */
  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#inflight ??= this.#fetchOnce().finally(() => {
      this.#inflight = null
    })
    return this.#inflight
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const set = this.#set
    if (set !== null) {
      try {
        return await set(header, token)
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey)) throw err
      }
    }
    // Unknown kid (or no set yet): join a fetch under way, else at most one per cooldown (#96).
    if (this.#inflight === null && this.timing.now() < this.#nextFetchAt) throw new errors.JWKSNoMatchingKey()
    await this.refresh()
    const fresh = this.#set
    if (fresh === null) throw new errors.JWKSNoMatchingKey('no JSON Web Key Set available for this issuer')
    return fresh(header, token)
  }

  async #fetchOnce(): Promise<void> {
    this.#fetches++
    try {
      const json = await fetchJwksJson(this.url, this.timing, this.#abort.signal)
      this.#set = createLocalJWKSet(json as JSONWebKeySet)
      this.#lastSuccessAt = this.timing.now()
      this.#lastError = null
      this.#backoffMs = this.timing.cooldownMs
      this.#nextFetchAt = this.timing.now() + this.timing.cooldownMs
      this.#schedule(this.timing.cacheMs)
    } catch (err) {
      // Stale-if-error: the last good set stays; wait longer after each failure in a row.
      this.#failures++
      this.#lastError = describeFetchError(err)
      this.#nextFetchAt = this.timing.now() + this.#backoffMs
      this.#schedule(Math.min(this.#backoffMs, this.timing.cacheMs))
      this.#backoffMs = Math.min(this.#backoffMs * 2, this.timing.maxBackoffMs)
    }
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer)
    if (this.#closed) return
    this.#timer = setTimeout(() => void this.refresh(), delayMs)
    this.#timer.unref()
  }
}

async function fetchJwksJson(url: URL, timing: RemoteJwksTiming, closed: AbortSignal): Promise<unknown> {
  const signal = AbortSignal.any([AbortSignal.timeout(timing.fetchTimeoutMs), closed])
  const res = await fetch(url, {
    signal,
    redirect: 'error',
    headers: { accept: 'application/jwk-set+json, application/json', 'user-agent': 'gatehouse' },
  })
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined)
    throw new Error(`answered HTTP ${res.status}`)
  }
  const body = await readCapped(res, timing.maxBytes)
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch {
    throw new Error('answered with a body that is not JSON')
  }
}

/** Reads at most `max` bytes, so a hostile or broken endpoint cannot exhaust memory. */
async function readCapped(res: Response, max: number): Promise<Uint8Array> {
  if (res.body === null) return new Uint8Array()
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return Buffer.concat(chunks, size)
    size += value.byteLength
    if (size > max) {
      await reader.cancel().catch(() => undefined)
      throw new Error(`answered with more than ${max} bytes`)
    }
    chunks.push(value)
  }
}

function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return 'failed'
  if (err.name === 'TimeoutError') return 'timed out'
  if (err.name === 'AbortError') return 'aborted'
  if (err instanceof errors.JOSEError) return 'answered with an invalid JWKS'
  const code = (err.cause as { code?: unknown } | undefined)?.code
  if (err.message === 'fetch failed') return typeof code === 'string' ? `fetch failed (${code})` : 'fetch failed'
  return err.message
}
