// The schema patterns of src/config/text-forms.ts against the parsers that
// check-config uses (the oracle): the same verdict on every case below and on
// random texts, except the listed refusals a regex cannot see (host bits after a
// CIDR prefix, a duration's total length). Compiled as Ajv compiles them (`u`).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { parseDuration } from '../../../src/config/duration.js'
import { parseConfigText, parseHostPort } from '../../../src/config/load.js'
import { CIDR_PATTERN, DURATION_PATTERN, HOST_PORT_PATTERN, ZERO_DURATION_PATTERN } from '../../../src/config/text-forms.js'
import { parseCidrs } from '../../../src/net/ip-filter.js'

const cidrRegex = new RegExp(CIDR_PATTERN, 'u')
const hostPortRegex = new RegExp(HOST_PORT_PATTERN, 'u')
const durationRegex = new RegExp(DURATION_PATTERN, 'u')
const zeroRegex = new RegExp(ZERO_DURATION_PATTERN, 'u')

type Verdict = { ok: true } | { ok: false; message: string }

const forms = {
  cidr: {
    schema: (t: string) => cidrRegex.test(t),
    parser: (t: string): Verdict => {
      const r = parseCidrs([t])
      return r.ok ? { ok: true } : { ok: false, message: r.problems[0]?.message ?? '' }
    },
    // Only the parser sees these (the regex accepts them).
    parserOnly: /host bits set/,
  },
  hostPort: {
    schema: (t: string) => hostPortRegex.test(t),
    parser: (t: string): Verdict => (parseHostPort(t) ? { ok: true } : { ok: false, message: 'not host:port' }),
    parserOnly: null,
  },
  duration: {
    schema: (t: string) => durationRegex.test(t) && !zeroRegex.test(t),
    parser: (t: string): Verdict => {
      const r = parseDuration(t)
      return r.ok ? { ok: true } : { ok: false, message: r.message }
    },
    parserOnly: /too long/,
  },
} as const

function agree(form: keyof typeof forms, text: string): void {
  const f = forms[form]
  const verdict = f.parser(text)
  const schema = f.schema(text)
  if (verdict.ok) assert.ok(schema, `${form} ${JSON.stringify(text)}: check-config accepts it, the schema pattern refuses it`)
  else if (schema) {
    assert.ok(f.parserOnly?.test(verdict.message), `${form} ${JSON.stringify(text)}: check-config refuses it (${verdict.message}), the schema pattern accepts it`)
  }
}

const CASES: Record<keyof typeof forms, { good: string[]; bad: string[]; parserOnly: string[] }> = {
  cidr: {
    good: [
      '10.0.0.0/8', '192.168.1.7', '0.0.0.0/0', '255.255.255.255/32', '127.0.0.1', '::1', '::/0', '2001:db8::/32', 'fe80::/10',
      'FFFF::/16', '2001:DB8:0:0:0:0:0:0/32', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1::8', '::ffff:1.2.3.4',
      '::ffff:10.0.0.0/104', '1:2:3:4:5:6:1.2.3.4', '::1.2.3.4', '0000:0000::/128',
    ],
    bad: [
      '10.0.0.0/33', '::/129', '10.0.0.0/08', '10/8', '010.0.0.1', '10.1', '256.0.0.1', '1.2.3.4.5', 'nonsense', '', ' 10.0.0.0',
      '10.0.0.0 ', '10.0.0.0/', '::ffff:10.0.0.1:80', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'fe80::1%eth0', ':::', '1:2:3:4:5:6:7:8::',
      '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3', 'g::1', '0x7f.0.0.1', '10.0.0.0/8,10.1.0.0/16',
    ],
    parserOnly: ['10.0.0.1/8', '2001:db8::1/32', '::ffff:10.0.0.0/95'],
  },
  hostPort: {
    good: ['0.0.0.0:8080', '[::1]:8080', 'localhost:0', 'gatehouse.example:65535', 'h:00080', '127.0.0.1:9464'],
    bad: ['host:99999', 'host:65536', 'host', '[::1]', '::1:80', ':80', 'host:', 'host :80', 'h\u00a0:80', 'host:-1', '[zz]:80', 'a:b:80', '0.0.0.0:8080 '],
    parserOnly: [],
  },
  duration: {
    good: ['PT1H', 'P1D', 'P1DT2H3M4S', 'PT30M', 'PT45S', 'PT90M', 'P0DT1S', 'P365D', 'PT0H5M', 'P3650D', 'PT15M', 'P999999999D'],
    bad: [
      '5 minutes', 'P1Y', 'P1M', 'P1W', 'P0D', 'PT0S', 'P0DT0H0M0S', '-PT1H', '+PT1H', 'PT0.5S', 'PT1,5H', '', 'P', 'PT', 'P1DT', 'pt1h', '1H',
      'PT1H30', 'PT1M1H', 'P1H', 'PT1H ', '3600', 'PT9999999999S', `P${'1'.repeat(100)}D`,
    ],
    parserOnly: ['P999999999DT999999999H'],
  },
}

for (const [form, c] of Object.entries(CASES) as [keyof typeof forms, (typeof CASES)['cidr']][]) {
  describe(`the ${form} schema pattern and check-config's parser`, () => {
    test('accept the same good values', () => {
      for (const t of c.good) {
        assert.ok(forms[form].parser(t).ok, `oracle: check-config accepts ${JSON.stringify(t)}`)
        assert.ok(forms[form].schema(t), `the pattern accepts ${JSON.stringify(t)}`)
      }
    })
    test('refuse the same bad values', () => {
      for (const t of c.bad) {
        assert.equal(forms[form].parser(t).ok, false, `oracle: check-config refuses ${JSON.stringify(t)}`)
        assert.equal(forms[form].schema(t), false, `the pattern refuses ${JSON.stringify(t)}`)
      }
    })
    test('differ only where a regex cannot see (check-config alone refuses these)', () => {
      for (const t of c.parserOnly) {
        assert.equal(forms[form].parser(t).ok, false, JSON.stringify(t))
        assert.ok(forms[form].schema(t), JSON.stringify(t))
        agree(form, t)
      }
    })
  })
}

// Random texts from pieces that make near-misses likely.
const PIECES = {
  cidr: ['0', '1', '10', '255', '256', '010', 'f', 'FFFF', 'ffff', '12345', ':', '::', '.', '/', '/0', '/32', '/33', '/128', '/129', '%', 'g', ' '],
  hostPort: ['[', ']', ':', '::1', 'a', '0', '8080', '65535', '65536', '99999', ' ', '\u00a0', '\u2028', '.', 'x', '-'],
  duration: ['P', 'T', 'D', 'H', 'M', 'S', 'Y', 'W', '0', '1', '9', '00', '123456789', '1234567890', '.', ',', '-', ' ', 'p', 't'],
}

describe('the patterns agree with the parsers on random texts', () => {
  for (const form of Object.keys(PIECES) as (keyof typeof PIECES)[]) {
    test(form, () => {
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...PIECES[form]), { minLength: 1, maxLength: 12 }), (parts) => agree(form, parts.join(''))),
        { numRuns: 5000 },
      )
    })
  }

  test('IPv6 addresses and ranges in every spelling', () => {
    const word = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }))
    fc.assert(
      fc.property(fc.array(word, { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 130 }), (words, cut, bits) => {
        const hex = words.map((w) => w.toString(16))
        const full = hex.join(':')
        const compressed = `${hex.slice(0, cut).join(':')}::${hex.slice(cut + 1).join(':')}`
        const tail = `${hex.slice(0, 6).join(':')}:${words[6]! >> 8}.${words[6]! & 255}.${words[7]! >> 8}.${words[7]! & 255}`
        for (const t of [full, compressed, tail, full.toUpperCase()]) {
          agree('cidr', t)
          agree('cidr', `${t}/${bits}`)
        }
      }),
      { numRuns: 3000 },
    )
  })
})

test('check-config reports a bad CIDR or duration once, with the parser\'s message, not also the pattern\'s', () => {
  const text = 'upstream: {url: "http://127.0.0.1:3000"}\ntrustedProxies: [10.0.0.0/33]\nissuer: {jwtMaxTtl: PT0S, jwtDefaultTtl: 5 minutes}\n'
  const r = parseConfigText(text, '/nonexistent/gatehouse.yaml')
  assert.equal(r.ok, false)
  const problems = r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`)
  assert.equal(problems.length, 3, problems.join('\n'))
  assert.match(problems[0] ?? '', /^trustedProxies\[0\]: .*invalid prefix length \(0-32\)/)
  assert.match(problems.join('\n'), /issuer\.jwtMaxTtl: .*zero/)
  assert.match(problems.join('\n'), /issuer\.jwtDefaultTtl: duration .*PnDTnHnMnS/)
})
