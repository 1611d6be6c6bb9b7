// attack #76: a client address whose credentials keep failing waits (429 with
// Retry-After) before another unverified credential of its is checked. Credentials
// already verified (in the cache) still pass, so one broken client behind a shared
// address does not lock the others out. The key space needs no such guard (≥ 190-bit
// secrets); this bounds the verification work and the noise one address can cause.
import ipaddr from 'ipaddr.js'

export interface FailureThrottle {
  /** True while `ip` has used up its failures of the current minute. */
  blocked(ip: string, nowMs: number): boolean
  failed(ip: string, nowMs: number): void
}

const WINDOW_MS = 60_000

interface Window {
  startMs: number
  failures: number
}

/** Null when `perMinute` is 0 (config limits.authFailuresPerMinute: off). */
export function createFailureThrottle(perMinute: number, maxEntries = 10_000): FailureThrottle | null {
  if (perMinute <= 0) return null
  const windows = new Map<string, Window>()
  return {
    blocked(ip, nowMs) {
      const w = windows.get(keyOf(ip))
      return w !== undefined && nowMs - w.startMs < WINDOW_MS && w.failures >= perMinute
    },
    failed(ip, nowMs) {
      const key = keyOf(ip)
      const w = windows.get(key)
      if (w !== undefined && nowMs - w.startMs < WINDOW_MS) {
        w.failures++
        return
      }
      windows.delete(key)
      // Bounded: the address that started its window longest ago is forgotten first.
      if (windows.size >= maxEntries) windows.delete(windows.keys().next().value as string)
      windows.set(key, { startMs: nowMs, failures: 1 })
    },
  }
}

/** IPv6 clients are counted per /64: one host usually holds a whole /64. */
function keyOf(ip: string): string {
  if (ip.indexOf(':') === -1) return ip
  try {
    return ipaddr.IPv6.parse(ip).toByteArray().slice(0, 8).join('.')
  } catch {
    return ip
  }
}
