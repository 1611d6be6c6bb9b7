// limits.authFailuresPerMinute (README "Limits": N per address, IPv6 per /64, 429 with
// Retry-After: 60; 0 = off; attack #76): a client address whose unverified credentials
// failed N times in a minute is blocked for the rest of that minute. The clock is the
// caller's (nowMs), so the minute's edges are tested exactly, without sleeping.
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { createFailureThrottle } from '../../../src/pipeline/failure-throttle.js'

const T0 = 1_700_000_000_000
const MINUTE = 60_000

describe('createFailureThrottle', () => {
  it('is off (null) at 0, as the README documents', () => {
    assert.equal(createFailureThrottle(0), null)
  })

  it('blocks an address after N failures within a minute, for the rest of that minute', () => {
    const t = createFailureThrottle(3)
    assert.ok(t)
    assert.equal(t.blocked('192.0.2.1', T0), false, 'no failure yet')
    t.failed('192.0.2.1', T0)
    t.failed('192.0.2.1', T0 + 10)
    assert.equal(t.blocked('192.0.2.1', T0 + 20), false, 'two of three')
    t.failed('192.0.2.1', T0 + 30)
    assert.equal(t.blocked('192.0.2.1', T0 + 30), true, 'three of three')
    assert.equal(t.blocked('192.0.2.1', T0 + MINUTE - 1), true, 'the last millisecond of the minute')
    assert.equal(t.blocked('192.0.2.1', T0 + MINUTE), false, 'a minute after the first failure')
    assert.equal(t.blocked('192.0.2.2', T0 + 30), false, 'another address')
  })

  it('a failure after the minute starts a new count of one', () => {
    const t = createFailureThrottle(2)
    assert.ok(t)
    t.failed('192.0.2.1', T0)
    t.failed('192.0.2.1', T0 + MINUTE) // the old minute is over: this is failure 1 of a new one
    assert.equal(t.blocked('192.0.2.1', T0 + MINUTE), false)
    t.failed('192.0.2.1', T0 + MINUTE + 1)
    assert.equal(t.blocked('192.0.2.1', T0 + MINUTE + 1), true)
    assert.equal(t.blocked('192.0.2.1', T0 + 2 * MINUTE), false)
  })

  it('with N = 1 the first failure blocks', () => {
    const t = createFailureThrottle(1)
    assert.ok(t)
    t.failed('192.0.2.1', T0)
    assert.equal(t.blocked('192.0.2.1', T0), true)
  })

  it('counts IPv6 clients per /64, IPv4 clients per address', () => {
    const t = createFailureThrottle(2)
    assert.ok(t)
    t.failed('2001:db8:1:2::1', T0)
    t.failed('2001:db8:1:2:ffff:ffff:ffff:9', T0)
    assert.equal(t.blocked('2001:db8:1:2::abcd', T0), true, 'the same /64')
    assert.equal(t.blocked('2001:db8:1:3::1', T0), false, 'the next /64')
    // Two /64s whose bytes would run together without a separator: 1,23 and 12,3.
    t.failed('2001:db8:0:117::1', T0)
    t.failed('2001:db8:0:117::2', T0)
    assert.equal(t.blocked('2001:db8:0:117::3', T0), true)
    assert.equal(t.blocked('2001:db8:0:c03::1', T0), false)
    t.failed('192.0.2.1', T0)
    t.failed('192.0.2.2', T0)
    assert.equal(t.blocked('192.0.2.1', T0), false)
    assert.equal(t.blocked('192.0.2.2', T0), false)
  })

  it('an address that is no IPv6 address despite its colon is counted by itself', () => {
    const t = createFailureThrottle(1)
    assert.ok(t)
    t.failed('not:an-address', T0)
    assert.equal(t.blocked('not:an-address', T0), true)
    assert.equal(t.blocked('not:another', T0), false)
  })

  it('is bounded: at maxEntries the address whose minute started first is forgotten', () => {
    const t = createFailureThrottle(1, 2)
    assert.ok(t)
    t.failed('192.0.2.1', T0)
    t.failed('192.0.2.2', T0 + 1)
    t.failed('192.0.2.3', T0 + 2)
    assert.equal(t.blocked('192.0.2.1', T0 + 3), false, 'forgotten')
    assert.equal(t.blocked('192.0.2.2', T0 + 3), true)
    assert.equal(t.blocked('192.0.2.3', T0 + 3), true)
  })

  it('a new minute of an address counts as started now when the oldest is chosen', () => {
    const t = createFailureThrottle(1, 2)
    assert.ok(t)
    t.failed('192.0.2.1', T0)
    t.failed('192.0.2.2', T0 + 1000)
    t.failed('192.0.2.1', T0 + MINUTE + 1) // .1's new minute starts after .2's
    t.failed('192.0.2.3', T0 + MINUTE + 2) // so .2 is the one forgotten
    assert.equal(t.blocked('192.0.2.1', T0 + MINUTE + 3), true)
    assert.equal(t.blocked('192.0.2.2', T0 + MINUTE + 3), false)
    assert.equal(t.blocked('192.0.2.3', T0 + MINUTE + 3), true)
  })
})
