// pino, one JSON line per request (SPEC §8). Log calls pass only fields we chose
// (ids, names, statuses, durations), never a header value, a token, a key or a
// password; test/e2e/no-secrets.test.ts holds the whole log of a full run to that.
// No `redact` paths: its wildcard matching on every line cost about 5 % of a
// proxied request's CPU (bench profile) to guard fields that are never there.
// Lines are written in batches of 4 KiB, and at least once a second: one write
// per request cost a thread-pool hop and a syscall each (bench profile). pino
// flushes the rest synchronously on exit.
import pino, { type Logger } from 'pino'

export type { Logger }

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 1, sync: false, minLength: 4096, periodicFlush: 1000 }),
  )
}
