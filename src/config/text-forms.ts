// The text forms of SPEC §2 (CIDR, host:port, duration) as JSON-Schema patterns,
// so a schema consumer without Gatehouse's parsers (Helm's values.schema.json, an
// editor) refuses what check-config refuses. The parsers stay the authority:
// net/ip-filter.ts parseCidrs, load.ts parseHostPort, duration.ts parseDuration.
// A regex cannot see host bits after a CIDR prefix (10.0.0.1/8) or a duration's
// total length; test/unit/config/text-forms.test.ts lists every case where they
// differ. Each pattern is valid in both ECMAScript (Ajv, `u` flag) and Go RE2
// (Helm): no lookaround, no backreferences, no \d or \s (they differ).

const HEX = '[0-9A-Fa-f]{1,4}'
// Dotted quad, 0-255 without leading zeros (net/ip-filter.ts parseIpv4).
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])'
const IPV4 = `${OCTET}(?:\\.${OCTET}){3}`

/** RFC 4291 §2.2: eight words, or `::` standing for one or more, with an optional dotted-quad tail. */
function ipv6(): string {
  const forms = [`(?:${HEX}:){7}${HEX}`, `(?:${HEX}:){6}${IPV4}`]
  const words = (min: number, max: number) => (max === 0 ? '' : `(?:${HEX}:){${min === max ? max : `${min},${max}`}}`)
  for (let before = 0; before <= 7; before++) {
    const head = before === 0 ? ':' : words(before, before)
    const room = 7 - before // words the `::` side may still hold, `::` itself taking one
    forms.push(`${head}:${room > 0 ? `(?:${words(0, room - 1)}${HEX})?` : ''}`)
    if (room >= 2) forms.push(`${head}:${words(0, room - 2)}${IPV4}`)
  }
  return `(?:${forms.join('|')})`
}

const V4_BITS = '(?:3[0-2]|[12][0-9]|[0-9])'
const V6_BITS = '(?:12[0-8]|1[01][0-9]|[1-9][0-9]|[0-9])'

/** An IPv4 or IPv6 address, or a CIDR range (prefix 0-32 / 0-128 without leading zeros). */
export const CIDR_PATTERN = `^(?:${IPV4}(?:/${V4_BITS})?|${ipv6()}(?:/${V6_BITS})?)$`

// JavaScript's \s, spelled out: parseHostPort refuses these in a host name, and RE2's \s is ASCII only.
const SPACE = '\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff'
const PORT = '(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[0-5][0-9]{4}|[0-9]{1,4})'

/** host:port with a port from 0 to 65535, an IPv6 host in brackets (load.ts parseHostPort). */
export const HOST_PORT_PATTERN = `^(?:\\[[0-9A-Fa-f:.]+\\]|[^:\\[\\]${SPACE}]+):${PORT}$`

const N = '[0-9]{1,9}'
const TIME = `T(?:${N}H(?:${N}M)?(?:${N}S)?|${N}M(?:${N}S)?|${N}S)`

/** PnDTnHnMnS, whole numbers, at least one part (duration.ts parseDuration). */
export const DURATION_PATTERN = `^P(?:${N}D(?:${TIME})?|${TIME})$`
/** A duration of zero, which DURATION_PATTERN matches and parseDuration refuses (the schema says `not`). */
export const ZERO_DURATION_PATTERN = '^P(?:0+D)?(?:T(?:0+H)?(?:0+M)?(?:0+S)?)?$'

/** The patterns whose values gatehouse checks with its parsers (load.ts, compile), which say more precisely what is wrong: left out of the validator it runs (test/support/generate-validators.ts), kept for the Helm schema. */
export const PARSER_CHECKED_PATTERNS: ReadonlySet<string> = new Set([CIDR_PATTERN, HOST_PORT_PATTERN, DURATION_PATTERN, ZERO_DURATION_PATTERN])
