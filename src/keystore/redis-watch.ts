// How the Redis store follows the other replicas (SPEC §8): a subscriber connection
// on the store's channel, and an honest `synced` state — true only while both
// connections are up, subscribed, and what pub/sub may have missed while one was
// down has been re-read. Every (re)connect triggers that resync; after a reconnect
// the store reports 'all', so no cache keeps a key revoked while it was away.
import type { Redis } from 'ioredis'

export interface StoreLogger {
  warn(obj: object, msg: string): void
  info?(obj: object, msg: string): void
}

export interface WatchHooks {
  readonly channel: string
  /** The Redis target with its password hidden. */
  readonly describe: string
  readonly logger: StoreLogger
  scrub(text: string): string
  /** Re-reads what pub/sub carries (the JWT deny list). */
  resync(): Promise<void>
  onMessage(text: string): void
  /** After a reconnect's resync: caches must forget every key. */
  onResynced(): void
}

export class RedisWatch {
  private isSynced = false
  private everSynced = false
  private running: Promise<void> | null = null
  private again = false
  private stopped = false
  private unreachable = false
  private lastError = ''
  private lastErrorAt = 0
  private readonly waiters: Array<() => void> = []

  constructor(
    private readonly sub: Redis,
    private readonly cmd: Redis,
    private readonly h: WatchHooks,
  ) {
    sub.on('message', (channel: string, text: string) => {
      if (channel === h.channel) h.onMessage(text)
    })
    sub.on('error', (err: Error) => this.connectionError(err))
    for (const c of [sub, cmd]) {
      c.on('ready', () => void this.resync())
      c.on('close', () => {
        if (this.isSynced && !this.stopped) this.connectionError(new Error('connection lost; reconnecting'))
        this.isSynced = false
      })
    }
  }

  /** Connects the subscriber; resolves true once synced, or false after waitMs (reconnecting goes on). */
  start(waitMs: number): Promise<boolean> {
    this.sub.connect().catch(() => undefined)
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.isSynced), waitMs)
      this.waiters.push(() => {
        clearTimeout(timer)
        resolve(true)
      })
    })
  }

  synced(): boolean {
    return this.isSynced && !this.stopped
  }

  stop(): void {
    this.stopped = true
    this.isSynced = false
    this.sub.disconnect()
  }

  /** Logged once per distinct reason (or every 30 s), with the password scrubbed. */
  connectionError(err: Error): void {
    if (this.stopped) return
    this.unreachable = true
    const msg = this.h.scrub(err.message)
    const now = Date.now()
    if (msg === this.lastError && now - this.lastErrorAt < 30_000) return
    this.lastError = msg
    this.lastErrorAt = now
    this.h.logger.warn({ redis: this.h.describe, err: msg }, 'Redis unreachable: credentials not verified before answer 503 until it is back')
  }

  private resync(): Promise<void> {
    if (this.running) {
      this.again = true
      return this.running
    }
    this.running = (async () => {
      do {
        this.again = false
        await this.resyncOnce()
      } while (this.again && !this.stopped)
    })().finally(() => {
      this.running = null
    })
    return this.running
  }

  private async resyncOnce(): Promise<void> {
    if (this.stopped || this.sub.status !== 'ready' || this.cmd.status !== 'ready') return
    try {
      await this.sub.subscribe(this.h.channel) // confirmed: from here on no message is missed
      await this.h.resync()
    } catch (err) {
      this.isSynced = false
      this.connectionError(err as Error)
      return
    }
    if (this.stopped || this.sub.status !== 'ready' || this.cmd.status !== 'ready') return // dropped meanwhile: the next ready resyncs
    this.isSynced = true
    if (this.unreachable) {
      this.unreachable = false
      this.lastError = ''
      this.h.logger.info?.({ redis: this.h.describe }, 'Redis answers again')
    }
    if (this.everSynced) this.h.onResynced()
    this.everSynced = true
    for (const w of this.waiters.splice(0)) w()
  }
}
