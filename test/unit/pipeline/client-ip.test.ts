import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { resolveClientIp } from '../../../src/pipeline/client-ip.js'
import { createIpSet } from '../../../src/net/ip-filter.js'

const trusted = createIpSet(['10.0.0.0/8', '2001:db8:ffff::/48'])
const none = createIpSet([])

describe('resolveClientIp', () => {
  const cases: { name: string; peer: string; xff: string[]; expect: string | null }[] = [
    { name: 'ignores X-Forwarded-For from an untrusted peer (attack #60)', peer: '203.0.113.9', xff: ['10.1.1.1'], expect: '203.0.113.9' },
    { name: 'returns the canonical form of an untrusted mapped peer', peer: '::ffff:203.0.113.9', xff: [], expect: '203.0.113.9' },
    { name: 'returns the trusted peer itself when it sends no X-Forwarded-For', peer: '10.0.0.2', xff: [], expect: '10.0.0.2' },
    { name: 'takes the right-most hop behind a trusted peer', peer: '10.0.0.2', xff: ['198.51.100.7'], expect: '198.51.100.7' },
    {
      name: 'takes the right-most untrusted hop, never the left-most the client wrote (attack #61)',
      peer: '10.0.0.2',
      xff: ['192.0.2.1, 203.0.113.66'],
      expect: '203.0.113.66',
    },
    { name: 'skips a chain of trusted proxies', peer: '10.0.0.2', xff: ['192.0.2.1, 203.0.113.66, 10.0.0.9, 10.0.0.8'], expect: '203.0.113.66' },
    { name: 'treats a mapped trusted peer as its IPv4 address (attack #63)', peer: '::ffff:10.0.0.2', xff: ['203.0.113.66'], expect: '203.0.113.66' },
    { name: 'recognises a mapped trusted hop inside the chain', peer: '10.0.0.2', xff: ['203.0.113.66, ::ffff:10.0.0.3'], expect: '203.0.113.66' },
    { name: 'returns a hop in canonical form', peer: '10.0.0.2', xff: ['::ffff:203.0.113.66'], expect: '203.0.113.66' },
    { name: 'returns an IPv6 hop in RFC 5952 form', peer: '2001:db8:ffff::1', xff: ['2001:DB8:0:0:0:0:0:7'], expect: '2001:db8::7' },
    // Issue 13: fail closed, never the trusted proxy's own address.
    { name: 'fails closed at a malformed right-most untrusted hop', peer: '10.0.0.2', xff: ['203.0.113.66, garbage, 10.0.0.3'], expect: null },
    { name: 'fails closed on unknown', peer: '10.0.0.2', xff: ['unknown'], expect: null },
    { name: 'reads ip:port as the IPv4 address', peer: '10.0.0.2', xff: ['203.0.113.66, 1.2.3.4:80'], expect: '1.2.3.4' },
    { name: 'reads [IPv6]:port and [IPv6]', peer: '10.0.0.2', xff: ['[2001:DB8::7]:443'], expect: '2001:db8::7' },
    { name: 'reads a bracketed IPv6 hop without a port', peer: '10.0.0.2', xff: ['[2001:db8::8]'], expect: '2001:db8::8' },
    { name: 'refuses an unbracketed IPv6 with a port-like tail as garbage', peer: '10.0.0.2', xff: ['1.2.3.4:99999'], expect: null },
    { name: 'refuses a bracketed IPv4', peer: '10.0.0.2', xff: ['[1.2.3.4]:80'], expect: null },
    { name: 'refuses octal or short IPv4 hops as malformed', peer: '10.0.0.2', xff: ['203.0.113.66, 127.1'], expect: null },
    { name: 'refuses an obfuscated hex IPv4 hop', peer: '10.0.0.2', xff: ['0x7f.0.0.1'], expect: null },
    { name: 'looks no further left than the right-most untrusted hop', peer: '10.0.0.2', xff: ['garbage, 203.0.113.66'], expect: '203.0.113.66' },
    { name: 'reads several X-Forwarded-For headers as one list, last header last', peer: '10.0.0.2', xff: ['203.0.113.66', '10.0.0.7'], expect: '203.0.113.66' },
    { name: 'reads the right-most untrusted hop across header lines', peer: '10.0.0.2', xff: ['192.0.2.1, 10.0.0.5', '198.51.100.9, 10.0.0.7'], expect: '198.51.100.9' },
    { name: 'returns the left-most hop when every hop is trusted', peer: '10.0.0.2', xff: ['10.0.0.9, 10.0.0.8', '10.0.0.7'], expect: '10.0.0.9' },
    { name: 'ignores empty list elements and surrounding spaces', peer: '10.0.0.2', xff: [' , 203.0.113.66 ,,\t', ''], expect: '203.0.113.66' },
    { name: 'handles a value that starts with a comma', peer: '10.0.0.2', xff: [',10.0.0.9'], expect: '10.0.0.9' },
    { name: 'refuses a bracketed hop without its ]', peer: '10.0.0.2', xff: ['[2001:db8::7'], expect: null },
    { name: 'refuses text after the ] that is no :port', peer: '10.0.0.2', xff: ['[2001:db8::7]x'], expect: null },
    { name: 'refuses a port after the ] without its :', peer: '10.0.0.2', xff: ['[2001:db8::7]x80'], expect: null },
    { name: 'refuses a port that is not all digits', peer: '10.0.0.2', xff: ['203.0.113.66:-1'], expect: null },
    { name: 'refuses a port with more after its digits', peer: '10.0.0.2', xff: ['203.0.113.66:80.5'], expect: null },
    { name: 'takes the highest port, 65535', peer: '10.0.0.2', xff: ['203.0.113.66:65535'], expect: '203.0.113.66' },
    { name: 'answers unknown for an unreadable socket address', peer: '', xff: ['203.0.113.66'], expect: 'unknown' },
  ]
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(resolveClientIp(c.peer, c.xff, trusted, false), c.expect)
    })
  }

  it('never reads the forwarded chain when no proxy is trusted', () => {
    assert.equal(resolveClientIp('10.0.0.2', ['203.0.113.66'], none, true), '10.0.0.2')
  })
})
