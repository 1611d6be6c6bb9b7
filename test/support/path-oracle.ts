// An independent oracle for issue 13's legacy path readings, written from the
// issue's list with regexes, String.prototype.normalize and toUpperCase /
// toLowerCase rather than from src/pipeline/path-readings.ts. Used by the
// property test and the fuzzer: a path Gatehouse accepts must select the same
// API under every reading here.
const ASCII = /^[\x00-\x7f]*$/
const decode = (s: string) => s.replace(/(%[0-9a-f]{2})+/gi, (m) => Buffer.from(m.replaceAll('%', ''), 'hex').toString('utf8'))
// Overlong forms of `/`, `.` and `\` as a pre-RFC 3629 decoder reads them.
const decodeOverlong = (s: string) =>
  decode(s.replace(/%C0%AF|%E0%80%AF/gi, '/').replace(/%C0%AE|%E0%80%AE/gi, '.').replace(/%C1%9C/gi, '\\'))
const cutDelimiters = (s: string) => s.split(/[?#]/)[0] as string
const trimDotsSpaces = (s: string) =>
  s
    .split('/')
    .map((seg) => {
      const noSpaces = seg.replace(/ +$/, '')
      return noSpaces === '.' || noSpaces === '..' ? noSpaces : seg.replace(/[. ]+$/, '')
    })
    .join('/')
const foldCase = (s: string) =>
  [...s].map((ch) => (ASCII.test(ch) ? ch : ASCII.test(ch.toUpperCase()) ? ch.toUpperCase() : ASCII.test(ch.toLowerCase()) ? ch.toLowerCase() : ch)).join('')
const REWRITES = [decode, decodeOverlong, cutDelimiters, trimDotsSpaces, (s: string) => s.normalize('NFKC'), foldCase]

/** Segments of a decoded reading: `/` and `\` separate, dot segments resolved, lowercased. */
function segments(reading: string, cutParams: boolean): string[] {
  const out: string[] = []
  for (let seg of reading.split(/[/\\]/)) {
    if (cutParams) seg = seg.split(';')[0] as string
    if (seg === '' || seg === '.') continue
    if (seg === '..') out.pop()
    else out.push(seg.toLowerCase())
  }
  return out
}

/** Longest-prefix match of a decoded reading, with `;params` cut (Tomcat) or kept. */
export function oracleMatcher(apis: readonly { name: string; prefixes: readonly string[] }[]): (reading: string, cutParams: boolean) => string | null {
  const prefixes = apis.flatMap((a) => a.prefixes.map((p) => ({ api: a.name, segs: segments(decode(p), true) })))
  return (reading, cutParams) => {
    const segs = segments(reading, cutParams)
    let best: { api: string; n: number } | null = null
    for (const p of prefixes) {
      if (p.segs.length <= segs.length && p.segs.every((s, i) => s === segs[i]) && (best === null || p.segs.length > best.n)) best = { api: p.api, n: p.segs.length }
    }
    return best?.api ?? null
  }
}

/** Every reading reachable in up to three rewrites of the once-decoded path. */
export function readingsOf(path: string): string[] {
  const seen = new Set([decode(path)])
  let frontier = [...seen]
  for (let depth = 0; depth < 3; depth++) {
    const next: string[] = []
    for (const r of frontier) {
      for (const f of REWRITES) {
        const v = f(r)
        if (!seen.has(v)) {
          seen.add(v)
          next.push(v)
        }
      }
    }
    frontier = next
  }
  return [...seen]
}

/** A character as its UTF-8 percent-escapes. */
export const utf8 = (ch: string) => [...Buffer.from(ch)].map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join('')

/** Fragments a legacy upstream reads differently from Gatehouse (issue 13's list). */
export const HOSTILE_PATH_FRAGMENTS: readonly string[] = [
  'admin', 'ADMIN', 'Admin', 'x', 'users', 'v1', '/', '//', '.', '..', '%2e', '%2E%2e', '%252e', '%252E%252E', '%2561dmin', '%2541DMIN',
  '%3F', '%253F', '%23', '%2523', ';', '%3B', '%253B', ';x=1', '%20', '%2520', '.%20', '..%20', ' ', '...', '%2e%20',
  `adm${utf8('ı')}n`, `${utf8('ſ')}`, utf8('K'), utf8('İ'), `${utf8('ａ')}dmin`, utf8('ａｄｍｉｎ'), utf8('／'), utf8('．'), utf8('．．'), utf8('﹖'),
  utf8('ﬀ'), utf8('ß'), '%C0%AF', '%25C0%25AF', '%25C0%25AE', '%25C0%25AE%25C0%25AE', '%25E0%2580%25AF', '%25C1%259C', '%25FF', '%2500',
  '%C3%A9', '%25C3%25A9', '%7E', '~', '-', '_',
]
