// Last-used times (SPEC §5) of a remote store: kept in memory at once, written in
// batches by the store every few seconds, never on the request path. A failed write
// keeps them for the next round; while the store is away for long, new ids are
// dropped rather than let the batch grow without bound.
const MAX_PENDING = 100_000

export class TouchBatch {
  private pending = new Map<string, number>()

  add(id: string, atSeconds: number): void {
    const current = this.pending.get(id)
    if (current !== undefined && current >= atSeconds) return
    if (current === undefined && this.pending.size >= MAX_PENDING) return
    this.pending.set(id, atSeconds)
  }

  /** The newest pending use of a key, if any. */
  get(id: string): number | undefined {
    return this.pending.get(id)
  }

  forget(id: string): void {
    this.pending.delete(id)
  }

  get size(): number {
    return this.pending.size
  }

  /** Hands the pending uses to `write` in parts; what a failed part and the rest held is kept. Never throws. */
  async flush(partSize: number, write: (part: [string, number][]) => Promise<void>, onError: (err: unknown) => void): Promise<void> {
    if (this.pending.size === 0) return
    const batch = [...this.pending]
    this.pending = new Map()
    for (let i = 0; i < batch.length; i += partSize) {
      try {
        await write(batch.slice(i, i + partSize))
      } catch (err) {
        for (const [id, at] of batch.slice(i)) this.add(id, at)
        onError(err)
        return
      }
    }
  }
}
