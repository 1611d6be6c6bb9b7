// Counting the expensive or constant-time steps a request takes, instead of timing
// them: a wall-clock median on a shared machine measures its load, a count does
// not. The node:crypto export is wrapped and synced into the ESM bindings that
// src/ imports (`import { scrypt } from 'node:crypto'`), so src/ stays as it is.
import crypto from 'node:crypto'
import { syncBuiltinESMExports } from 'node:module'

type Spied = 'scrypt' | 'timingSafeEqual'

export interface CallRecorder<T> {
  readonly calls: T[]
  restore(): void
}

/** Records `describe(args)` for every call of node:crypto's `name`, which still runs. Call restore() in a finally. */
export function recordCryptoCalls<T>(name: Spied, describe: (args: unknown[]) => T): CallRecorder<T> {
  const original = crypto[name] as (...args: unknown[]) => unknown
  const calls: T[] = []
  ;(crypto as unknown as Record<Spied, unknown>)[name] = (...args: unknown[]) => {
    calls.push(describe(args))
    return original(...args)
  }
  syncBuiltinESMExports()
  return {
    calls,
    restore() {
      ;(crypto as unknown as Record<Spied, unknown>)[name] = original
      syncBuiltinESMExports()
    },
  }
}

/** Each scrypt call as its cost: `N` (or `cost`) from the options argument. */
export function recordScrypt(): CallRecorder<{ N: number | undefined }> {
  return recordCryptoCalls('scrypt', (args) => {
    const o = (typeof args[3] === 'object' && args[3] !== null ? args[3] : {}) as crypto.ScryptOptions
    return { N: o.N ?? o.cost }
  })
}
