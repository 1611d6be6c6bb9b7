// Property tests of ISO 8601 durations (SPEC §2, §6: PnDTnHnMnS): formatting and
// parsing round-trip for every positive length, every spelling of the allowed form
// parses to its sum, and nothing thrown at the parser makes it throw.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { formatDuration, MAX_DURATION_SECONDS, parseDuration } from '../../src/config/duration.js'
import { Coverage, RUNS } from './runs.js'

// Mostly lengths a config would hold, so the sum lands on both sides of the limit;
// sometimes huge, so that overflow and "too long" are reached too.
const component = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 60 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 20_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 999_999_999 }) },
  { weight: 1, arbitrary: fc.constant(999_999_999) },
)

describe('ISO 8601 duration properties', () => {
  test('parseDuration(formatDuration(s)) is s for every positive whole number of seconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_DURATION_SECONDS }), (s) => {
        const text = formatDuration(s)
        const back = parseDuration(text)
        assert.ok(back.ok, text)
        assert.equal(back.seconds, s)
      }),
      { numRuns: RUNS },
    )
  })

  test('any PnDTnHnMnS spelling parses to its sum, and its canonical form parses to the same', () => {
    const reached = new Coverage(['accepted', 'accepted, over a day', 'refused: P alone', 'refused: zero', 'refused: too long', 'days only', 'time only', 'days and time'] as const)
    fc.assert(
      fc.property(
        fc.option(component, { nil: undefined, freq: 2 }),
        fc.option(component, { nil: undefined, freq: 2 }),
        fc.option(component, { nil: undefined, freq: 2 }),
        fc.option(component, { nil: undefined, freq: 2 }),
        (d, h, m, s) => {
          const time = (h !== undefined ? `${h}H` : '') + (m !== undefined ? `${m}M` : '') + (s !== undefined ? `${s}S` : '')
          const text = `P${d !== undefined ? `${d}D` : ''}${time ? `T${time}` : ''}`
          const sum = (((d ?? 0) * 24 + (h ?? 0)) * 60 + (m ?? 0)) * 60 + (s ?? 0)
          const r = parseDuration(text)
          reached.record(
            text === 'P' ? 'refused: P alone' : sum === 0 ? 'refused: zero' : sum > MAX_DURATION_SECONDS ? 'refused: too long' : 'accepted',
            sum > 86_400 && sum <= MAX_DURATION_SECONDS && 'accepted, over a day',
            d !== undefined && !time && 'days only',
            d === undefined && !!time && 'time only',
            d !== undefined && !!time && 'days and time',
          )
          if (text === 'P' || sum === 0 || sum > MAX_DURATION_SECONDS) {
            assert.equal(r.ok, false, text)
            return
          }
          assert.ok(r.ok, `${text}: ${r.ok ? '' : r.message}`)
          assert.equal(r.seconds, sum)
          assert.ok(Number.isSafeInteger(r.seconds))
          const canonical = parseDuration(formatDuration(r.seconds))
          assert.ok(canonical.ok && canonical.seconds === sum)
        },
      ),
      { numRuns: RUNS },
    )
    reached.assertReached(0.01)
  })

  test('never throws, and accepts only the one form: no years, months, weeks, fractions, signs or lowercase', () => {
    const pieces = fc.constantFrom('P', 'T', 'D', 'H', 'M', 'S', 'Y', 'W', 'p', 't', '1', '0', '9', '12', '.5', ',5', '-', '+', ' ', 'P1', 'PT')
    fc.assert(
      fc.property(fc.oneof(fc.array(pieces, { maxLength: 10 }).map((p) => p.join('')), fc.string({ maxLength: 80 })), (text) => {
        const r = parseDuration(text)
        if (r.ok) {
          assert.match(text, /^P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?$/)
          assert.ok(r.seconds > 0)
        } else assert.equal(typeof r.message, 'string')
      }),
      { numRuns: RUNS },
    )
  })
})
