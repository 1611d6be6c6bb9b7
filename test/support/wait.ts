// Waiting for something that happens in its own time (a file watcher, a log line):
// poll it, bounded in time, and fail with what was awaited instead of sleeping a
// guessed interval and hoping.

/** Polls `check` every `everyMs` until it is true; throws after `timeoutMs`. Resolves with the ms waited. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what = 'a condition', everyMs = 25): Promise<number> {
  const start = performance.now()
  for (;;) {
    if (await check()) return performance.now() - start
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/**
 * What a real-time bound is multiplied by before a test asserts it (a SPEC promise
 * such as "within one second", a configured timeout): a loaded two-core machine
 * delays every step, while a broken mechanism (no watch, no poll, no timeout)
 * misses by far more than this. The promise itself rests on the mechanism's
 * interval (e.g. the key file's 500 ms poll), which the tests name beside it.
 */
export const HEADROOM = 3
