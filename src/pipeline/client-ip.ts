// SPEC §3.2: the client address is the socket peer, or — only when that peer is a
// trusted proxy — the right-most X-Forwarded-For hop that is not itself trusted.
// Left-most would let any client choose its own address (security-cases #61).
// X-Real-IP, Forwarded, True-Client-IP and kin are never read (security-cases #60).
import { canonicalIp, type IpSet } from '../net/ip-filter.js'

/** Stands in for a socket address that is missing or unreadable; no filter allows it. */
const UNKNOWN = 'unknown'

/**
 * The canonical client address. `forwardedFor` is every X-Forwarded-For value in
 * the order received; hops are read right to left across all of them.
 */
export function resolveClientIp(
  peerIp: string,
  forwardedFor: readonly string[],
  trusted: IpSet,
  trustedIsEmpty: boolean,
): string {
  const peer = canonicalIp(peerIp)
  if (peer === null) return UNKNOWN
  if (trustedIsEmpty || !trusted.has(peer)) return peer

  let last = peer // the left-most trusted address seen so far
  for (let h = forwardedFor.length - 1; h >= 0; h--) {
    const value = forwardedFor[h] as string
    let end = value.length
    for (;;) {
      const comma = end > 0 ? value.lastIndexOf(',', end - 1) : -1
      const hop = trimOws(value, comma + 1, end)
      // RFC 9110 §5.6.1: empty list elements do not count.
      if (hop !== '') {
        const ip = canonicalIp(hop)
        // A malformed hop means nothing to its left can be attributed; stop at
        // the last address a trusted proxy vouched for.
        if (ip === null) return last
        if (!trusted.has(ip)) return ip
        last = ip
      }
      if (comma === -1) break
      end = comma
    }
  }
  // Every hop is a trusted proxy: the request started inside the trusted network.
  return last
}

function trimOws(s: string, start: number, end: number): string {
  while (start < end && isOws(s.charCodeAt(start))) start++
  while (end > start && isOws(s.charCodeAt(end - 1))) end--
  return start === 0 && end === s.length ? s : s.slice(start, end)
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09
}
