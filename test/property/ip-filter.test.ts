// Property test of the CIDR sets (SPEC §3.3, §3.6; attack #60–#63): for random
// IPv4 and IPv6 addresses and ranges, createIpSet agrees with ipaddr.js's own parse
// and match, with IPv4-mapped IPv6 (::ffff:a.b.c.d) read as the plain IPv4 address.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import type IpAddr from 'ipaddr.js'
import { canonicalIp } from '../../src/net/ip-address.js'
import { createIpFilter, createIpSet, parseCidrs } from '../../src/net/ip-filter.js'
import { Coverage, RUNS } from './runs.js'

const ipaddr = createRequire(import.meta.url)('ipaddr.js') as typeof IpAddr

// noBias: fast-check's default bias piles small integers on the edges (0, 1, 255),
// so 2 000 mapped addresses were 160 distinct ones.
const byte = fc.noBias(fc.integer({ min: 0, max: 255 }))
const word = fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 0, max: 0xffff }) })
const v4 = fc.tuple(byte, byte, byte, byte).map((b) => b.join('.'))
const v6 = fc.array(word, { minLength: 8, maxLength: 8 }).map((w) => new ipaddr.IPv6(w).toRFC5952String())
const mapped = v4.map((a) => `::ffff:${a}`)
const address = fc.oneof(v4, v6, mapped)

/** A CIDR with no host bits, in the family of `base` (mapped ranges included). */
const cidr = fc.oneof(
  fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([a, bits]) => `${ipaddr.IPv4.networkAddressFromCIDR(`${a}/${bits}`).toString()}/${bits}`),
  fc.tuple(v6, fc.integer({ min: 0, max: 128 })).map(([a, bits]) => `${ipaddr.IPv6.networkAddressFromCIDR(`${a}/${bits}`).toRFC5952String()}/${bits}`),
  fc.tuple(v4, fc.integer({ min: 96, max: 128 })).map(([a, bits]) => `${ipaddr.IPv6.networkAddressFromCIDR(`::ffff:${a}/${bits}`).toRFC5952String()}/${bits}`),
)

/** An address inside or near the range half the time, so both answers occur. */
const pair = fc.oneof(
  fc.tuple(address, cidr),
  fc.tuple(cidr, fc.integer({ min: 0, max: 0xffff })).map(([c, noise]) => {
    const [net] = c.split('/') as [string]
    const parsed = ipaddr.parse(net)
    const bytes = parsed.toByteArray()
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ (noise & 0xff)
    bytes[bytes.length - 2] = (bytes[bytes.length - 2] as number) ^ (noise >> 8)
    return [ipaddr.fromByteArray(bytes).toString(), c] as [string, string]
  }),
  // A plain IPv4 address against an IPv4-mapped range around it.
  fc.tuple(v4, fc.integer({ min: 96, max: 128 }), fc.integer({ min: 0, max: 0xffff })).map(([a, bits, noise]) => {
    const range = `${ipaddr.IPv6.networkAddressFromCIDR(`::ffff:${a}/${bits}`).toRFC5952String()}/${bits}`
    return [near(a, noise), range] as [string, string]
  }),
)

/** Flips the low 16 bits of `ip` by `noise`: an address inside or just outside a range near it. */
function near(ip: string, noise: number): string {
  const bytes = ipaddr.parse(ip).toByteArray()
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ (noise & 0xff)
  bytes[bytes.length - 2] = (bytes[bytes.length - 2] as number) ^ (noise >> 8)
  return ipaddr.fromByteArray(bytes).toString()
}

/**
 * An allow range, a deny range over the same network a few bits wider or narrower
 * (so the two overlap in most cases), and an address near them.
 */
const overlapping = fc
  .tuple(cidr, fc.integer({ min: -6, max: 6 }), fc.integer({ min: 0, max: 0xffff }), fc.boolean())
  .map(([allow, delta, noise, mapIt]) => {
    const [net, bitsText] = allow.split('/') as [string, string]
    const v6 = net.includes(':')
    const bits = Math.min(v6 ? 128 : 32, Math.max(0, Number(bitsText) + delta))
    const deny = v6
      ? `${ipaddr.IPv6.networkAddressFromCIDR(`${net}/${bits}`).toRFC5952String()}/${bits}`
      : `${ipaddr.IPv4.networkAddressFromCIDR(`${net}/${bits}`).toString()}/${bits}`
    const ip = near(net, noise)
    return [!v6 && mapIt ? `::ffff:${ip}` : ip, allow, deny] as [string, string, string]
  })

/** ipaddr.js's answer, with mapped addresses as IPv4 (ipaddr.process) and IPv4 compared in the mapped space of a v6 range. */
function expected(ip: string, range: string): boolean {
  const addr = ipaddr.process(ip)
  const [net, bits] = ipaddr.parseCIDR(range)
  if (addr.kind() === net.kind()) return addr.match([net, bits] as never)
  if (addr.kind() === 'ipv4') return (addr as IpAddr.IPv4).toIPv4MappedAddress().match([net, bits] as never)
  return false
}

describe('CIDR matching properties', () => {
  test('createIpSet([cidr]).has(ip) is what ipaddr.js says, for IPv4, IPv6 and IPv4-mapped addresses and ranges', () => {
    const reached = new Coverage(['inside', 'outside', 'IPv4 address', 'IPv6 address', 'IPv4-mapped address', 'IPv4 address in a mapped range'] as const)
    const mappedSeen = new Set<string>()
    fc.assert(
      fc.property(pair, ([ip, range]) => {
        const inside = expected(ip, range)
        if (ip.startsWith('::ffff:')) mappedSeen.add(ip)
        reached.record(
          inside ? 'inside' : 'outside',
          ipaddr.parse(ip).kind() === 'ipv4' ? 'IPv4 address' : ip.startsWith('::ffff:') ? 'IPv4-mapped address' : 'IPv6 address',
          ipaddr.parse(ip).kind() === 'ipv4' && range.startsWith('::ffff:') && inside && 'IPv4 address in a mapped range',
        )
        assert.ok(parseCidrs([range]).ok, range)
        assert.equal(createIpSet([range]).has(ip), inside, `${ip} in ${range}`)
      }),
      { numRuns: RUNS },
    )
    reached.assertReached(0.01)
    assert.ok(mappedSeen.size >= RUNS / 10, `only ${mappedSeen.size} distinct IPv4-mapped addresses`)
  })

  test('deny wins over allow, and canonicalIp is ipaddr.js\'s normal form', () => {
    const reached = new Coverage(['in allow and deny (deny wins)', 'in allow only', 'in deny only', 'in neither', 'IPv4-mapped address', 'IPv4-mapped range'] as const)
    fc.assert(
      fc.property(fc.oneof(fc.tuple(address, cidr, cidr), overlapping), ([ip, allow, deny]) => {
        const inAllow = expected(ip, allow)
        const inDeny = expected(ip, deny)
        reached.record(
          inAllow && inDeny ? 'in allow and deny (deny wins)' : inAllow ? 'in allow only' : inDeny ? 'in deny only' : 'in neither',
          ip.startsWith('::ffff:') && 'IPv4-mapped address',
          (allow.startsWith('::ffff:') || deny.startsWith('::ffff:')) && 'IPv4-mapped range',
        )
        const allows = createIpFilter({ allow: [allow], deny: [deny] }).allows(ip)
        assert.equal(allows, inAllow && !inDeny, `${ip} allow ${allow} deny ${deny}`)
        const p = ipaddr.process(ip)
        assert.equal(canonicalIp(ip), p.kind() === 'ipv4' ? p.toString() : (p as IpAddr.IPv6).toRFC5952String())
      }),
      { numRuns: RUNS },
    )
    reached.assertReached(0.02)
  })
})
