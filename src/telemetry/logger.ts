// pino, one JSON line per request (SPEC §8). Log calls pass only fields we chose
// (ids, names, statuses, durations), never a header value, a token, a key or a
// password; test/e2e/no-secrets.test.ts holds the whole log of a full run to that.
// No `redact` paths: its wildcard matching on every line cost about 5 % of a
// proxied request's CPU (bench profile) to guard fields that are never there.
import pino, { type DestinationStream, type Logger } from 'pino'
import { createStdoutSink } from './stdout-log.js'

export type { Logger }

export interface LogSettings {
  readonly level: string
  /** `name` ("level":"info", what log pipelines read: Loki, Elastic, Cloud Logging) or pino's `number` (30). */
  readonly levelFormat?: 'name' | 'number'
}

export function createLogger(settings: LogSettings, destination?: NodeJS.WritableStream): Logger {
  const byName = (settings.levelFormat ?? 'name') === 'name'
  return pino(
    {
      level: settings.level,
      base: { service: 'gatehouse' },
      timestamp: isoTimestamp,
      ...(byName ? { formatters: { level: (label: string) => ({ level: label }) } } : {}),
    },
    destination ?? stdout(),
  )
}

let stampMs = Number.NaN
let stamp = ''

/**
 * pino's isoTime, formatted once per millisecond: at thousands of lines a second,
 * toISOString on every line was ~1 % of a proxied request's CPU (bench profile).
 */
export function isoTimestamp(): string {
  const now = Date.now()
  if (now !== stampMs) {
    stampMs = now
    stamp = `,"time":"${new Date(now).toISOString()}"`
  }
  return stamp
}

/** Whether a line pino wrote is a warning or worse: `{"level":"warn"…`, `"error"`, `"fatal"`, or 40 and above. */
export function isUrgent(line: string): boolean {
  const c = line.charCodeAt(9)
  if (c !== 0x22) return c >= 0x34
  const first = line.charCodeAt(10)
  return first === 0x77 || first === 0x65 || first === 0x66
}

type SharedStdout = DestinationStream & { flush(): void; dropped(): number }
let shared: SharedStdout | null = null

/** Lines of the process's log dropped because standard output could not take them (a metric). */
export function droppedLogLines(): number {
  return shared?.dropped() ?? 0
}

/**
 * Standard output, shared by every logger of the process (stdout-log.ts: batched,
 * never waits for the reader). Info lines (the access log) go out in 64 KiB batches
 * and at least once a second: one write per request cost about 4 % of a proxied
 * request's CPU (bench), one per 4 KiB still about 7 % (profile). Warnings and
 * errors are written at once. pino's own destinations are not used: sonic-boom
 * retries a full or broken pipe in a loop, so a slow reader stalled every request
 * and a gone one kept the process from exiting (test/unit/telemetry/logger.test.ts, test/e2e/slow-log-reader.test.ts).
 */
function stdout(): DestinationStream {
  if (shared !== null) return shared
  const sink = createStdoutSink(1)
  shared = {
    write(line: string) {
      sink.write(line)
      // Every line starts with its level (createLogger): warnings and worse go out at once.
      if (isUrgent(line)) sink.flush()
    },
    flush: () => sink.flush(),
    dropped: () => sink.dropped(),
  } satisfies SharedStdout
  return shared
}
