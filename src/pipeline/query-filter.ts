// Issue 13: query parameters that a legacy API may read as a credential (RFC 6750
// §2.3 `access_token` by default) are removed before forwarding, so a credential
// Gatehouse ignored cannot authenticate at the upstream. Names are compared the
// way lenient stacks read them: percent- and `+`-decoded, case folded, PHP's
// `.`, space and `[` read as `_`, `name[]` as `name`, and `;` (old CGI) and a
// second `?` (naive `split('?')`) taken as separators as well as `&`.

/** The query (with its `?`, or '') without the removed parameters. */
export type QueryFilter = (query: string) => string

export function compileQueryFilter(names: readonly string[]): QueryFilter {
  const removed = new Set(names.map((n) => canonicalParam(n)))
  if (removed.size === 0) return (query) => query
  return (query) => {
    if (query.length <= 1) return query
    const kept: string[] = []
    for (const element of query.slice(1).split('&')) {
      if (!element.split(/[;?]/).some((part) => isRemoved(removed, part))) kept.push(element)
    }
    if (kept.length === 0) return ''
    const out = '?' + kept.join('&')
    return out.length === query.length ? query : out
  }
}

function isRemoved(removed: ReadonlySet<string>, part: string): boolean {
  const eq = part.indexOf('=')
  const name = decodeLenient(eq === -1 ? part : part.slice(0, eq))
  if (removed.has(canonicalParam(name))) return true
  // PHP and Rack read `access_token[]` and `access_token[x]` as that parameter (an array).
  const bracket = name.indexOf('[')
  return bracket > 0 && name.indexOf(']', bracket) !== -1 && removed.has(canonicalParam(name.slice(0, bracket)))
}

function decodeLenient(s: string): string {
  try {
    return decodeURIComponent(s.replaceAll('+', ' '))
  } catch {
    return s // invalid escapes: compared as the text they are
  }
}

/** A decoded parameter name as lenient stacks compare it. */
export function canonicalParam(decodedName: string): string {
  return decodedName.trim().toLowerCase().replace(/[. []/g, '_')
}
