// Failed Basic logins of the token service (SPEC §6; attack #81), counted
// per (client address, account name) and per client address: past a threshold that
// pair, or that address, is locked for a while, longer with every further failure
// (429 with a true Retry-After). Never per account alone: wrong passwords sent from
// one address must not lock the real user out from another (issue 12: lock-out is
// not a weapon). In memory and bounded: the least recently failing entries go first.
import { dummyVerify, verifyPassword } from '../accounts/password-hash.js'
import ipaddr from 'ipaddr.js'
import { LRUCache } from 'lru-cache'

export interface LoginThrottle {
  /** Seconds to wait before another attempt is allowed, or 0. Call before checking the password. */
  retryAfter(account: string, ip: string, nowMs: number): number
  failed(account: string, ip: string, nowMs: number): void
  succeeded(account: string, ip: string): void
  /**
   * retryAfter that also holds a place while the password is checked: attempts in
   * flight count toward the limits, so a burst sent in parallel (all passing
   * retryAfter before the first failure is recorded) is stopped like one sent in a
   * row. When `retryAfter` is 0, call `finish` exactly once (in a `finally`).
   */
  begin(account: string, ip: string, nowMs: number): LoginAttempt
}

export interface LoginAttempt {
  /** As LoginThrottle.retryAfter; at least 1 while too many attempts are in flight. */
  readonly retryAfter: number
  /** Records the outcome (failed or succeeded) and frees the place; later calls do nothing. */
  finish(ok: boolean, nowMs: number): void
}

export interface LoginThrottleOptions {
  /** Failures of one account name from one address before that pair is locked; default 5. */
  perAccount?: number
  /** Failures from one address before it is locked; default 20. */
  perIp?: number
  /** Failures are forgotten this long after the last one (or after the lock ends); default 900. */
  windowSeconds?: number
  /** The longest lock; default 900. */
  maxLockSeconds?: number
  /** The first lock; it doubles with every further failure; default 30. */
  firstLockSeconds?: number
  /** Entries kept per kind; default 10 000. */
  maxEntries?: number
}

interface Entry {
  failures: number
  lastFailureMs: number
  lockedUntilMs: number
}

// How many more attempts a key with a clean record may have in flight than its failure limit.
const BURST = 4

// Long names share an entry rather than cost unbounded memory (a Basic header may be 8 KiB).
const MAX_KEY_LENGTH = 256

export function createLoginThrottle(opts: LoginThrottleOptions = {}): LoginThrottle {
  const windowMs = positive(opts.windowSeconds, 900, 'windowSeconds') * 1000
  const maxLockMs = positive(opts.maxLockSeconds, 900, 'maxLockSeconds') * 1000
  const lock = { windowMs, maxLockMs, firstLockMs: Math.min(positive(opts.firstLockSeconds, 30, 'firstLockSeconds') * 1000, maxLockMs) }
  const maxEntries = positive(opts.maxEntries, 10_000, 'maxEntries')
  const accounts = new FailureCounter({ ...lock, limit: positive(opts.perAccount, 5, 'perAccount'), maxEntries })
  const ips = new FailureCounter({ ...lock, limit: positive(opts.perIp, 20, 'perIp'), maxEntries })

  const throttle: LoginThrottle = {
    retryAfter: (account, ip, nowMs) => toSeconds(Math.max(accounts.waitMs(pairKey(account, ip), nowMs), ips.waitMs(ipKey(ip), nowMs))),
    // Unknown names are counted like known ones: the throttle must not tell them apart (#81).
    failed(account, ip, nowMs) {
      accounts.fail(pairKey(account, ip), nowMs)
      ips.fail(ipKey(ip), nowMs)
    },
    // Only the pair is forgiven: one good password must not reset the count of
    // an address that is guessing other accounts' passwords.
    succeeded: (account, ip) => accounts.clear(pairKey(account, ip)),
    begin(account, ip, nowMs) {
      const a = pairKey(account, ip)
      const i = ipKey(ip)
      const wait = throttle.retryAfter(account, ip, nowMs)
      if (wait > 0) return { retryAfter: wait, finish: () => {} }
      if (accounts.full(a, nowMs) || ips.full(i, nowMs)) return { retryAfter: 1, finish: () => {} }
      accounts.hold(a, +1)
      ips.hold(i, +1)
      let open = true
      return {
        retryAfter: 0,
        finish(ok, endMs) {
          if (!open) return
          open = false
          accounts.hold(a, -1)
          ips.hold(i, -1)
          if (ok) throttle.succeeded(account, ip)
          else throttle.failed(account, ip, endMs)
        },
      }
    },
  }
  return throttle
}

/** Failures per key (one account name, or one address) in an LRU, plus the attempts in flight. */
class FailureCounter {
  readonly #entries: LRUCache<string, Entry>
  // Bounded by the number of concurrent requests, each of which frees its place.
  readonly #inFlight = new Map<string, number>()
  readonly o: { limit: number; windowMs: number; firstLockMs: number; maxLockMs: number; maxEntries: number }

  constructor(o: FailureCounter['o']) {
    this.o = o
    this.#entries = new LRUCache<string, Entry>({ max: o.maxEntries })
  }

  waitMs(key: string, nowMs: number): number {
    const e = this.#live(key, nowMs)
    return e === undefined ? 0 : Math.max(0, e.lockedUntilMs - nowMs)
  }

  /**
   * True when the failures so far plus the attempts in flight reach the limit. A key
   * with no failure yet may have BURST times as many in flight, so parallel correct
   * logins (automation, many users behind one NAT) are not refused, while a parallel
   * guessing burst is still cut at a small bound before its first failure is known.
   */
  full(key: string, nowMs: number): boolean {
    const failures = this.#live(key, nowMs)?.failures ?? 0
    const inFlight = this.#inFlight.get(key) ?? 0
    if (failures === 0) return inFlight >= this.o.limit * BURST
    // Past a lock that has ended, one attempt at a time: the Retry-After we gave is kept.
    if (failures >= this.o.limit) return inFlight >= 1
    return failures + inFlight >= this.o.limit
  }

  fail(key: string, nowMs: number): void {
    const e = this.#live(key, nowMs) ?? { failures: 0, lastFailureMs: nowMs, lockedUntilMs: 0 }
    e.failures += 1
    e.lastFailureMs = nowMs
    if (e.failures >= this.o.limit) {
      // 30 s at the limit, then 60 s, 120 s, … up to maxLockMs (the exponent is capped so it stays finite).
      const lockMs = Math.min(this.o.maxLockMs, this.o.firstLockMs * 2 ** Math.min(e.failures - this.o.limit, 30))
      e.lockedUntilMs = Math.max(e.lockedUntilMs, nowMs + lockMs)
    }
    this.#entries.set(key, e)
  }

  clear(key: string): void {
    this.#entries.delete(key)
  }

  hold(key: string, delta: 1 | -1): void {
    const n = (this.#inFlight.get(key) ?? 0) + delta
    if (n > 0) this.#inFlight.set(key, n)
    else this.#inFlight.delete(key)
  }

  // An entry lives while failures keep coming: `windowMs` after the later of the last failure and the end of its lock.
  #live(key: string, nowMs: number): Entry | undefined {
    const e = this.#entries.get(key)
    if (e !== undefined && nowMs - Math.max(e.lastFailureMs, e.lockedUntilMs) > this.o.windowMs) {
      this.#entries.delete(key)
      return undefined
    }
    return e
  }
}

function toSeconds(ms: number): number {
  return Math.ceil(ms / 1000)
}

/** One account name as tried from one address (its /64 for IPv6). */
function pairKey(account: string, ip: string): string {
  return `${ipKey(ip)}\n${accountKey(account)}`
}

function accountKey(account: string): string {
  return account.length > MAX_KEY_LENGTH ? account.slice(0, MAX_KEY_LENGTH) : account
}

/**
 * IPv4-mapped IPv6 counts as its IPv4 address; other IPv6 addresses by their /64,
 * the block one subscriber usually holds, so rotating addresses within it does not
 * reset the count.
 */
export function ipKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return accountKey(ip)
  const addr = ipaddr.parse(ip)
  if (addr.kind() === 'ipv4') return addr.toString()
  const v6 = addr as ipaddr.IPv6
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString()
  return `${v6.parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`login throttle: ${name} must be a positive number`)
  return value
}

/**
 * Checks a secret against an account's hash under the throttle: unknown accounts do
 * the same hash work (`dummyHash`, #81), and parallel guesses cannot slip past the
 * count (begin holds a place). Returns the account, `false` for a wrong secret or an
 * unknown account, or the seconds to wait.
 */
export async function verifyThrottled<T>(
  throttle: LoginThrottle,
  key: string,
  ip: string,
  now: () => number,
  secret: string | readonly string[],
  account: T | undefined,
  hashOf: (account: T) => string,
  dummyHash: string | undefined,
): Promise<T | false | { retryAfter: number }> {
  const attempt = throttle.begin(key, ip, now())
  if (attempt.retryAfter > 0) return { retryAfter: attempt.retryAfter }
  let ok = false
  try {
    // Several readings of one secret (form-decoded and raw, SPEC §11) are one attempt;
    // an unknown account costs as many hash checks as a known one.
    for (const s of typeof secret === 'string' ? [secret] : secret) {
      ok = account !== undefined ? await verifyPassword(s, hashOf(account)) : await dummyVerify(s, dummyHash)
      if (ok) break
    }
  } finally {
    attempt.finish(ok, now())
  }
  return ok && account !== undefined ? account : false
}
