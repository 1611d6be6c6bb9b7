// How many cases each property test tries: 2 000 by default so `npm test` stays fast;
// FC_RUNS=200000 npm test (or node --test on one file) for a deeper search.
// A zero, a non-number or fewer than MIN_RUNS is an error, never a property that
// passes having tried nothing: each test also proves (with Coverage) that its
// interesting cases were generated, which needs a few hundred runs to be sure.
import assert from 'node:assert/strict'

export const DEFAULT_RUNS = 2000
export const MIN_RUNS = 200

export function parseRuns(value: string | undefined): number {
  if (value === undefined) return DEFAULT_RUNS
  const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN
  if (!Number.isSafeInteger(n) || n < MIN_RUNS) {
    throw new Error(`FC_RUNS=${JSON.stringify(value)}: expected a whole number of at least ${MIN_RUNS} (default ${DEFAULT_RUNS})`)
  }
  return n
}

export const RUNS = parseRuns(process.env.FC_RUNS)

/**
 * Counts how often each interesting class of input was generated, so a test can
 * show that its generator reaches the cases it was written for (a generator that
 * never yields a `%` cannot find a bug in percent-decoding, however many runs).
 */
export class Coverage<C extends string> {
  private readonly counts = new Map<C, number>()
  private cases = 0

  constructor(private readonly classes: readonly C[]) {}

  /** Call once per generated case with the classes it belongs to. */
  record(...hits: (C | false | null | undefined)[]): void {
    this.cases++
    for (const c of new Set(hits)) if (c) this.counts.set(c, (this.counts.get(c) ?? 0) + 1)
  }

  /** Fails unless every class was hit in at least `minShare` of the cases (1 % by default). */
  assertReached(minShare = 0.01): void {
    assert.ok(this.cases >= MIN_RUNS, `only ${this.cases} cases were generated`)
    const missed = this.classes.filter((c) => (this.counts.get(c) ?? 0) < Math.max(1, Math.floor(this.cases * minShare)))
    assert.deepEqual(missed, [], `classes under ${minShare * 100} % of ${this.cases} cases: ${this.report()}`)
  }

  report(): string {
    return this.classes.map((c) => `${c}=${this.counts.get(c) ?? 0}`).join(', ')
  }
}
