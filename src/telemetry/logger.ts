// pino, one JSON line per request (SPEC §8). Log calls pass only fields we chose
// (ids, names, statuses, durations), never a header value, a token, a key or a
// password; test/e2e/no-secrets.test.ts holds the whole log of a full run to that.
// No `redact` paths: its wildcard matching on every line cost about 5 % of a
// proxied request's CPU (bench profile) to guard fields that are never there.
import pino, { type DestinationStream, type Logger } from 'pino'
import { createStdoutSink } from './stdout-log.js'

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

type SharedStdout = DestinationStream & { flush(): void; dropped(): number }
let shared: SharedStdout | null = null

/** Lines of the process's log dropped because standard output could not take them (a metric). */
export function droppedLogLines(): number {
  return shared?.dropped() ?? 0
}

/**
 * Standard output, shared by every logger of the process (stdout-log.ts: batched,
 * never waits for the reader). Info lines (the access log) go out in 4 KiB batches
 * and at least once a second: one write per request cost about 4 % of a proxied
 * request's CPU (bench). Warnings and errors are written at once. pino's own
 * destinations are not used: sonic-boom retries a full or broken pipe in a loop,
 * so a slow reader stalled every request and a gone one kept the process from
 * exiting (test/unit/telemetry/logger.test.ts, test/e2e/slow-log-reader.test.ts).
 */
function stdout(): DestinationStream {
  if (shared !== null) return shared
  const sink = createStdoutSink(1)
  shared = {
    write(line: string) {
      sink.write(line)
      // Every line starts {"level":NN: 40 and above are warn, error and fatal.
      if (line.charCodeAt(9) >= 52) sink.flush()
    },
    flush: () => sink.flush(),
    dropped: () => sink.dropped(),
  } satisfies SharedStdout
  return shared
}
