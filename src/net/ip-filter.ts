// CIDR allow/deny sets (SPEC §3.3, §3.6): IPv4, IPv6, and IPv4-mapped IPv6 treated
// as the plain IPv4 address (attack #63). Ranges are compiled once; a
// lookup parses the address once and scans integer ranges, with no per-request cache.
import { MAPPED_PREFIX, parseIp, type Parsed } from './ip-address.js'

export interface IpFilter {
  /** True when the address passes: not denied, and allowed (an empty allow list allows all). */
  allows(ip: string): boolean
}

export interface IpSet {
  has(ip: string): boolean
}

/** Compiled CIDR list; only this module looks inside. */
export interface IpRanges {
  readonly __brand: 'IpRanges'
}

interface Ranges extends IpRanges {
  /** Pairs of (network, mask) as unsigned 32-bit integers. */
  readonly v4: Uint32Array
  /** Per range: 8 network words then 8 mask words (16-bit each). */
  readonly v6: Uint16Array
}

export type ParsedCidrs =
  | { ok: true; ranges: IpRanges }
  | { ok: false; problems: { index: number; message: string }[] }

function v4Mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
}

function v6Mask(bits: number): Uint16Array {
  const m = new Uint16Array(8)
  for (let i = 0; i < 8; i++) {
    const b = Math.max(0, Math.min(16, bits - i * 16))
    m[i] = b === 0 ? 0 : (0xffff << (16 - b)) & 0xffff
  }
  return m
}

type Range = { v4: [net: number, mask: number] } | { v6: [net: Uint16Array, mask: Uint16Array] }

/** Parses `addr` or `addr/bits` into the ranges it stands for, or a message. */
function parseEntry(text: string): Range[] | string {
  const slash = text.indexOf('/')
  const addrText = slash === -1 ? text : text.slice(0, slash)
  if (addrText.indexOf('%') !== -1) return 'a CIDR range cannot carry a zone id'
  const addr = parseIp(addrText)
  if (addr === null) return `"${text}" is not an IPv4 or IPv6 address or CIDR range`
  const isV4Text = addrText.indexOf(':') === -1
  const max = isV4Text ? 32 : 128
  let bits = max
  if (slash !== -1) {
    const bitsText = text.slice(slash + 1)
    if (!/^(0|[1-9][0-9]{0,2})$/.test(bitsText) || Number(bitsText) > max) {
      return `"${text}" has an invalid prefix length (0-${max})`
    }
    bits = Number(bitsText)
  }
  if (typeof addr === 'number') {
    // A mapped IPv6 range (::ffff:a.b.c.d/n) is the IPv4 range a.b.c.d/(n-96);
    // below /96 the ffff word itself would be host bits.
    const v4Bits = isV4Text ? bits : bits - 96
    if (v4Bits < 0) return hostBitsSet(text)
    const mask = v4Mask(v4Bits)
    if (((addr & mask) >>> 0) !== addr) return hostBitsSet(text)
    return [{ v4: [addr, mask] }]
  }
  const mask = v6Mask(bits)
  for (let i = 0; i < 8; i++) if (((addr[i] as number) & (mask[i] as number)) !== addr[i]) return hostBitsSet(text)
  const out: Range[] = [{ v6: [addr, mask] }]
  // A wider IPv6 range that contains ::ffff:0:0/96 also contains every IPv4
  // address, since those are compared in their mapped form's place.
  let coversAll = true
  for (let i = 0; i < 6; i++) if (((MAPPED_PREFIX[i] as number) & (mask[i] as number)) !== addr[i]) coversAll = false
  if (coversAll && bits <= 96) out.push({ v4: [0, 0] })
  return out
}

function hostBitsSet(text: string): string {
  // A typo such as 10.0.0.1/8 must not silently mean 10.0.0.0/8 (SPEC §2).
  return `"${text}" has host bits set after the prefix; write the network address`
}

/** Validates a CIDR list (bare address = /32 or /128); every problem with its index. */
export function parseCidrs(list: readonly string[]): ParsedCidrs {
  const problems: { index: number; message: string }[] = []
  const v4: number[] = []
  const v6: number[] = []
  list.forEach((text, index) => {
    const r = typeof text === 'string' ? parseEntry(text) : 'not a string'
    if (typeof r === 'string') {
      problems.push({ index, message: r })
      return
    }
    for (const range of r) {
      if ('v4' in range) v4.push(...range.v4)
      else v6.push(...range.v6[0], ...range.v6[1])
    }
  })
  if (problems.length > 0) return { ok: false, problems }
  const ranges: Ranges = { __brand: 'IpRanges', v4: Uint32Array.from(v4), v6: Uint16Array.from(v6) }
  return { ok: true, ranges: Object.freeze(ranges) }
}

function contains(r: Ranges, p: Parsed): boolean {
  if (typeof p === 'number') {
    const v4 = r.v4
    for (let i = 0; i < v4.length; i += 2) if (((p & (v4[i + 1] as number)) >>> 0) === v4[i]) return true
    return false
  }
  const v6 = r.v6
  outer: for (let i = 0; i < v6.length; i += 16) {
    for (let j = 0; j < 8; j++) {
      if (((p[j] as number) & (v6[i + 8 + j] as number)) !== v6[i + j]) continue outer
    }
    return true
  }
  return false
}

function compile(list: readonly string[]): Ranges {
  const parsed = parseCidrs(list)
  if (!parsed.ok) {
    const first = parsed.problems[0]
    throw new Error(`invalid CIDR list at [${first?.index}]: ${first?.message}`)
  }
  return parsed.ranges as Ranges
}

/** A CIDR set; throws on an invalid list (config is validated with parseCidrs first). */
export function createIpSet(list: readonly string[]): IpSet {
  const ranges = compile(list)
  if (list.length === 0) return { has: () => false }
  return {
    has(ip: string): boolean {
      const p = parseIp(ip)
      return p !== null && contains(ranges, p)
    },
  }
}

/** Deny wins; an empty allow list allows everyone; an unparsable address never passes a non-empty filter. */
export function createIpFilter(rules: { allow: readonly string[]; deny: readonly string[] }): IpFilter {
  if (rules.allow.length === 0 && rules.deny.length === 0) return { allows: () => true }
  const allow = compile(rules.allow)
  const deny = compile(rules.deny)
  const allowAll = rules.allow.length === 0
  return {
    allows(ip: string): boolean {
      const p = parseIp(ip)
      if (p === null) return false
      if (contains(deny, p)) return false
      return allowAll || contains(allow, p)
    },
  }
}
