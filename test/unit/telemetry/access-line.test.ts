// The access-log line is written from a template (src/telemetry/access-line.ts, issue 17)
// instead of pino's generic serialiser. pino is the oracle: for random entries, the
// line must be the one `logger.info(entry, 'request')` writes through the same logger,
// byte for byte, with level names and numbers, and from a child logger's bindings too.
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { afterEach, beforeEach, describe, it, mock } from 'node:test'
import fc from 'fast-check'
import { writeAccessLine, type AccessEntry } from '../../../src/telemetry/access-line.js'
import { createLogger, type Logger } from '../../../src/telemetry/logger.js'
import { Coverage, RUNS } from '../../property/runs.js'

function capture(levelFormat: 'name' | 'number', level = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      lines.push(String(chunk))
      done()
    },
  })
  // pino calls write() on its destination directly, once a line.
  return { logger: createLogger({ level, levelFormat }, sink), lines }
}

/** Lone surrogates are the one difference, on purpose (the last test). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Strings a request can bring: plain ASCII, quotes and backslashes, controls, non-ASCII, long ones. */
const text = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 60 }).filter((s) => !LONE_SURROGATE.test(s)),
  fc.constantFrom('', '"', '\\', '/a"b\\c', '\u0000\u001f\u007f', 'zürich/日本', 'x'.repeat(41), 'y'.repeat(42), '</script>'),
)
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined })
const entry: fc.Arbitrary<AccessEntry> = fc.record({
  reqId: text,
  clientIp: maybe(text),
  method: maybe(text),
  path: maybe(text),
  decision: maybe(fc.constant(true as const)),
  api: maybe(text),
  user: maybe(text),
  actor: maybe(text),
  credentialId: maybe(text),
  status: fc.integer({ min: 0, max: 999 }),
  outcome: text,
  reason: maybe(text),
  durationMs: fc.oneof(fc.double(), fc.integer().map((n) => n / 1000), fc.constantFrom(Number.NaN, Infinity, -Infinity)),
  upstreamMs: maybe(fc.oneof(fc.double(), fc.constant(0))),
})

describe('the access-log line is the one pino writes for the same entry', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: Date.UTC(2026, 11, 6, 12, 0, 0, 123) }))
  afterEach(() => mock.timers.reset())

  for (const levelFormat of ['name', 'number'] as const) {
    it(`levels as ${levelFormat}s, random entries`, () => {
      const seen = new Coverage(['escaped string', 'absent field', 'not finite'])
      fc.assert(
        fc.property(entry, fc.boolean(), (e, child) => {
          const { logger, lines } = capture(levelFormat)
          const log = child ? logger.child({ component: 'proxy "x"' }) : logger
          writeAccessLine(log, e)
          log.info({ ...e }, 'request')
          assert.equal(lines.length, 2)
          assert.equal(lines[0], lines[1])
          seen.record(/\\/.test(lines[0] as string) && 'escaped string', Object.values(e).includes(undefined) && 'absent field', !Number.isFinite(e.durationMs) && 'not finite')
        }),
        { numRuns: RUNS },
      )
      seen.assertReached()
    })
  }

  it('nothing is written when the level is above info, as with logger.info', () => {
    const { logger, lines } = capture('name', 'warn')
    writeAccessLine(logger, { reqId: 'r', clientIp: undefined, method: 'GET', path: '/', decision: undefined, api: undefined, user: undefined, actor: undefined, credentialId: undefined, status: 200, outcome: 'allowed', reason: undefined, durationMs: 1, upstreamMs: undefined })
    assert.deepEqual(lines, [])
  })

  it('a lone surrogate is escaped, so the line stays valid UTF-8 JSON (pino writes it raw in a short string)', () => {
    const { logger, lines } = capture('name')
    writeAccessLine(logger, { reqId: 'r', clientIp: undefined, method: 'GET', path: '/a\ud800', decision: undefined, api: undefined, user: undefined, actor: undefined, credentialId: undefined, status: 200, outcome: 'allowed', reason: undefined, durationMs: 1, upstreamMs: undefined })
    assert.match(lines[0] as string, /"path":"\/a\\ud800"/)
    assert.equal((JSON.parse(lines[0] as string) as { path: string }).path, '/a\ud800')
  })
})
