import { strict as assert } from 'node:assert'
import { createRequire } from 'node:module'
import { describe, it } from 'node:test'
import type * as IpAddr from 'ipaddr.js'
import { canonicalIp } from '../../../src/net/ip-address.js'
import { createIpFilter, createIpSet, parseCidrs } from '../../../src/net/ip-filter.js'

describe('canonicalIp', () => {
  const cases: [input: string, expected: string | null, why: string][] = [
    ['10.0.0.2', '10.0.0.2', 'a plain IPv4 address is already canonical'],
    ['::ffff:10.0.0.2', '10.0.0.2', 'an IPv4-mapped address is its IPv4 address (attack #63)'],
    ['::FFFF:a00:2', '10.0.0.2', 'a mapped address in hex words is the same IPv4 address'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1', 'IPv6 is written the RFC 5952 way'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 'RFC 5952 shortens the first longest zero run'],
    ['::1', '::1', 'IPv6 loopback'],
    ['fe80::1%eth0', 'fe80::1', 'a zone id is dropped'],
    ['127.1', null, 'short IPv4 forms are refused'],
    ['0x7f.0.0.1', null, 'hex IPv4 parts are refused'],
    ['010.0.0.1', null, 'leading zeros (octal to some parsers) are refused'],
    ['256.1.1.1', null, 'an octet above 255 is refused'],
    ['1.2.3.4.5', null, 'five parts are refused'],
    ['::ffff:010.0.0.1', null, 'an octal IPv4 tail inside IPv6 is refused'],
    ['::10.0.0.1', '::a00:1', 'the deprecated IPv4-compatible form is IPv6, never read as mapped (ipaddr.js would)'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0', 'a :: standing for one word is not shortened again'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3', 'the longest zero run is the one shortened'],
    ['0:0:0:0:0:0:0:0', '::', 'all zeros'],
    ['1:2:3:4:5:6:7:8::', null, '`::` standing for no word'],
    ['1:2:3:4:5:6:7', null, 'seven words and no ::'],
    ['12345::', null, 'a word of five digits'],
    [':1::', null, 'a single leading colon'],
    ['1::2:', null, 'a single trailing colon'],
    ['::ffff:1.2.3.4.5', null, 'a five-part IPv4 tail'],
    ['1:2:3:4:5:6:7:1.2.3.4', null, 'an IPv4 tail with no room left'],
    ['::1.2.3.4:5', null, 'an IPv4 tail that is not last'],
    ['fe80::1%', null, 'an empty zone id'],
    ['1.2.3.4:80', null, 'an address with a port is not an address'],
    ['[::1]', null, 'brackets are not part of an address'],
    [' 1.2.3.4', null, 'surrounding space is not part of an address'],
    ['', null, 'the empty string'],
    ['unknown', null, 'RFC 7239 obfuscated identifiers'],
    ['1::2::3', null, 'two :: are invalid'],
  ]
  for (const [input, expected, why] of cases) {
    it(`gives ${JSON.stringify(expected)} for ${JSON.stringify(input)}: ${why}`, () => {
      assert.equal(canonicalIp(input), expected)
    })
  }
})

describe('canonicalIp against ipaddr.js', () => {
  const ipaddr = createRequire(import.meta.url)('ipaddr.js') as typeof IpAddr
  let seed = 42
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed % n
  }

  it('agrees on 20 000 random IPv6 addresses in every spelling', () => {
    for (let n = 0; n < 20000; n++) {
      // Mostly zero words, so that :: runs of every length and position occur.
      const words = Array.from({ length: 8 }, () => (rnd(3) === 0 ? rnd(0x10000) : 0))
      if (words.slice(0, 6).join() === '0,0,0,0,0,65535') words[5] = 1 // mapped: tested separately
      const expected = new ipaddr.IPv6(words).toRFC5952String()
      const spellings = [
        words.map((w) => w.toString(16)).join(':'),
        words.map((w) => w.toString(16).toUpperCase().padStart(4, '0')).join(':'),
        expected,
        expected.toUpperCase(),
      ]
      for (const text of spellings) assert.equal(canonicalIp(text), expected, `${text} from ${words.join(',')}`)
    }
  })

  it('agrees on random IPv4-mapped addresses', () => {
    for (let n = 0; n < 5000; n++) {
      const v4 = [rnd(256), rnd(256), rnd(256), rnd(256)].join('.')
      const mapped = ipaddr.IPv4.parse(v4).toIPv4MappedAddress()
      assert.equal(canonicalIp(`::ffff:${v4}`), v4)
      assert.equal(canonicalIp(mapped.toRFC5952String()), v4)
      assert.equal(canonicalIp(mapped.toNormalizedString()), v4)
    }
  })

  it('never accepts what ipaddr.js rejects as IPv6', () => {
    const alphabet = ['0', '1', 'f', 'F', ':', '::', '.', '255', 'ffff', '12345', '%', 'g']
    for (let n = 0; n < 20000; n++) {
      let text = ''
      const len = 1 + rnd(10)
      for (let k = 0; k < len; k++) text += alphabet[rnd(alphabet.length)]
      if (!text.includes(':')) continue
      if (canonicalIp(text) !== null) assert.ok(ipaddr.IPv6.isValid(text.split('%')[0] as string), text)
    }
  })
})

describe('parseCidrs', () => {
  it('accepts IPv4 and IPv6 ranges and bare addresses', () => {
    const r = parseCidrs(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1', '0.0.0.0/0', '::/0'])
    assert.equal(r.ok, true)
  })

  it('reports every bad entry with its index', () => {
    const r = parseCidrs(['10.0.0.0/8', '10.0.0.0/33', 'nonsense', '10.0.0.1/8', '2001:db8::1/32', '10.0.0.0/08', '10/8', 'fe80::/10'])
    assert.ok(!r.ok)
    assert.deepEqual(
      r.problems.map((p) => p.index),
      [1, 2, 3, 4, 5, 6],
    )
    for (const p of r.problems) assert.ok(p.message.length > 0)
  })

  it('refuses a range with host bits set rather than guessing the network', () => {
    const r = parseCidrs(['10.0.0.1/8'])
    assert.ok(!r.ok)
    assert.match(r.problems[0]?.message ?? '', /host bits/)
  })
})

describe('createIpSet', () => {
  const set = createIpSet(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'])

  it('matches IPv4 addresses inside a range and a bare address exactly', () => {
    assert.equal(set.has('10.1.2.3'), true)
    assert.equal(set.has('192.168.1.7'), true)
    assert.equal(set.has('192.168.1.8'), false)
    assert.equal(set.has('11.0.0.1'), false)
  })

  it('matches an IPv4-mapped address as its IPv4 address', () => {
    assert.equal(set.has('::ffff:10.0.0.2'), true)
    assert.equal(set.has('::ffff:203.0.113.9'), false)
  })

  it('matches IPv6 addresses inside an IPv6 range', () => {
    assert.equal(set.has('2001:db8:1::7'), true)
    assert.equal(set.has('2001:db9::1'), false)
  })

  it('never matches an unparsable address', () => {
    for (const bad of ['', 'garbage', '10.0.0.1 ', '010.0.0.1', '10.1', '::ffff:10.0.0.1:80']) assert.equal(set.has(bad), false, bad)
  })

  it('treats a mapped IPv6 range as the IPv4 range', () => {
    const mapped = createIpSet(['::ffff:10.0.0.0/104'])
    assert.equal(mapped.has('10.9.9.9'), true)
    assert.equal(mapped.has('11.0.0.1'), false)
  })

  it('lets ::/0 contain every address, IPv4 included, since IPv4 is compared as mapped IPv6', () => {
    const all = createIpSet(['::/0'])
    assert.equal(all.has('203.0.113.9'), true)
    assert.equal(all.has('2001:db8::1'), true)
    const compat = createIpSet(['::/96'])
    assert.equal(compat.has('203.0.113.9'), false)
  })

  it('throws on an invalid list', () => {
    assert.throws(() => createIpSet(['not-a-cidr']))
  })

  it('is empty for an empty list', () => {
    assert.equal(createIpSet([]).has('10.0.0.1'), false)
  })
})

describe('createIpFilter', () => {
  it('allows everyone, even an unparsable address, when both lists are empty', () => {
    const f = createIpFilter({ allow: [], deny: [] })
    assert.equal(f.allows('203.0.113.9'), true)
    assert.equal(f.allows('garbage'), true)
  })

  it('allows everyone but the denied when the allow list is empty', () => {
    const f = createIpFilter({ allow: [], deny: ['203.0.113.0/24'] })
    assert.equal(f.allows('198.51.100.1'), true)
    assert.equal(f.allows('203.0.113.9'), false)
    assert.equal(f.allows('::ffff:203.0.113.9'), false)
  })

  it('allows only the allowed when the allow list is set', () => {
    const f = createIpFilter({ allow: ['10.0.0.0/8'], deny: [] })
    assert.equal(f.allows('10.0.0.5'), true)
    assert.equal(f.allows('::ffff:203.0.113.9'), false)
    assert.equal(f.allows('2001:db8::1'), false)
  })

  it('lets deny win over allow', () => {
    const f = createIpFilter({ allow: ['10.0.0.0/8'], deny: ['10.6.6.0/24'] })
    assert.equal(f.allows('10.6.6.6'), false)
    assert.equal(f.allows('::ffff:10.6.6.6'), false)
    assert.equal(f.allows('10.6.7.6'), true)
  })

  it('never allows an unparsable address through a non-empty filter', () => {
    for (const rules of [{ allow: ['0.0.0.0/0', '::/0'], deny: [] }, { allow: [], deny: ['192.0.2.1'] }]) {
      const f = createIpFilter(rules)
      for (const bad of ['', 'garbage', 'unknown', '127.1', '::ffff:010.0.0.1']) assert.equal(f.allows(bad), false, bad)
    }
  })

  it('filters IPv6 clients by IPv6 ranges', () => {
    const f = createIpFilter({ allow: ['2001:db8::/32'], deny: ['2001:db8:bad::/48'] })
    assert.equal(f.allows('2001:db8::1'), true)
    assert.equal(f.allows('2001:DB8:BAD::1'), false)
    assert.equal(f.allows('10.0.0.1'), false)
  })
})
