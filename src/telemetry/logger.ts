// pino, one JSON line per request (SPEC §8). Nothing logged carries a header
// value; the redact list is a second line of defence should someone log one.
import pino, { type Logger } from 'pino'

export type { Logger }

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['*.authorization', '*.Authorization', '*["x-api-key"]', '*.password', '*.secret', '*.token', '*.key'],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  )
}
