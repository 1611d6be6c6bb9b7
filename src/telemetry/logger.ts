// pino, one JSON line per request (SPEC §8). Log calls pass only fields we chose
// (ids, names, statuses, durations), never a header value, a token, a key or a
// password; test/e2e/no-secrets.test.ts holds the whole log of a full run to that.
// No `redact` paths: its wildcard matching on every line cost about 5 % of a
// proxied request's CPU (bench profile) to guard fields that are never there.
import pino, { type DestinationStream, type Logger } from 'pino'

export type { Logger }

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? stdout(),
  )
}

let shared: DestinationStream | null = null

/**
 * Standard output, shared by every logger of the process. Info lines (the access
 * log) are written in batches of 4 KiB and at least once a second: one write per
 * request cost a thread-pool hop or a syscall each (about 4 % of a proxied
 * request's CPU, bench). Warnings and errors are written at once. Writes are
 * synchronous, and the rest is written on exit by a plain flush(): pino's own exit
 * hook for asynchronous destinations calls sonic-boom 4's flushSync(), which
 * retries a failed write forever, even EPIPE, so a process whose log reader had
 * gone never ended (test/unit/telemetry/logger.test.ts). A broken pipe instead
 * makes pino drop the log from then on.
 */
function stdout(): DestinationStream {
  if (shared) return shared
  const dest = pino.destination({ fd: 1, sync: true, minLength: 4096, periodicFlush: 1000 })
  process.once('exit', () => dest.flush())
  shared = {
    write(line: string) {
      dest.write(line)
      // Every line starts {"level":NN: 40 and above are warn, error and fatal.
      if (line.charCodeAt(9) >= 52) dest.flush()
    },
    flush: () => dest.flush(),
  } as DestinationStream
  return shared
}
