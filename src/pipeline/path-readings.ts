// Issue 13: Gatehouse picks the API on its own reading of the path; a legacy
// upstream acts on *its* reading. Where a legacy stack could read the same bytes
// as a path of another API (IIS trims `admin.`, PHP decodes `%2561` twice, Java's
// equalsIgnoreCase folds `ı` to `I`, NFKC turns `ａ` into `a`, Tomcat drops `;x`),
// the request is refused rather than guessed. Each kind of reading is a switch in
// `pathReadings:` (all on by default).
//
// The readings are the closure of the enabled rewrites over the path as an
// upstream decodes it once (bounded); each one is matched like the real path.
import { isUtf8 } from 'node:buffer'
import type { ApiMatcher, CompiledApi } from './match-api.js'

export interface PathReadingSwitches {
  /** `%25xx` read as `%xx` and decoded again. */
  readonly doubleDecoding: boolean
  /** A decoded `?` or `#` ends the path. */
  readonly encodedDelimiters: boolean
  /** Trailing dots and spaces of a segment are dropped (Windows, IIS). */
  readonly trailingDotsSpaces: boolean
  /** A segment's `;params` are part of its name (Gatehouse itself drops them, as Tomcat does). */
  readonly pathParameters: boolean
  /** Unicode compatibility forms (NFKC): fullwidth letters, `／`, `．`, ligatures. */
  readonly unicodeCompatibility: boolean
  /** Unicode letters whose upper or lower case is ASCII (`ı`, `ſ`, Kelvin sign, `ß`). */
  readonly unicodeCaseFolding: boolean
  /** A second decoding's overlong and invalid UTF-8 read as old decoders do (`%C0%AF` as `/`, stray bytes as Latin-1). */
  readonly invalidUtf8: boolean
}

export const DEFAULT_READINGS: PathReadingSwitches = Object.freeze({
  doubleDecoding: true,
  encodedDelimiters: true,
  trailingDotsSpaces: true,
  pathParameters: true,
  unicodeCompatibility: true,
  unicodeCaseFolding: true,
  invalidUtf8: true,
})

export type ReadingName = keyof PathReadingSwitches

/** The first reading that selects another API, or null when every reading agrees. */
export type ReadingCheck = (path: string, selected: CompiledApi | null, matcher: ApiMatcher) => ReadingName | 'too_many_readings' | null

// Enough for every composition of the rewrites on real paths; more is refused.
const MAX_READINGS = 64

const HEX = '0123456789ABCDEF'
// Kept raw when a reading is written back as a path: RFC 3986 pchar without `%`.
const PCHAR = new Uint8Array(128)
for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@") PCHAR[ch.charCodeAt(0)] = 1

export function compileReadingCheck(switches: PathReadingSwitches): ReadingCheck {
  const rewrites: [ReadingName, (s: string) => string][] = []
  if (switches.doubleDecoding) rewrites.push(['doubleDecoding', (s) => decodeOnce(s, false)])
  // Only a second decoding can yield bytes that are not UTF-8: normalizeTarget refuses them in the first.
  if (switches.invalidUtf8) rewrites.push(['invalidUtf8', (s) => decodeOnce(s, true)])
  if (switches.encodedDelimiters) rewrites.push(['encodedDelimiters', cutAtDelimiter])
  if (switches.trailingDotsSpaces) rewrites.push(['trailingDotsSpaces', trimSegments])
  if (switches.unicodeCompatibility) rewrites.push(['unicodeCompatibility', (s) => s.normalize('NFKC')])
  if (switches.unicodeCaseFolding) rewrites.push(['unicodeCaseFolding', foldToAscii])
  const keepParams = switches.pathParameters

  return (path, selected, matcher) => {
    if (!mayReadDifferently(path)) return null
    // The path as any upstream sees it after its own one decoding (already valid UTF-8).
    const base = decodeOnce(path, false)
    const seen = new Map<string, ReadingName>([[base, 'doubleDecoding']])
    const queue: [string, ReadingName | null][] = [[base, null]]
    while (queue.length > 0) {
      const [reading, via] = queue.shift() as [string, ReadingName | null]
      if (via !== null && matcher.match(asPath(reading, false)) !== selected) return via
      if (keepParams && reading.indexOf(';') !== -1 && matcher.match(asPath(reading, true)) !== selected) return 'pathParameters'
      for (const [name, rewrite] of rewrites) {
        const next = rewrite(reading)
        if (seen.has(next)) continue
        if (seen.size >= MAX_READINGS) return 'too_many_readings'
        seen.set(next, name)
        queue.push([next, name])
      }
    }
    return null
  }
}

/**
 * Cheap screen: a normalised path can only read differently when it holds an
 * escape (decoding, Unicode, `?#;` spelled encoded), a `;`, or a segment ending in `.`.
 */
function mayReadDifferently(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c === 0x25 || c === 0x3b) return true
    if (c === 0x2e && (i + 1 === path.length || path.charCodeAt(i + 1) === 0x2f)) return true
  }
  return false
}

/**
 * Percent-decodes `s` once (invalid escapes stay literal); the bytes are read as
 * UTF-8 (U+FFFD for what is not), or with `legacyUtf8` as old decoders read them.
 */
function decodeOnce(s: string, legacyUtf8: boolean): string {
  if (s.indexOf('%') === -1) return s
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x25 && i + 2 < s.length) {
      const v = hexPair(s.charCodeAt(i + 1), s.charCodeAt(i + 2))
      if (v >= 0) {
        bytes.push(v)
        i += 2
        continue
      }
    }
    if (c < 0x80) bytes.push(c)
    else for (const b of Buffer.from(String.fromCodePoint(s.codePointAt(i) as number))) bytes.push(b)
    if (c >= 0xd800 && c <= 0xdbff) i++
  }
  const buf = Buffer.from(bytes)
  if (!legacyUtf8) return buf.toString('utf8')
  // Well-formed UTF-8 reads the same to old decoders: that is the doubleDecoding reading, not this one.
  return isUtf8(buf) ? s : legacyDecode(buf)
}

function hexPair(a: number, b: number): number {
  const h = hexDigit(a)
  const l = hexDigit(b)
  return h < 0 || l < 0 ? -1 : (h << 4) | l
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  c |= 0x20
  return c >= 0x61 && c <= 0x66 ? c - 0x61 + 10 : -1
}

/**
 * UTF-8 as pre-RFC 3629 decoders read it: overlong forms give their code point
 * (`C0 AF` is `/`, CVE-2000-0884), anything that is no sequence is one Latin-1 character.
 */
function legacyDecode(buf: Buffer): string {
  let out = ''
  for (let i = 0; i < buf.length; ) {
    const b0 = buf[i] as number
    const n = b0 >= 0xc0 && b0 <= 0xdf ? 2 : b0 >= 0xe0 && b0 <= 0xef ? 3 : b0 >= 0xf0 && b0 <= 0xf7 ? 4 : 1
    let cp = n === 1 ? b0 : b0 & (0x7f >> n)
    let ok = n > 1 && i + n <= buf.length
    for (let k = 1; ok && k < n; k++) {
      const b = buf[i + k] as number
      if ((b & 0xc0) !== 0x80) ok = false
      else cp = (cp << 6) | (b & 0x3f)
    }
    if (ok && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) {
      out += String.fromCodePoint(cp)
      i += n
    } else {
      out += String.fromCharCode(b0)
      i++
    }
  }
  return out
}

function cutAtDelimiter(s: string): string {
  const q = s.indexOf('?')
  const h = s.indexOf('#')
  const cut = q === -1 ? h : h === -1 ? q : Math.min(q, h)
  return cut === -1 ? s : s.slice(0, cut)
}

/** Windows drops trailing dots and spaces of a file name: `admin. .` is `admin`, `.. ` is `..`. */
function trimSegments(s: string): string {
  return s
    .split('/')
    .map((seg) => {
      // `.. ` is `..` once its spaces go; any other name loses its trailing dots too.
      const noSpaces = seg.replace(/ +$/, '')
      return noSpaces === '.' || noSpaces === '..' ? noSpaces : seg.replace(/[. ]+$/, '')
    })
    .join('/')
}

/**
 * Every character whose upper- or lowercase is ASCII becomes that ASCII, as a
 * case-insensitive comparison in Java, .NET or ICU would see it: `ı`->`I`,
 * `ſ`->`S`, `K` (U+212A)->`k`, `İ`->`i`, `ß`->`SS`, `ﬀ`->`FF`.
 */
function foldToAscii(s: string): string {
  let out = ''
  for (const ch of s) {
    if (ch.charCodeAt(0) < 0x80) {
      out += ch
      continue
    }
    const upper = ch.toUpperCase()
    const lower = ch.toLowerCase()
    if (isAscii(upper)) out += upper
    else if (isAscii(lower)) out += lower
    else {
      const bare = lower.normalize('NFD').replace(/[\u0300-\u036f]/g, '')
      out += bare !== '' && isAscii(bare) && bare.length === 1 ? bare : ch
    }
  }
  return out
}

function isAscii(s: string): boolean {
  return /^[\x00-\x7f]+$/.test(s)
}

/**
 * A decoded reading written back as a normalised path for the matcher: `\` is a
 * separator (Windows), dot segments are resolved (clamped at the root, as RFC 3986
 * §5.2.4 does), other characters are escaped. Without `keepParams`, `;params` go
 * first, as Tomcat drops them; with it, a segment with
 * `;` can match no prefix (prefixes never hold one), so the path ends before it.
 */
function asPath(reading: string, keepParams: boolean): string {
  const out: string[] = []
  for (let seg of reading.split(/[/\\]/)) {
    // Tomcat drops `;params` before it resolves dot segments: `..;x` is `..`, `;x` is nothing.
    if (!keepParams && seg.indexOf(';') !== -1) seg = seg.slice(0, seg.indexOf(';'))
    if (seg === '' || seg === '.') continue
    if (seg === '..') {
      out.pop()
      continue
    }
    if (keepParams && seg.indexOf(';') !== -1) {
      out.push('%01') // a control character: never in a prefix
      break
    }
    out.push(escapeSegment(seg))
  }
  return '/' + out.join('/')
}

function escapeSegment(seg: string): string {
  let out = ''
  for (const ch of seg) {
    const c = ch.charCodeAt(0)
    if (c < 0x80 && PCHAR[c] === 1) out += ch
    else if (c === 0x3b) out += ';'
    else for (const b of Buffer.from(ch)) out += '%' + HEX[b >> 4] + HEX[b & 15]
  }
  return out
}
