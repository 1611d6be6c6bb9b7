// ISO 8601 durations, PnDTnHnMnS only (SPEC §2, §6).
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { formatDuration, parseDuration } from '../../../src/config/duration.js'

describe('parseDuration', () => {
  const good: [string, number][] = [
    ['PT1H', 3600],
    ['P1D', 86400],
    ['P1DT2H3M4S', 86400 + 2 * 3600 + 3 * 60 + 4],
    ['PT30M', 1800],
    ['PT45S', 45],
    ['PT90M', 5400],
    ['P0DT1S', 1],
    ['P365D', 365 * 86400],
    ['PT0H5M', 300],
  ]
  for (const [text, seconds] of good) {
    it(`reads ${text} as ${seconds} seconds`, () => {
      assert.deepEqual(parseDuration(text), { ok: true, seconds })
    })
  }

  const bad: [string, string, RegExp][] = [
    ['P1Y', 'years', /years, months or weeks/],
    ['P1M', 'months', /years, months or weeks/],
    ['P1W', 'weeks', /years, months or weeks/],
    ['P1Y2M3DT4H', 'years and months with days', /years, months or weeks/],
    ['P0D', 'zero days', /zero/],
    ['PT0S', 'zero seconds', /zero/],
    ['-PT1H', 'a negative duration', /sign/],
    ['+PT1H', 'an explicit plus sign', /sign/],
    ['PT0.5S', 'a fraction of a second', /fraction/],
    ['PT1,5H', 'a comma fraction', /fraction/],
    ['', 'an empty string', /empty/],
    ['P', 'a bare P', /PnDTnHnMnS/],
    ['PT', 'a bare PT', /PnDTnHnMnS/],
    ['P1DT', 'a T with nothing after it', /PnDTnHnMnS/],
    ['pt1h', 'lowercase', /PnDTnHnMnS/],
    ['1H', 'a missing P', /PnDTnHnMnS/],
    ['PT1H30', 'a number without a unit', /PnDTnHnMnS/],
    ['PT1M1H', 'units out of order', /PnDTnHnMnS/],
    ['P1H', 'hours before the T', /PnDTnHnMnS/],
    ['PT1H ', 'a trailing space', /PnDTnHnMnS/],
    ['3600', 'plain seconds', /PnDTnHnMnS/],
    ['PT9999999999S', 'a ten-digit number', /PnDTnHnMnS/],
    ['garbage', 'garbage', /PnDTnHnMnS/],
    [`P${'1'.repeat(100)}D`, 'a very long text', /too long/],
  ]
  for (const [text, name, message] of bad) {
    it(`refuses ${name} (${JSON.stringify(text.slice(0, 16))}) and says what is allowed`, () => {
      const r = parseDuration(text)
      assert.equal(r.ok, false)
      assert.ok(!r.ok)
      assert.match(r.message, message)
      assert.match(r.message, /PnDTnHnMnS/)
    })
  }

  it('never throws on values that are not strings', () => {
    for (const v of [undefined, null, 3600, {}]) assert.equal(parseDuration(v as unknown as string).ok, false)
  })
})

describe('formatDuration', () => {
  for (const text of ['PT1H', 'P1D', 'P1DT2H3M4S', 'PT45S', 'P2DT30M', 'PT1H1S']) {
    it(`gives ${text} back after parsing it`, () => {
      const r = parseDuration(text)
      assert.ok(r.ok)
      assert.equal(formatDuration(r.seconds), text)
    })
  }

  it('writes the canonical form of a non-canonical duration, which parses to the same seconds', () => {
    const r = parseDuration('PT90M')
    assert.ok(r.ok)
    assert.equal(formatDuration(r.seconds), 'PT1H30M')
    assert.deepEqual(parseDuration(formatDuration(r.seconds)), r)
  })

  it('round-trips every whole second up to two days', () => {
    for (let s = 1; s <= 2 * 86400; s += 37) assert.deepEqual(parseDuration(formatDuration(s)), { ok: true, seconds: s })
  })

  it('writes zero as PT0S and refuses fractions and negatives', () => {
    assert.equal(formatDuration(0), 'PT0S')
    assert.throws(() => formatDuration(1.5), RangeError)
    assert.throws(() => formatDuration(-1), RangeError)
  })
})
