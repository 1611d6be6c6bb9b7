// A remote JWKS with our own cache, in place of jose `createRemoteJWKSet`, which has
// no stale-if-error and no backoff (attack #93, #94, #96).
import { createLocalJWKSet, errors, type CryptoKey, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'
/** Fetch limits used unless the caller overrides them (attack #94, "Library defaults"). */
export const JWKS_DEFAULTS = Object.freeze({ fetchTimeoutMs: 5000, maxJwksBytes: 512 * 1024, maxBackoffMs: 5 * 60 * 1000, maxFetchesPerMinute: 10 })

export interface JwksStatus {
  readonly url: string
  readonly fetches: number
  readonly failures: number
  /** Clock ms of the last successful fetch; null until one succeeds. */
  readonly lastSuccessAt: number | null
  /** Why the last fetch failed; null after a success. */
  readonly lastError: string | null
}

export interface RemoteJwksTiming {
  readonly now: () => number
  readonly cacheMs: number
  readonly cooldownMs: number
  readonly maxBackoffMs: number
  readonly fetchTimeoutMs: number
  readonly maxBytes: number
  /** Most fetches in any 60 s, whatever asks (unknown kids, refreshes, SIGHUP); unlimited when absent. */
  readonly maxFetchesPerMinute?: number | undefined
  /** Called after a successful fetch that dropped a kid the previous set had. */
  readonly onKeysRemoved?: (() => void) | undefined
  /** Called after each failed fetch with its reason (never a secret). */
  readonly onFetchError?: ((reason: string) => void) | undefined
  /** Finds the JWKS address (SPEC §9 discovery): before each fetch until one succeeds, then once per `rediscover()`. */
  readonly locate?: ((closed: AbortSignal) => Promise<URL>) | undefined
}

/**
 * A remote JWKS with our own cache, in place of jose `createRemoteJWKSet`, which has
 * no stale-if-error and no backoff (attack #93, #94, #96): the last good set
 * is kept when the IdP fails, refreshed in the background, refetched for an unknown
 * kid at most once per cooldown (concurrent misses share one fetch), and failures
 * back off exponentially so the IdP is never flooded.
 */
export class RemoteJwks {
  #set: ((...args: Parameters<JWTVerifyGetKey>) => Promise<CryptoKey>) | null = null
  #kids: ReadonlySet<string> = new Set()
  #inflight: Promise<void> | null = null
  #first: Promise<void> | null = null
  #nextFetchAt = Number.NEGATIVE_INFINITY
  #backoffMs: number
  #timer: NodeJS.Timeout | undefined
  /** Clock ms the background refresh is due (re-armed when a rediscovery fetches nothing). */
  #dueAt = Number.POSITIVE_INFINITY
  /** A rediscovery asked for and not yet run by a fetch. */
  #relocate = false
  #closed = false
  readonly #abort = new AbortController()
  #fetches = 0
  #failures = 0
  #lastSuccessAt: number | null = null
  #lastError: string | null = null
  /** Clock ms of the latest fetches, oldest first; at most maxFetchesPerMinute of them. */
  readonly #recent: number[] = []

  #url: URL | null

  /** `url` null: found by `timing.locate` (discovery). */
  constructor(
    url: URL | null,
    private readonly timing: RemoteJwksTiming,
  ) {
    this.#url = url
    this.#backoffMs = timing.cooldownMs
  }

  /** Whether one fetch has succeeded since this source was created (SPEC §12 readiness). */
  get loaded(): boolean {
    return this.#lastSuccessAt !== null
  }

  /** Whether the address comes from discovery. */
  get discovered(): boolean {
    return this.timing.locate !== undefined
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
      url: this.#url?.href ?? '',
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

  /**
   * Runs discovery again (SPEC §12: on reload) once the fetch under way, if any, ends;
   * never rejects. The same jwks_uri: nothing else happens. Another one: its set is
   * fetched, and the old address and keys stay until that succeeds. A failure keeps
   * the last good keys and address and counts like a failed fetch; the next reload
   * tries again. Before the first success every fetch discovers anyway.
   */
  rediscover(): Promise<void> {
    if (this.timing.locate === undefined || this.#closed || this.#lastSuccessAt === null) return Promise.resolve()
    this.#relocate = true
    // A fetch already under way read the flag before it started: run another after it.
    return (this.#inflight ?? Promise.resolve()).then(() => (this.#relocate ? this.refresh() : undefined))
  }

  /** Fetches now, or joins the fetch already under way; never rejects. */
  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    if (this.#inflight === null && !this.#mayFetch()) return Promise.resolve()
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

  /** The per-minute cap (limits.jwksFetchesPerMinute): when it is reached, the next try waits for the oldest fetch to age out. */
  #mayFetch(): boolean {
    const cap = this.timing.maxFetchesPerMinute
    if (cap === undefined) return true
    const now = this.timing.now()
    const oldest = this.#recent[0]
    if (this.#recent.length >= cap && oldest !== undefined && now - oldest < 60_000) {
      this.#schedule(60_000 - (now - oldest))
      return false
    }
    this.#recent.push(now)
    if (this.#recent.length > cap) this.#recent.shift()
    return true
  }

  async #fetchOnce(): Promise<void> {
    this.#fetches++
    const relocating = this.#relocate
    this.#relocate = false
    try {
      // Discovery runs until it has succeeded once, then only when a reload asks (SPEC §12: not per token).
      let url = this.#url
      if (url === null || (this.timing.locate !== undefined && (this.#lastSuccessAt === null || relocating))) {
        url = (await this.timing.locate?.(this.#abort.signal)) ?? url
        if (url === null) throw new Error('no JWKS address')
        if (relocating && url.href === this.#url?.href) {
          // Same address: the keys stay, the background refresh keeps its time.
          this.#schedule(Math.max(0, this.#dueAt - this.timing.now()))
          return
        }
        // A rediscovered address replaces the last good one only once its set is fetched.
        if (this.#lastSuccessAt === null) this.#url = url
      }
      const json = await fetchJwksJson(url, this.timing, this.#abort.signal)
      this.#set = createLocalJWKSet(json as JSONWebKeySet)
      this.#url = url
      const kids = new Set((json as JSONWebKeySet).keys.map((k) => String(k.kid)))
      const dropped = [...this.#kids].some((kid) => !kids.has(kid))
      this.#kids = kids
      // A key taken out of the set (rotated, or compromised) must not live on in the verified cache.
      if (dropped) this.timing.onKeysRemoved?.()
      this.#lastSuccessAt = this.timing.now()
      this.#lastError = null
      this.#backoffMs = this.timing.cooldownMs
      this.#nextFetchAt = this.timing.now() + this.timing.cooldownMs
      this.#schedule(this.timing.cacheMs)
    } catch (err) {
      // Stale-if-error: the last good set stays; wait longer after each failure in a row.
      this.#failures++
      this.#lastError = describeFetchError(err)
      if (!this.#closed) this.timing.onFetchError?.(this.#lastError)
      this.#nextFetchAt = this.timing.now() + this.#backoffMs
      this.#schedule(Math.min(this.#backoffMs, this.timing.cacheMs))
      this.#backoffMs = Math.min(this.#backoffMs * 2, this.timing.maxBackoffMs)
    }
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer)
    if (this.#closed) return
    this.#dueAt = this.timing.now() + delayMs
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
export async function readCapped(res: Response, max: number): Promise<Uint8Array> {
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
