// Failed-login throttle of the token service (SPEC §6; attack #81), on a frozen clock.
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { createLoginThrottle, ipKey } from '../../../src/issuer/login-throttle.js'

const T0 = Date.UTC(2025, 0, 1)
const s = (seconds: number): number => T0 + seconds * 1000

function failTimes(throttle: ReturnType<typeof createLoginThrottle>, n: number, account: string, ip: string, at = T0): void {
  for (let i = 0; i < n; i++) throttle.failed(account, ip, at)
}

describe('login throttle per account', () => {
  it('allows four failures and locks the account for 30 s at the fifth', () => {
    const t = createLoginThrottle()
    failTimes(t, 4, 'alice', '192.0.2.1')
    assert.equal(t.retryAfter('alice', '192.0.2.1', T0), 0)
    t.failed('alice', '192.0.2.1', T0)
    assert.equal(t.retryAfter('alice', '192.0.2.1', T0), 30)
    assert.equal(t.retryAfter('alice', '192.0.2.1', s(10)), 20)
    assert.equal(t.retryAfter('alice', '192.0.2.1', s(29.5)), 1, 'rounded up, never 0 while locked')
    assert.equal(t.retryAfter('alice', '192.0.2.1', s(30)), 0)
  })

  it('locks the account only from the guessing address, never from every address (issue 12)', () => {
    const t = createLoginThrottle()
    failTimes(t, 5, 'alice', '198.51.100.1')
    assert.equal(t.retryAfter('alice', '198.51.100.1', T0), 30)
    assert.equal(t.retryAfter('alice', '203.0.113.9', T0), 0, 'the real alice elsewhere is not locked out')
    assert.equal(t.retryAfter('bob', '203.0.113.9', T0), 0, 'another account from another place is not locked')
  })

  it('lets one attempt through once the Retry-After it gave has passed', () => {
    const t = createLoginThrottle()
    failTimes(t, 5, 'alice', '192.0.2.1')
    const wait = t.retryAfter('alice', '192.0.2.1', T0)
    assert.equal(t.begin('alice', '192.0.2.1', T0 + (wait - 1) * 1000).retryAfter > 0, true, 'still locked a second early')
    const attempt = t.begin('alice', '192.0.2.1', T0 + wait * 1000)
    assert.equal(attempt.retryAfter, 0, 'open exactly when Retry-After said')
    assert.equal(t.begin('alice', '192.0.2.1', T0 + wait * 1000).retryAfter, 1, 'one at a time past a lock')
    attempt.finish(true, T0 + wait * 1000)
    assert.equal(t.retryAfter('alice', '192.0.2.1', T0 + wait * 1000), 0)
  })

  it('doubles the lock with every further failure, up to 15 minutes', () => {
    const t = createLoginThrottle()
    failTimes(t, 5, 'alice', '192.0.2.1')
    let now = T0
    const locks: number[] = []
    for (let i = 0; i < 8; i++) {
      now += t.retryAfter('alice', '192.0.2.1', now) * 1000
      t.failed('alice', '192.0.2.1', now)
      locks.push(t.retryAfter('alice', '192.0.2.1', now))
    }
    assert.deepEqual(locks, [60, 120, 240, 480, 900, 900, 900, 900])
  })

  it('counts an unknown account exactly like a known one', () => {
    const t = createLoginThrottle()
    failTimes(t, 5, 'no-such-user', '192.0.2.1')
    assert.equal(t.retryAfter('no-such-user', '192.0.2.1', T0), 30)
  })

  it('forgets failures 15 minutes after the last one', () => {
    const t = createLoginThrottle()
    failTimes(t, 4, 'alice', '192.0.2.1')
    t.failed('alice', '192.0.2.1', s(900) + 1)
    assert.equal(t.retryAfter('alice', '192.0.2.1', s(900) + 1), 0, 'the count started over')
    failTimes(t, 4, 'alice', '192.0.2.1', s(1000))
    assert.equal(t.retryAfter('alice', '192.0.2.1', s(1000)), 30, 'failures within the window add up')
  })

  it('keeps counting for a window after a lock ends, so the next lock is longer', () => {
    const t = createLoginThrottle()
    failTimes(t, 5, 'alice', '192.0.2.1')
    t.failed('alice', '192.0.2.1', s(30 + 800))
    assert.equal(t.retryAfter('alice', '192.0.2.1', s(30 + 800)), 60)
  })

  it('clears the account on success but not the address', () => {
    const t = createLoginThrottle()
    failTimes(t, 4, 'alice', '192.0.2.1')
    failTimes(t, 14, 'mallory-target', '192.0.2.1') // the address is at 18
    t.succeeded('alice', '192.0.2.1')
    t.failed('alice', '192.0.2.1', T0)
    assert.equal(t.retryAfter('alice', '192.0.2.1', T0), 0, 'alice starts from one failure again')
    t.failed('carol', '192.0.2.1', T0)
    assert.equal(t.retryAfter('dave', '192.0.2.1', T0), 30, 'the address reached 20 failures regardless')
  })
})

describe('login throttle per address', () => {
  it('locks an address after 20 failures spread over many accounts', () => {
    const t = createLoginThrottle()
    for (let i = 0; i < 19; i++) t.failed(`user${i}`, '192.0.2.7', T0)
    assert.equal(t.retryAfter('anyone', '192.0.2.7', T0), 0)
    t.failed('user19', '192.0.2.7', T0)
    assert.equal(t.retryAfter('anyone', '192.0.2.7', T0), 30)
    assert.equal(t.retryAfter('anyone', '192.0.2.8', T0), 0, 'a neighbouring address is not locked')
  })

  it('counts IPv4-mapped IPv6 as its IPv4 address and IPv6 by its /64', () => {
    assert.equal(ipKey('::ffff:192.0.2.1'), '192.0.2.1')
    assert.equal(ipKey('2001:db8:1:2::1'), ipKey('2001:db8:1:2:ffff:ffff:ffff:ffff'))
    assert.notEqual(ipKey('2001:db8:1:2::1'), ipKey('2001:db8:1:3::1'))
    const t = createLoginThrottle({ perIp: 3 })
    t.failed('a', '2001:db8::1', T0)
    t.failed('b', '2001:db8::2', T0)
    t.failed('c', '2001:db8::ffff:3', T0)
    assert.equal(t.retryAfter('d', '2001:db8::4', T0), 30)
  })
})

describe('login throttle options and bounds', () => {
  it('takes its thresholds and lock lengths from options', () => {
    const t = createLoginThrottle({ perAccount: 2, perIp: 100, windowSeconds: 60, maxLockSeconds: 45 })
    failTimes(t, 2, 'alice', '192.0.2.1')
    assert.equal(t.retryAfter('alice', '192.0.2.1', T0), 30)
    t.failed('alice', '192.0.2.1', s(30))
    assert.equal(t.retryAfter('alice', '192.0.2.1', s(30)), 45, 'capped at maxLockSeconds')
    assert.equal(t.retryAfter('alice', '192.0.2.1', s(30 + 45 + 61)), 0)
  })

  it('stays bounded: the least recently failing entries are forgotten first', () => {
    const t = createLoginThrottle({ maxEntries: 100, perIp: 1_000_000 })
    failTimes(t, 5, 'alice', '192.0.2.1')
    for (let i = 0; i < 100; i++) t.failed(`random-${i}`, '192.0.2.1', T0)
    assert.equal(t.retryAfter('alice', '198.51.100.1', T0), 0)
  })

  it('refuses nonsense options', () => {
    assert.throws(() => createLoginThrottle({ perAccount: 0 }), RangeError)
    assert.throws(() => createLoginThrottle({ windowSeconds: Number.NaN }), RangeError)
  })
})

describe('login throttle attempts in flight (begin)', () => {
  it('stops a parallel burst at four times the limit on a clean account, before any failure is recorded', () => {
    const t = createLoginThrottle()
    const burst = Array.from({ length: 50 }, () => t.begin('alice', '192.0.2.1', T0))
    assert.equal(burst.filter((a) => a.retryAfter === 0).length, 20, 'twenty passwords checked, not fifty')
    assert.ok(burst.slice(20).every((a) => a.retryAfter >= 1))
    for (const a of burst) a.finish(false, T0)
    assert.ok(t.retryAfter('alice', '192.0.2.1', T0) >= 30, 'the twenty that ran are counted as failures')
  })

  it('lets parallel correct logins of a clean account through', () => {
    const t = createLoginThrottle()
    const logins = Array.from({ length: 10 }, () => t.begin('alice', '192.0.2.1', T0))
    assert.ok(logins.every((a) => a.retryAfter === 0))
    for (const a of logins) a.finish(true, T0)
    assert.equal(t.retryAfter('alice', '192.0.2.1', T0), 0)
  })

  it('after one failure, a parallel burst is cut at the limit', () => {
    const t = createLoginThrottle()
    t.begin('alice', '192.0.2.1', T0).finish(false, T0)
    const burst = Array.from({ length: 50 }, () => t.begin('alice', '192.0.2.1', T0))
    assert.equal(burst.filter((a) => a.retryAfter === 0).length, 4, 'one failure plus four in flight reach five')
    for (const a of burst) a.finish(false, T0)
  })

  it('frees the place on finish, records the outcome once, and clears the account on success', () => {
    const t = createLoginThrottle({ perAccount: 2 })
    const held = Array.from({ length: 8 }, () => t.begin('alice', '192.0.2.1', T0))
    assert.equal(t.begin('alice', '192.0.2.1', T0).retryAfter, 1, 'eight in flight fill a clean account (2 x 4)')
    for (const a of held.slice(2)) a.finish(true, T0)
    const [first, second] = held as [ReturnType<typeof t.begin>, ReturnType<typeof t.begin>]
    first.finish(true, T0)
    first.finish(false, T0)
    second.finish(false, T0)
    assert.equal(t.retryAfter('alice', '192.0.2.1', T0), 0, 'one failure: below the limit')
    const third = t.begin('alice', '192.0.2.1', T0)
    assert.equal(third.retryAfter, 0)
    third.finish(false, T0)
    assert.equal(t.retryAfter('alice', '192.0.2.1', T0), 30)
    assert.equal(t.begin('alice', '192.0.2.1', T0).retryAfter, 30, 'a locked account answers with the lock')
  })

  it('holds places per address too', () => {
    const t = createLoginThrottle({ perIp: 3 })
    const held = Array.from({ length: 12 }, (_, n) => t.begin(`user${n}`, '192.0.2.1', T0))
    assert.ok(held.every((a) => a.retryAfter === 0))
    assert.equal(t.begin('d', '192.0.2.1', T0).retryAfter, 1)
    assert.equal(t.begin('d', '192.0.2.2', T0).retryAfter, 0)
  })
})
