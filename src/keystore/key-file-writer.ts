// The file store's write path: one in-process queue and, across processes, the
// lock file. Mutations queued while a commit waits are applied together (one lock,
// one fsync), as a read-modify-write of the file as it is on disk now, so
// concurrent writers (the `keys` CLI, another replica) never lose each other's keys.
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { withFileLock } from './file-lock.js'
import { readKeyFile, removeOrphanTempFiles, writeKeyFile, type Records, type Snapshot } from './key-file.js'

/** One change: mutates the working copy (or throws, leaving it untouched). */
export type Apply = (records: Records) => { value: unknown; changed: boolean }

type Mutation = {
  apply: Apply
  resolve(value: unknown): void
  reject(err: unknown): void
}

export class KeyFileWriter {
  private serial: Promise<void> = Promise.resolve()
  private pending: Mutation[] = []
  private commitQueued = false
  private tempsCleaned = false

  /** `install` receives the file's contents after each commit; `now` judges stale lock files. */
  constructor(
    private readonly path: string,
    private readonly install: (snapshot: Snapshot) => void,
    private readonly now?: () => number,
  ) {}

  /** Runs `task` after everything queued before it. */
  enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.serial.then(task)
    this.serial = run.catch(() => undefined)
    return run
  }

  /** Resolves with the change's value once the file holds it. */
  mutate(apply: Apply): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending.push({ apply, resolve, reject })
      if (this.commitQueued) return
      this.commitQueued = true
      void this.enqueue(async () => {
        this.commitQueued = false
        await this.commit(this.pending.splice(0))
      })
    })
  }

  /** Resolves once everything queued so far has run. */
  idle(): Promise<void> {
    return this.serial
  }

  private async commit(batch: Mutation[]): Promise<void> {
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }> = []
    try {
      const snapshot = await this.withLock(async () => {
        const disk = await readKeyFile(this.path) // the file as it is now: another process may have written it
        const next = new Map(disk.records)
        let changed = false
        for (const m of batch) {
          try {
            const r = m.apply(next)
            changed ||= r.changed
            outcomes.push({ ok: true, value: r.value })
          } catch (err) {
            outcomes.push({ ok: false, err })
          }
        }
        return changed ? { records: next, signature: await writeKeyFile(this.path, next) } : disk
      })
      this.install(snapshot)
    } catch (err) {
      for (const m of batch) m.reject(err)
      return
    }
    batch.forEach((m, i) => {
      const o = outcomes[i]
      if (o?.ok) m.resolve(o.value)
      else m.reject(o?.err)
    })
  }

  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 })
    return withFileLock(`${this.path}.lock`, async () => {
      if (!this.tempsCleaned) await removeOrphanTempFiles(this.path)
      this.tempsCleaned = true
      return fn()
    }, this.now ? { now: this.now } : {})
  }
}
