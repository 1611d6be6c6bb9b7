// The embedded KeyStore (SPEC §5, §8): a JSON file `{ "version": 1, "keys": [...] }`.
// Reads come from a Map in memory. Writes go through key-file-writer.ts (one queue,
// the lock file, read-modify-write of the file on disk), each written to a temp
// file, fsynced and renamed over, so a crash leaves the old or the new file.
// Changes by other processes (the `keys` CLI) are picked up within one second (SPEC §1).
import { watch } from 'node:fs'
import { mkdir, stat } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { denyListPathFor, FileJwtDenyList } from './file-jwt-deny-list.js'
import { byCreation, errorCode, fileSignature, KeyFileInvalidError, readKeyFile, type Records, type Snapshot } from './key-file.js'
import { KeyFileWriter, type Apply } from './key-file-writer.js'
import { applyPatch, validateRecord } from './key-record.js'
import {
  KeyExistsError,
  StoreUnavailableError,
  type ApiKeyPatch,
  type ApiKeyRecord,
  type KeyChange,
  type KeyStore,
} from './key-store.js'

export { KeyFileInvalidError } from './key-file.js'

export interface FileKeyStoreOptions {
  /** Watch the file for changes by other processes (default true; the CLI passes false). */
  readonly watch?: boolean
  /** Milliseconds clock, used to judge stale lock files. */
  readonly now?: () => number
  readonly logger?: { warn(obj: object, msg: string): void }
  /** The mtime/size/inode poll behind fs.watch (default 500 ms). */
  readonly pollMs?: number
  /** How often batched last-used times are written (default 30 000 ms). */
  readonly touchFlushMs?: number
}

const stderrLogger = {
  warn(obj: object, msg: string): void {
    process.stderr.write(`${JSON.stringify({ level: 'warn', time: Date.now(), ...obj, msg })}\n`)
  },
}

export async function openFileKeyStore(path: string, opts: FileKeyStoreOptions = {}): Promise<KeyStore> {
  const store = new FileKeyStore(path, opts)
  await store.load()
  return store
}

class FileKeyStore implements KeyStore {
  private records: Records = new Map()
  private signature: string | null = null
  private rejectedSignature: string | null = null
  private checkQueued = false
  private touches = new Map<string, number>()
  private readonly listeners = new Set<(change: KeyChange) => void>()
  private readonly stops: Array<() => void> = []
  private readonly dir: string
  private readonly logger: { warn(obj: object, msg: string): void }
  private readonly writer: KeyFileWriter
  private loaded = false
  private closed = false
  private closing: Promise<void> | null = null
  private flushError: string | null = null
  private readonly jwts: FileJwtDenyList

  constructor(
    private readonly path: string,
    private readonly opts: FileKeyStoreOptions,
  ) {
    this.dir = dirname(path)
    this.logger = opts.logger ?? stderrLogger
    const now = opts.now ?? Date.now
    this.jwts = new FileJwtDenyList(denyListPathFor(path), () => Math.floor(now() / 1000), (obj, msg) => this.logger.warn(obj, msg))
    this.writer = new KeyFileWriter(path, (snapshot) => this.install(snapshot), opts.now)
  }

  async load(): Promise<void> {
    this.install(await readKeyFile(this.path))
    await this.jwts.load()
    this.loaded = true
    if (this.opts.watch !== false) await this.startWatching()
    // 30 s: a flush rewrites the whole file, which with 10,000 keys cost ~10 % of a busy
    // proxy's CPU at 5 s; last-used times need no finer grain.
    this.every(this.opts.touchFlushMs ?? 30_000, () => void this.flushTouches().catch((err: unknown) => this.warnFlush(err)))
  }

  async get(id: string): Promise<ApiKeyRecord | null> {
    return this.records.get(id) ?? null
  }

  async list(filter: { user?: string } = {}): Promise<ApiKeyRecord[]> {
    return [...this.records.values()].filter((r) => filter.user === undefined || r.user === filter.user).sort(byCreation)
  }

  async create(record: ApiKeyRecord): Promise<void> {
    const checked = validateRecord(record)
    if (!checked.ok) throw new TypeError(`invalid key record: ${checked.problems.join('; ')}`)
    await this.mutate((records) => {
      if (records.has(record.id)) throw new KeyExistsError(`key id ${record.id} already exists`)
      records.set(record.id, checked.record)
      return { value: undefined, changed: true }
    })
  }

  async update(id: string, patch: ApiKeyPatch): Promise<ApiKeyRecord | null> {
    return (await this.mutate((records) => {
      const current = records.get(id)
      if (!current) return { value: null, changed: false }
      const next = applyPatch(current, patch)
      if (!next.ok) throw new TypeError(`invalid key patch: ${next.problems.join('; ')}`)
      records.set(id, next.record)
      return { value: next.record, changed: true }
    })) as ApiKeyRecord | null
  }

  async revoke(ids: readonly string[]): Promise<string[]> {
    return (await this.mutate((records) => {
      const existed = [...new Set(ids)].filter((id) => records.delete(id))
      return { value: existed, changed: existed.length > 0 }
    })) as string[]
  }

  /** Memory at once; the disk within touchFlushMs and on close (never on the request path). */
  touch(id: string, atSeconds: number): void {
    const record = this.records.get(id)
    if (this.closed || !record || !Number.isSafeInteger(atSeconds) || (record.lastUsedAt ?? -1) >= atSeconds) return
    this.records.set(id, Object.freeze({ ...record, lastUsedAt: atSeconds }))
    this.touches.set(id, Math.max(atSeconds, this.touches.get(id) ?? 0))
  }

  revokeJwt(jti: string, expiresAt: number): Promise<void> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('key store is closed'))
    return this.jwts.revoke(jti, expiresAt)
  }

  isJwtRevoked(jti: string, nowSeconds: number): boolean {
    return this.jwts.has(jti, nowSeconds)
  }

  async listRevokedJwts(nowSeconds: number): Promise<{ jti: string; expiresAt: number }[]> {
    return this.jwts.list(nowSeconds)
  }

  onChange(listener: (change: KeyChange) => void): () => void {
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }

  async isReady(): Promise<boolean> {
    return this.loaded && !this.closed
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown()
    return this.closing
  }

  private async shutDown(): Promise<void> {
    for (const stop of this.stops.splice(0)) stop()
    await this.flushTouches().catch((err: unknown) => this.warnFlush(err))
    this.closed = true
    await this.writer.idle()
  }

  // --- writes ----------------------------------------------------------------

  /** Mutations queued while a commit waits are applied together: one lock, one fsync. */
  private mutate(apply: Apply): Promise<unknown> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('key store is closed'))
    return this.writer.mutate(apply)
  }

  /** Writes the batched last-used times; on failure they stay batched and are retried. */
  private flushTouches(): Promise<void> {
    if (this.touches.size === 0) return Promise.resolve()
    let batch = new Map<string, number>()
    return this.mutate((records) => {
      batch = this.touches // taken when applied, so touches made while queued are included
      this.touches = new Map()
      let changed = false
      for (const [id, at] of batch) {
        const r = records.get(id)
        if (r && (r.lastUsedAt ?? -1) < at) {
          records.set(id, Object.freeze({ ...r, lastUsedAt: at }))
          changed = true
        }
      }
      return { value: undefined, changed }
    }).then(
      () => void (this.flushError = null),
      (err: unknown) => {
        for (const [id, at] of batch) this.touches.set(id, Math.max(at, this.touches.get(id) ?? 0))
        throw err
      },
    )
  }

  /** Last-used times are best effort: say why they are not written, once per distinct reason. */
  private warnFlush(err: unknown): void {
    if (describe(err) === this.flushError) return
    this.flushError = describe(err)
    this.logger.warn({ path: this.path, err: this.flushError }, 'could not write key last-used times; will retry')
  }

  // --- watching --------------------------------------------------------------

  private async startWatching(): Promise<void> {
    // fs.watch is fast but not reliable everywhere (network and overlay file systems): the poll is the guarantee.
    this.every(this.opts.pollMs ?? 500, () => {
      this.scheduleCheck()
      void this.jwts.reloadIfChanged().catch(() => undefined)
    })
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 })
      const name = basename(this.path)
      const watcher = watch(this.dir, { persistent: false }, (_event, file) => {
        if (!file || file === name) this.scheduleCheck()
      })
      watcher.on('error', () => watcher.close())
      this.stops.push(() => watcher.close())
    } catch (err) {
      this.logger.warn({ path: this.path, err: describe(err) }, 'cannot watch the key file directory; polling only')
    }
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms)
    timer.unref()
    this.stops.push(() => clearInterval(timer))
  }

  private scheduleCheck(): void {
    if (this.checkQueued || this.closed) return
    this.checkQueued = true
    void this.writer.enqueue(async () => {
      this.checkQueued = false
      await this.reloadIfChanged()
    })
  }

  private async reloadIfChanged(): Promise<void> {
    const current = await stat(this.path).then(fileSignature, (err: unknown) => (errorCode(err) === 'ENOENT' ? null : this.signature))
    if (current === this.signature || current === this.rejectedSignature) return
    try {
      this.install(await readKeyFile(this.path))
      this.rejectedSignature = null
    } catch (err) {
      this.rejectedSignature = current // log a bad file once, not on every poll
      const problems = err instanceof KeyFileInvalidError ? err.problems.slice(0, 20) : [describe(err)]
      this.logger.warn({ path: this.path, problems }, 'key file changed but is invalid; keeping the previous keys')
    }
  }

  /** Swaps in a snapshot, keeps last-used times not yet written, and tells listeners what changed. */
  private install(snapshot: Snapshot): void {
    const before = this.records
    const after = snapshot.records
    for (const [id, at] of this.touches) {
      const r = after.get(id)
      if (r && (r.lastUsedAt ?? -1) < at) after.set(id, Object.freeze({ ...r, lastUsedAt: at }))
    }
    this.records = after
    this.signature = snapshot.signature
    const ids = changedIds(before, after)
    if (ids.length === 0 || !this.loaded) return
    const change: KeyChange = ids.length > 1000 ? 'all' : Object.freeze(ids)
    for (const listener of this.listeners) {
      try {
        listener(change)
      } catch (err) {
        this.logger.warn({ err: describe(err) }, 'key store change listener failed')
      }
    }
  }
}

function changedIds(before: Records, after: Records): string[] {
  const ids: string[] = []
  for (const [id, r] of after) {
    const old = before.get(id)
    if (!old || comparable(old) !== comparable(r)) ids.push(id)
  }
  for (const id of before.keys()) if (!after.has(id)) ids.push(id)
  return ids
}

/** Everything but lastUsedAt: a use is not a change that caches must act on. */
function comparable(r: ApiKeyRecord): string {
  return JSON.stringify({ ...r, lastUsedAt: null })
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
