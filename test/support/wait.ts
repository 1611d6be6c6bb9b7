// Waiting for something that happens in its own time (a file watcher, a log line):
// poll it, bounded in time, and fail with what was awaited instead of sleeping a
// guessed interval and hoping.

/** Polls `check` every `everyMs` until it is true; throws after `timeoutMs`. Resolves with the ms waited. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what = 'a condition', everyMs = 25): Promise<number> {
  const ms = await msUntil(check, timeoutMs, everyMs)
  if (ms === null) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
  return ms
}

/**
 * Calls `probe` until it is true, `everyMs` apart (0: back to back), bounded by
 * count and time: the milliseconds it took, or null when it never was (for tests
 * that assert on the time itself).
 */
export async function msUntil(probe: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 0): Promise<number | null> {
  const start = performance.now()
  for (let i = 0; i < 100_000; i++) {
    if (await probe()) return performance.now() - start
    if (performance.now() - start > timeoutMs) return null
    if (everyMs > 0) await new Promise((r) => setTimeout(r, everyMs))
  }
  return null
}

/**
 * What a real-time bound is multiplied by before a test asserts it (a SPEC promise
 * such as "within one second", a configured timeout): a loaded two-core machine
 * delays every step, while a broken mechanism (no watch, no poll, no timeout)
 * misses by far more than this. The promise itself rests on the mechanism's
 * interval (e.g. the key file's 500 ms poll), which the tests name beside it.
 */
export const HEADROOM = 3
