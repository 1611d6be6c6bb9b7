// The Redis KeyStore (SPEC §2, §8): API keys and the JWT deny list shared by every
// replica. Data model and scripts: redis-records.ts. Key reads go to Redis (the
// verified-credential cache is the only cache of keys); each write is one Lua
// script that publishes the changed ids, and every replica's store turns those
// messages into onChange events, so caches drop a revoked key within milliseconds.
// While Redis is unreachable every call fails at once with StoreUnavailableError
// (nothing queues) and isReady() is false; ioredis reconnects by itself, and after
// any reconnect the store re-reads what it may have missed and reports 'all'.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { isKeyId } from '../credentials/api-key-format.js'
import { byCreation } from './key-file.js'
import { applyPatch, validateRecord } from './key-record.js'
import { ChangeFeed } from './change-feed.js'
import { KeyExistsError, StoreUnavailableError, type ApiKeyPatch, type ApiKeyRecord, type KeyChange, type KeyStore } from './key-store.js'
import { describeRedis, redisOptions, secretsOf, type StoreConfig } from '../config/redis-config.js'
import {
  changeMessage,
  decodeRecord,
  defineScripts,
  encodePatch,
  encodeRecord,
  readChangeMessage,
  redisKeys,
  scanRevokedJwts,
  type RedisKeys,
  type RedisScripts,
} from './redis-records.js'
import { RedisFailures, withTimeout } from './redis-failures.js'
import { RedisWatch, type StoreLogger } from './redis-watch.js'
import { isJti, RevokedJwts, type RevokedJwt } from './revoked-jwts.js'
import { TouchBatch } from './touch-batch.js'

export interface RedisKeyStoreOptions {
  /** Follow other replicas' changes through pub/sub (default true; the CLI passes false). */
  readonly watch?: boolean
  /** false: never connect (check-config validates without reaching Redis). Default true. */
  readonly connect?: boolean
  readonly logger?: StoreLogger
  /** Milliseconds clock. */
  readonly now?: () => number
  /** How often batched last-used times are written (default 5000 ms). */
  readonly touchFlushMs?: number
  /** How long opening waits for Redis: then the CLI fails, and serve starts not ready. Default 3000 ms. */
  readonly openTimeoutMs?: number
}

const TOUCH_BATCH = 500

const stderrLogger: StoreLogger = {
  warn(obj, msg) {
    process.stderr.write(`${JSON.stringify({ level: 'warn', time: Date.now(), ...obj, msg })}\n`)
  },
}

export async function openRedisKeyStore(store: StoreConfig, opts: RedisKeyStoreOptions = {}): Promise<KeyStore> {
  if (!store.url && !store.sentinels) throw new StoreUnavailableError('store.url is not set: no Redis to open')
  const s = new RedisKeyStore(store, opts)
  await s.open()
  return s
}

class RedisKeyStore implements KeyStore {
  private readonly cmd: Redis & RedisScripts
  private readonly watch: RedisWatch | null
  private readonly keys: RedisKeys
  private readonly origin = randomBytes(9).toString('base64url')
  private readonly revoked = new RevokedJwts()
  private readonly touches = new TouchBatch()
  private readonly feed: ChangeFeed
  private readonly logger: StoreLogger
  private readonly failures: RedisFailures
  private readonly now: () => number
  private timer: NodeJS.Timeout | null = null
  private closed = false
  private closing: Promise<void> | null = null
  private lastError: string | null = null

  constructor(
    private readonly store: StoreConfig,
    private readonly opts: RedisKeyStoreOptions,
  ) {
    this.logger = opts.logger ?? stderrLogger
    this.feed = new ChangeFeed((err) => this.logger.warn({ err: (err as Error).message }, 'key store change listener failed'))
    this.failures = new RedisFailures(this.logger, secretsOf(store))
    this.now = opts.now ?? Date.now
    this.keys = redisKeys(store.keyPrefix)
    this.cmd = defineScripts(new Redis(redisOptions(store, 'gatehouse')))
    this.watch =
      opts.watch === false || opts.connect === false
        ? null
        : new RedisWatch(new Redis(redisOptions(store, 'gatehouse-sub')), this.cmd, {
            channel: this.keys.channel,
            describe: describeRedis(store),
            logger: this.logger,
            scrub: (text) => this.failures.scrub(text),
            resync: async () => this.revoked.replace(await scanRevokedJwts(this.cmd, this.keys), this.seconds()),
            onMessage: (text) => this.onMessage(text),
            onResynced: () => this.feed.emit('all'),
          })
  }

  async open(): Promise<void> {
    if (this.opts.connect === false) return
    this.cmd.on('error', (err: Error) => {
      this.lastError = this.failures.scrub(err.message)
      this.watch?.connectionError(err) // without a listener ioredis prints every failed reconnect
    })
    const wait = this.opts.openTimeoutMs ?? 3000
    const connected = this.cmd.connect()
    connected.catch(() => undefined) // ioredis keeps reconnecting; readiness tells the rest
    const ok = this.watch
      ? await this.watch.start(wait)
      : await withTimeout(connected.then(() => this.cmd.ping()), wait).then(
          () => true,
          (err: unknown) => this.lastError ?? this.failures.scrub((err as Error).message ?? String(err)),
        )
    if (ok !== true) {
      if (!this.watch) {
        await this.close()
        throw new StoreUnavailableError(`cannot reach Redis at ${describeRedis(this.store)}: ${ok === false ? 'no answer' : ok}`)
      }
      this.logger.warn({ redis: describeRedis(this.store) }, 'Redis does not answer yet: not ready until it does (reconnecting)')
    }
    this.timer = setInterval(() => void this.flushTouches(), this.opts.touchFlushMs ?? 5000)
    this.timer.unref()
  }

  /** Never older than a change event already delivered to listeners (change-feed.ts), so no cache keeps a revoked key. */
  async get(id: string): Promise<ApiKeyRecord | null> {
    if (!isKeyId(id)) return null
    const read = await this.feed.readFresh(id, () => this.call(() => this.cmd.hgetall(this.keys.record(id))))
    if (!read) throw new StoreUnavailableError('the key kept changing while it was read; try again')
    return this.withTouch(this.decode(id, read.value))
  }

  async list(filter: { user?: string } = {}): Promise<ApiKeyRecord[]> {
    const ids = await this.call(() => this.cmd.smembers(filter.user === undefined ? this.keys.ids : this.keys.user(filter.user)))
    if (ids.length === 0) return []
    const pipeline = this.cmd.pipeline()
    for (const id of ids) pipeline.hgetall(this.keys.record(id))
    const replies = (await this.call(() => pipeline.exec())) ?? []
    const out: ApiKeyRecord[] = []
    replies.forEach(([err, hash], i) => {
      if (err) throw this.failures.unavailable(err)
      const r = this.withTouch(this.decode(ids[i] as string, hash as Record<string, string>))
      if (r && (filter.user === undefined || r.user === filter.user)) out.push(r)
    })
    return out.sort(byCreation)
  }

  async create(record: ApiKeyRecord): Promise<void> {
    const checked = validateRecord(record)
    if (!checked.ok) throw new TypeError(`invalid key record: ${checked.problems.join('; ')}`)
    const r = checked.record
    const created = await this.call(() =>
      this.cmd.ghCreate(this.keys.record(r.id), this.keys.ids, this.keys.user(r.user), r.id, this.keys.channel, changeMessage(this.origin, [r.id]), ...encodeRecord(r)),
    )
    if (created !== 1) throw new KeyExistsError(`key id ${r.id} already exists`)
    await this.replicate()
    this.feed.emit(Object.freeze([r.id]))
  }

  async update(id: string, patch: ApiKeyPatch): Promise<ApiKeyRecord | null> {
    const current = await this.get(id)
    if (!current) return null
    const next = applyPatch(current, patch)
    if (!next.ok) throw new TypeError(`invalid key patch: ${next.problems.join('; ')}`)
    // Only the patched fields are written, and only if the record still exists: a
    // revoke racing this update on another replica wins or loses whole.
    const hash = await this.call(() =>
      this.cmd.ghUpdate(this.keys.record(id), this.keys.channel, changeMessage(this.origin, [id]), ...encodePatch(patch, next.record)),
    )
    await this.replicate()
    this.feed.emit(Object.freeze([id]))
    return hash ? this.withTouch(this.decode(id, hash)) : null
  }

  async revoke(ids: readonly string[]): Promise<string[]> {
    const unique = [...new Set(ids)].filter(isKeyId)
    if (unique.length === 0) return []
    const gone = await this.call(() =>
      this.cmd.ghRevoke(unique.length, ...unique.map((id) => this.keys.record(id)), this.store.keyPrefix, this.keys.channel, this.origin, ...unique),
    )
    for (const id of gone) this.touches.forget(id)
    await this.replicate()
    if (gone.length > 0) this.feed.emit(Object.freeze([...gone]))
    return gone
  }

  /** Memory at once; Redis within touchFlushMs, in one script per batch (never on the request path). */
  touch(id: string, atSeconds: number): void {
    if (this.closed || !isKeyId(id) || !Number.isSafeInteger(atSeconds) || atSeconds < 0) return
    this.touches.add(id, atSeconds)
  }

  async revokeJwt(jti: string, expiresAt: number): Promise<void> {
    if (!isJti(jti)) throw new TypeError('jti must be 1-256 visible ASCII characters')
    if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) throw new TypeError('expiresAt must be Unix seconds')
    const now = this.seconds()
    if (expiresAt <= now) return // the token is refused anyway; SET EXAT in the past would store nothing
    const ends = await this.call(() => this.cmd.ghRevokeJwt(this.keys.jwt(jti), String(expiresAt), this.keys.channel, this.origin, jti))
    this.revoked.add(jti, Number(ends), now)
    await this.replicate()
  }

  isJwtRevoked(jti: string, nowSeconds: number): boolean {
    return this.revoked.has(jti, nowSeconds)
  }

  async listRevokedJwts(nowSeconds: number): Promise<RevokedJwt[]> {
    return (await this.call(() => scanRevokedJwts(this.cmd, this.keys))).filter((e) => e.expiresAt > nowSeconds)
  }

  onChange(listener: (change: KeyChange) => void): () => void {
    return this.feed.listen(listener)
  }

  async isReady(): Promise<boolean> {
    if (this.closed || this.opts.connect === false || this.cmd.status !== 'ready') return false
    if (this.watch && !this.watch.synced()) return false
    try {
      return (await this.cmd.ping()) === 'PONG'
    } catch {
      return false
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer) clearInterval(this.timer)
      await this.flushTouches()
      this.closed = true
      this.watch?.stop()
      if (this.cmd.status === 'ready') await this.cmd.quit().catch(() => this.cmd.disconnect())
      else this.cmd.disconnect()
    })()
    return this.closing
  }

  // --- internals -------------------------------------------------------------

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError('key store is closed')
    // Fail at once rather than wait: a request during an outage answers 503 now.
    if (this.cmd.status !== 'ready') throw new StoreUnavailableError(`Redis is not connected (${this.cmd.status})`)
    try {
      return await fn()
    } catch (err) {
      throw this.failures.unavailable(err)
    }
  }

  private seconds(): number {
    return Math.floor(this.now() / 1000)
  }

  private decode(id: string, hash: Record<string, string> | readonly string[] | null): ApiKeyRecord | null {
    const r = decodeRecord(hash)
    if (r === null) return null
    if (r.ok && r.record.id === id) return r.record
    // Field names only, never values: a message can be logged without leaking a hash.
    this.failures.warnOnce(`record:${id}`, { keyId: id, problems: r.ok ? ['record.id: does not match its key'] : r.problems }, 'invalid API key record in Redis; treated as absent')
    return null
  }

  private withTouch(r: ApiKeyRecord | null): ApiKeyRecord | null {
    const at = r ? this.touches.get(r.id) : undefined
    return r && at !== undefined && (r.lastUsedAt ?? -1) < at ? Object.freeze({ ...r, lastUsedAt: at }) : r
  }

  private onMessage(text: string): void {
    const m = readChangeMessage(text, this.origin) // null for our own: our writes were reported when made
    if (m === null) return
    for (const [jti, until] of m.jwts) this.revoked.add(jti, until, this.seconds())
    if (m.keyIds.length > 0) this.feed.emit(Object.freeze(m.keyIds))
  }

  /** After each write with store.waitReplicas set: the write is on that many replicas before it is answered. */
  private async replicate(): Promise<void> {
    const n = this.store.waitReplicas
    if (n === 0) return
    try {
      const acked = await this.cmd.wait(n, Math.max(this.store.timeoutMs - 100, 10))
      if (acked < n) this.logger.warn({ acked, wanted: n }, 'a key store write reached fewer Redis replicas than store.waitReplicas')
    } catch (err) {
      this.logger.warn({ err: this.failures.scrub((err as Error).message) }, 'could not wait for Redis replicas')
    }
  }

  /** Writes batched last-used times, one script per part; what fails stays for the next round. Never throws. */
  private async flushTouches(): Promise<void> {
    if (this.cmd.status !== 'ready') return
    await this.touches.flush(
      TOUCH_BATCH,
      async (part) => void (await this.cmd.ghTouch(part.length, ...part.map(([id]) => this.keys.record(id)), ...part.map(([, at]) => String(at)))),
      (err) => this.failures.warnOnce('touch', { err: this.failures.scrub((err as Error).message) }, 'could not write key last-used times; will retry'),
    )
  }
}
