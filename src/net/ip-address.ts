// IP addresses as the filters compare them: strict parsers and canonical text.
//
// The parsers are strict, allocation-light loops rather than ipaddr.js: its
// regex-based IPv6 parsing costs ~6 µs per call, paid on every request when a
// dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d, and it accepts IPv4
// spellings (octal, hex, short) that we must refuse. The unit tests check these
// parsers against ipaddr.js on random addresses.

/** An address as compared: an IPv4 uint32, or the eight 16-bit words of an IPv6 address. */
export type Parsed = number | Uint16Array

export const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0xffff] as const

/**
 * Strict dotted-quad: four decimal parts, 0-255, no leading zeros. ipaddr.js also
 * takes `127.1`, `0x7f.0.0.1` and octal `010.0.0.1`; those are how filters get
 * bypassed (the same text means different hosts to different parsers), so they are
 * invalid here. Returns the address as a uint32, or -1.
 */
function parseIpv4(s: string, start: number, end: number): number {
  let value = 0
  let parts = 0
  let i = start
  while (i < end) {
    let part = 0
    let digits = 0
    const first = i
    while (i < end) {
      const c = s.charCodeAt(i)
      if (c < 0x30 || c > 0x39) break
      part = part * 10 + (c - 0x30)
      digits++
      i++
    }
    if (digits === 0 || digits > 3 || part > 255 || (digits > 1 && s.charCodeAt(first) === 0x30)) return -1
    value = value * 256 + part
    parts++
    if (i === end) break
    if (s.charCodeAt(i) !== 0x2e || parts === 4) return -1
    i++
    if (i === end) return -1
  }
  return parts === 4 ? value >>> 0 : -1
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const l = c | 0x20
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1
}

/**
 * RFC 4291 §2.2 text form, with an optional dotted-quad tail (§2.2 item 3) and an
 * optional `%zone` (RFC 4007 §11), which names a local interface, not a host, and
 * is ignored. Returns the eight 16-bit words, or null.
 */
function parseIpv6(s: string): Uint16Array | null {
  let end = s.indexOf('%')
  if (end === -1) end = s.length
  else if (end === s.length - 1) return null
  if (end < 2 || end > 45) return null
  const w = new Uint16Array(8)
  let n = 0
  let gap = -1 // word index where `::` stands
  let i = 0
  if (s.charCodeAt(0) === 0x3a) {
    if (s.charCodeAt(1) !== 0x3a) return null
    gap = 0
    i = 2
  }
  while (i < end) {
    const start = i
    let v = 0
    while (i < end) {
      const h = hexValue(s.charCodeAt(i))
      if (h < 0) break
      v = v * 16 + h
      i++
    }
    if (i === start) return null
    if (i < end && s.charCodeAt(i) === 0x2e) {
      // A dotted-quad tail, strict like any IPv4 address, and only at the end.
      const v4 = n <= 6 ? parseIpv4(s, start, end) : -1
      if (v4 === -1) return null
      w[n++] = v4 >>> 16
      w[n++] = v4 & 0xffff
      break
    }
    if (i - start > 4 || n === 8) return null
    w[n++] = v
    if (i === end) break
    if (s.charCodeAt(i) !== 0x3a) return null
    i++
    if (i === end) return null // a trailing single `:`
    if (s.charCodeAt(i) === 0x3a) {
      if (gap !== -1) return null // only one `::`
      gap = n
      i++
    }
  }
  if (gap === -1) return n === 8 ? w : null
  if (n === 8) return null // `::` must stand for at least one word
  const shift = 8 - n
  for (let k = n - 1; k >= gap; k--) {
    w[k + shift] = w[k] as number
    w[k] = 0
  }
  return w
}

function isMapped(w: Uint16Array): boolean {
  for (let i = 0; i < 6; i++) if (w[i] !== MAPPED_PREFIX[i]) return false
  return true
}

/** Parses an address; IPv4-mapped IPv6 becomes its IPv4 uint32. Null when invalid. */
export function parseIp(ip: string): Parsed | null {
  if (ip.indexOf(':') === -1) {
    const v4 = parseIpv4(ip, 0, ip.length)
    return v4 === -1 ? null : v4
  }
  const w = parseIpv6(ip)
  if (w === null) return null
  return isMapped(w) ? (((w[6] as number) << 16) | (w[7] as number)) >>> 0 : w
}

/**
 * The canonical text of an address: dotted quad for IPv4 and IPv4-mapped IPv6,
 * RFC 5952 for IPv6 (zone dropped). Null when the text is not an address.
 */
export function canonicalIp(ip: string): string | null {
  const p = parseIp(ip)
  if (p === null) return null
  if (typeof p === 'number') return ip.indexOf(':') === -1 ? ip : formatIpv4(p)
  return formatIpv6(p)
}

/** RFC 5952 §4: lowercase, no leading zeros, the first longest run (≥ 2) of zero words as `::`. */
function formatIpv6(w: Uint16Array): string {
  let bestStart = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && w[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  let out = ''
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::'
      i += bestLen - 1
      continue
    }
    if (out !== '' && !out.endsWith(':')) out += ':'
    out += (w[i] as number).toString(16)
  }
  return out
}

function formatIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`
}
