// Change events of a remote store (SPEC §8), and reads that are never older than an
// event already delivered. A read's reply and a pub/sub message about the same key
// travel on two sockets with no common order: if the message (and the cache drop it
// causes) lands while the read is on its way, a stale reply would be cached again
// after the drop. So a read that crossed an event about its key is done again.
import type { KeyChange } from './key-store.js'

const MAX_TRACKED = 10_000

export class ChangeFeed {
  private readonly listeners = new Set<(change: KeyChange) => void>()
  private seq = 0
  private allAt = 0
  private reading = 0
  // Key id -> seq of its last event, only while reads are in flight.
  private readonly changedAt = new Map<string, number>()

  constructor(private readonly onListenerError: (err: unknown) => void) {}

  listen(listener: (change: KeyChange) => void): () => void {
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }

  emit(change: KeyChange): void {
    this.seq++
    if (change === 'all') this.allAt = this.seq
    else if (this.reading > 0) {
      if (this.changedAt.size + change.length > MAX_TRACKED) this.allAt = this.seq
      else for (const id of change) this.changedAt.set(id, this.seq)
    }
    for (const listener of this.listeners) {
      try {
        listener(change)
      } catch (err) {
        this.onListenerError(err)
      }
    }
  }

  /** Runs `read` until no event about `id` arrived while it ran (at most `attempts` times); null when it never settled. */
  async readFresh<T>(id: string, read: () => Promise<T>, attempts = 5): Promise<{ value: T } | null> {
    this.reading++
    try {
      for (let i = 0; i < attempts; i++) {
        const seq = this.seq
        const value = await read()
        if (this.allAt <= seq && (this.changedAt.get(id) ?? 0) <= seq) return { value }
      }
      return null
    } finally {
      if (--this.reading === 0) this.changedAt.clear()
    }
  }
}
