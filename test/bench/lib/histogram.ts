// A latency histogram with ~1 % relative precision from 1 µs to 2 minutes, in a
// fixed array of log-spaced buckets: cheap to record on the load generator's
// core, mergeable across runs, and precise below a millisecond (autocannon's own
// histogram records whole milliseconds, which hides everything on loopback).
const GROWTH = 1.01
const LOG_GROWTH = Math.log(GROWTH)
const TOP_US = 120e6
const BUCKETS = Math.ceil(Math.log(TOP_US) / LOG_GROWTH) + 1

/** The percentiles every backend reports, and the chart draws (min and max besides). */
export const PERCENTILES = [10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99] as const

/** `p99_9` for 99.9: a JSON- and Lua-friendly key. */
export const pKey = (p: number): string => `p${String(p).replace('.', '_')}`

export type LatencySummary = Record<string, number> // min, max, mean, p10 … p99_99, in µs

export class LatencyHistogram {
  readonly counts = new Float64Array(BUCKETS)
  count = 0
  min = Number.POSITIVE_INFINITY
  max = 0
  sum = 0

  record(us: number): void {
    const v = us < 1 ? 1 : us
    const i = Math.min(BUCKETS - 1, Math.floor(Math.log(v) / LOG_GROWTH))
    this.counts[i] = (this.counts[i] ?? 0) + 1
    this.count++
    this.sum += v
    if (v < this.min) this.min = v
    if (v > this.max) this.max = v
  }

  percentile(p: number): number {
    if (this.count === 0) return Number.NaN
    if (p <= 0) return this.min
    if (p >= 100) return this.max
    const target = Math.ceil((p / 100) * this.count)
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0
      if (seen >= target) return Math.min(this.max, Math.max(this.min, GROWTH ** (i + 0.5)))
    }
    return this.max
  }

  summary(): LatencySummary {
    const out: LatencySummary = { min: this.count ? this.min : Number.NaN, max: this.count ? this.max : Number.NaN, mean: this.count ? this.sum / this.count : Number.NaN }
    for (const p of PERCENTILES) out[pKey(p)] = this.percentile(p)
    return out
  }
}
