// SPEC §3.1: one normalised path, used both to match the API and to forward, so
// the path that was authorised is byte-identical to the path the upstream sees
// (attack #36–#48). Anything that cannot be normalised unambiguously is refused.

export type NormalizedTarget = { ok: true; path: string; query: string } | { ok: false; detail: string }

// Raw-character classes for bytes below 0x80; 0x80 and above are always refused.
const PLAIN = 0
const FORBIDDEN = 1 // controls, DEL, space, `#`, `\`
const SPECIAL = 2 // `%`, `.`, `/`: may need the slow path
const RAW = new Uint8Array(128)
for (let c = 0; c < 0x20; c++) RAW[c] = FORBIDDEN
RAW[0x7f] = FORBIDDEN
RAW[0x20] = FORBIDDEN
RAW[0x23] = FORBIDDEN // `#`: origin-form has no fragment (RFC 9112 §3.2.1, attack #41)
RAW[0x5c] = FORBIDDEN // `\`: WHATWG URL and some servers read it as `/` (attack #38)
RAW[0x25] = SPECIAL
RAW[0x2e] = SPECIAL
RAW[0x2f] = SPECIAL

// RFC 3986 §2.3 unreserved: decoding these never changes meaning (§6.2.2.2).
const UNRESERVED = new Uint8Array(128)
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[ch.charCodeAt(0)] = 1

const HEX_VALUE = new Int8Array(128).fill(-1)
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i
}
// RFC 3986 §6.2.2.1: percent-encodings are compared with uppercase hex.
const ESCAPED: readonly string[] = Array.from({ length: 256 }, (_, b) => '%' + b.toString(16).toUpperCase().padStart(2, '0'))

const fail = (detail: string): NormalizedTarget => Object.freeze({ ok: false, detail })
const BAD_FORM = fail('request-target must be a path starting with /')
const BAD_CHAR = fail('request-target contains a character that must be percent-encoded or is not allowed')
const FRAGMENT = fail('request-target contains a fragment (#)')
const BAD_ESCAPE = fail('invalid percent-encoding in path')
const ENCODED_SLASH = fail('encoded / or \\ in path')
const ENCODED_CONTROL = fail('encoded control character in path')
const BAD_UTF8 = fail('percent-encoded bytes in path are not valid UTF-8')
const ABOVE_ROOT = fail('path climbs above the root')
const DOT_PARAMS = fail('dot-segment with parameters in path')
const DOUBLE_ENCODED = fail('double-encoded dot, / or \\ in path')
const DOUBLE_ENCODED_SEPARATOR = /%252[EeFf]|%255[Cc]/

/** Splits node's `req.url` into a normalised path and the verbatim query (with its `?`). */
export function normalizeTarget(rawTarget: string): NormalizedTarget {
  // Absolute-form, authority-form and `*` are refused: we only proxy origin-form (RFC 9112 §3.2).
  if (rawTarget.charCodeAt(0) !== 0x2f) return BAD_FORM
  const q = rawTarget.indexOf('?')
  const end = q === -1 ? rawTarget.length : q

  let needsWork = false
  let prev = 0
  for (let i = 0; i < end; i++) {
    const c = rawTarget.charCodeAt(i)
    if (c >= 0x80) return BAD_CHAR
    const cls = RAW[c] as number
    if (cls === PLAIN) {
      prev = c
      continue
    }
    if (cls === FORBIDDEN) return c === 0x23 ? FRAGMENT : BAD_CHAR
    // `%…`, `//` and a segment starting with `.` are the only things to rewrite.
    if (c === 0x25 || (prev === 0x2f && (c === 0x2f || c === 0x2e))) needsWork = true
    prev = c
  }
  // The query is forwarded verbatim, but it still may not carry what no request-target may.
  for (let i = end; i < rawTarget.length; i++) {
    const c = rawTarget.charCodeAt(i)
    if (c >= 0x80 || c <= 0x20 || c === 0x7f) return BAD_CHAR
    if (c === 0x23) return FRAGMENT
  }
  const query = q === -1 ? '' : rawTarget.slice(q)
  if (!needsWork) return { ok: true, path: q === -1 ? rawTarget : rawTarget.slice(0, q), query }
  return normalizeSlow(rawTarget, end, query)
}

/** RFC 3986 §5.2.4 over decoded segments, with duplicate slashes collapsed. */
function normalizeSlow(s: string, end: number, query: string): NormalizedTarget {
  const out: string[] = []
  let trailingSlash = false
  let start = 1
  while (start <= end) {
    let stop = s.indexOf('/', start)
    if (stop === -1 || stop > end) stop = end
    const last = stop === end
    const seg = decodeSegment(s, start, stop)
    if (typeof seg !== 'string') return seg
    if (seg === '' || seg === '.') {
      trailingSlash = last
    } else if (seg === '..') {
      if (out.length === 0) return ABOVE_ROOT
      out.pop()
      trailingSlash = last
    } else {
      // Tomcat and Spring read `..;x` as `..` (attack #43): refuse rather than guess.
      const cut = paramStart(seg)
      if (cut > 0 && isDots(seg, cut)) return DOT_PARAMS
      out.push(seg)
      trailingSlash = false
    }
    start = stop + 1
  }
  if (out.length === 0) return { ok: true, path: '/', query }
  return { ok: true, path: '/' + out.join('/') + (trailingSlash ? '/' : ''), query }
}

/** Index of the first `;` or `%3B` in a decoded segment, or -1. */
function paramStart(seg: string): number {
  const semi = seg.indexOf(';')
  const enc = seg.indexOf('%3B')
  if (semi === -1) return enc
  return enc === -1 || semi < enc ? semi : enc
}

function isDots(seg: string, len: number): boolean {
  return (len === 1 && seg.charCodeAt(0) === 0x2e) || (len === 2 && seg.charCodeAt(0) === 0x2e && seg.charCodeAt(1) === 0x2e)
}

/** Decodes unreserved escapes, uppercases the rest, and refuses the dangerous ones. */
function decodeSegment(s: string, start: number, stop: number): string | NormalizedTarget {
  let pct = s.indexOf('%', start)
  if (pct === -1 || pct >= stop) return s.slice(start, stop)
  let out = ''
  let plain = start
  while (pct !== -1 && pct < stop) {
    out += s.slice(plain, pct)
    const b = escapedByte(s, pct, stop)
    if (b < 0) return BAD_ESCAPE
    let i = pct + 3
    if (b < 0x80) {
      if (b === 0x2f || b === 0x5c) return ENCODED_SLASH
      // %00 and other controls: NUL truncation and `%0a` vs regex `.` (attack #48).
      if (b < 0x20 || b === 0x7f) return ENCODED_CONTROL
      out += UNRESERVED[b] === 1 ? String.fromCharCode(b) : (ESCAPED[b] as string)
    } else {
      const n = utf8Sequence(s, pct, stop)
      if (n === 0) return BAD_UTF8
      for (let k = 0; k < n; k++) out += ESCAPED[escapedByte(s, pct + 3 * k, stop)] as string
      i = pct + 3 * n
    }
    plain = i
    pct = s.indexOf('%', i)
  }
  const segment = out + s.slice(plain, stop)
  // `%252e` (or `%25%32%65`) is the text `%2e` to us, but a dot to an upstream that decodes twice.
  return segment.indexOf('%25') !== -1 && DOUBLE_ENCODED_SEPARATOR.test(segment) ? DOUBLE_ENCODED : segment
}

function escapedByte(s: string, at: number, stop: number): number {
  if (at + 2 >= stop) return -1
  const hi = s.charCodeAt(at + 1)
  const lo = s.charCodeAt(at + 2)
  const h = hi < 128 ? (HEX_VALUE[hi] as number) : -1
  const l = lo < 128 ? (HEX_VALUE[lo] as number) : -1
  return h < 0 || l < 0 ? -1 : (h << 4) | l
}

/**
 * Length in bytes of the well-formed UTF-8 sequence spelled by consecutive escapes
 * at `at` (RFC 3629 §4: no overlongs such as %C0%AF, no surrogates, ≤ U+10FFFF), or 0.
 */
function utf8Sequence(s: string, at: number, stop: number): number {
  const b0 = escapedByte(s, at, stop)
  let n: number
  let lo = 0x80
  let hi = 0xbf
  if (b0 >= 0xc2 && b0 <= 0xdf) n = 2
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3
    if (b0 === 0xe0) lo = 0xa0
    else if (b0 === 0xed) hi = 0x9f
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4
    if (b0 === 0xf0) lo = 0x90
    else if (b0 === 0xf4) hi = 0x8f
  } else return 0
  for (let k = 1; k < n; k++) {
    const at2 = at + 3 * k
    if (s.charCodeAt(at2) !== 0x25) return 0
    const b = escapedByte(s, at2, stop)
    if (b < lo || b > hi) return 0
    lo = 0x80
    hi = 0xbf
  }
  return n
}
