// SPEC §3.2: the client address is the socket peer, or — only when that peer is a
// trusted proxy — the right-most X-Forwarded-For hop that is not itself trusted.
// Left-most would let any client choose its own address (attack #61).
// X-Real-IP, Forwarded, True-Client-IP and kin are never read (attack #60)
// and are removed before forwarding (identityHeaders.removeHeaders). A hop that
// does not parse fails closed (issue 13): the request is refused, never
// attributed to the proxy that vouched for it.
import { canonicalIp } from '../net/ip-address.js'
import { type IpSet } from '../net/ip-filter.js'

/** Stands in for a socket address that is missing or unreadable; no filter allows it. */
const UNKNOWN = 'unknown'

/**
 * The canonical client address. `forwardedFor` is every X-Forwarded-For value in
 * the order received; hops are read right to left across all of them. Null when
 * the right-most untrusted hop is not an address (`unknown`, garbage, `127.1`).
 */
export function resolveClientIp(
  peerIp: string,
  forwardedFor: readonly string[],
  trusted: IpSet,
  trustedIsEmpty: boolean,
): string | null {
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
        const ip = hopAddress(hop)
        // The trusted proxy vouched for a client it could not name: refuse
        // rather than blame (or allow) the proxy's own address.
        if (ip === null) return null
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

/**
 * A hop as proxies write it: an address, `a.b.c.d:port`, `[v6]` or `[v6]:port`
 * (RFC 7239 §6 spells nodes this way, and some proxies copy that into XFF).
 */
export function hopAddress(hop: string): string | null {
  if (hop.charCodeAt(0) === 0x5b) {
    const close = hop.indexOf(']')
    if (close === -1 || (close + 1 !== hop.length && !isPort(hop, close + 1))) return null
    const inner = hop.slice(1, close)
    return inner.indexOf(':') === -1 ? null : canonicalIp(inner)
  }
  const colon = hop.indexOf(':')
  if (colon !== -1 && colon === hop.lastIndexOf(':')) {
    // One colon: IPv4 with a port (an IPv6 address has at least two).
    return isPort(hop, colon) ? canonicalIp(hop.slice(0, colon)) : null
  }
  return canonicalIp(hop)
}

/** `:` followed by 1–5 digits up to 65535, from `at` to the end. */
function isPort(s: string, at: number): boolean {
  if (s.charCodeAt(at) !== 0x3a) return false
  const digits = s.slice(at + 1)
  return /^[0-9]{1,5}$/.test(digits) && Number(digits) <= 65535
}

function trimOws(s: string, start: number, end: number): string {
  while (start < end && isOws(s.charCodeAt(start))) start++
  while (end > start && isOws(s.charCodeAt(end - 1))) end--
  return start === 0 && end === s.length ? s : s.slice(start, end)
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09
}
