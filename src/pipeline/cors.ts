// Per-API CORS (apis[].cors; Fetch standard §3.2 "CORS protocol"). A preflight —
// OPTIONS with Origin and Access-Control-Request-Method — carries no credential by
// design, so for an API with a cors policy Gatehouse answers it itself and never
// forwards it. A preflight the policy does not allow is answered too, like Envoy's
// cors filter (forward_not_matching_preflights: false) and Kong's cors plugin do:
// 200 without any Access-Control-Allow-* header, so the browser fails it with
// "No 'Access-Control-Allow-Origin' header". Actual requests keep needing their
// credential; their answers (refusals included) carry the allow headers when the
// origin is allowed, so a page can read a 401.

export interface CorsConfig {
  readonly origins: readonly string[]
  readonly methods: readonly string[]
  readonly headers: readonly string[]
  readonly exposeHeaders: readonly string[]
  readonly credentials: boolean
  readonly maxAge?: number | undefined
}

/** Compiled once per (re)load, with the header values pre-joined. */
export interface CorsPolicy {
  readonly anyOrigin: boolean
  readonly origins: ReadonlySet<string>
  readonly methods: ReadonlySet<string>
  /** Lowercase: Access-Control-Request-Headers lists lowercase names (Fetch §4.8 step 5). */
  readonly headers: ReadonlySet<string>
  readonly credentials: boolean
  readonly allowMethods: string
  readonly allowHeaders: string
  readonly exposeHeaders: string
  readonly maxAge: string | null
}

/** The request facts CORS reads (from decide()'s header scan). */
export interface CorsAsk {
  readonly method: string
  readonly origin: string | undefined
  readonly requestMethod: string | undefined
  readonly requestHeaders: string | undefined
}

export type CorsHeaders = Readonly<Record<string, string>>

export type CorsVerdict =
  /** A preflight, answered by Gatehouse: allowed (204 with the allow headers) or not (200 without them). */
  | { readonly preflight: true; readonly allowed: boolean; readonly headers: CorsHeaders; readonly detail: string }
  /** Any other request: these headers go on its answer, forwarded or refused. */
  | { readonly preflight: false; readonly headers: CorsHeaders }

export function compileCors(c: CorsConfig): CorsPolicy {
  return Object.freeze({
    anyOrigin: c.origins.includes('*'),
    origins: new Set(c.origins),
    methods: new Set(c.methods),
    headers: new Set(c.headers.map((h) => h.toLowerCase())),
    credentials: c.credentials,
    allowMethods: c.methods.join(', '),
    allowHeaders: c.headers.join(', '),
    exposeHeaders: c.exposeHeaders.join(', '),
    maxAge: c.maxAge === undefined ? null : String(c.maxAge),
  })
}

const VARY_ONLY: CorsHeaders = Object.freeze({ vary: 'Origin' })
const NOTHING: CorsHeaders = Object.freeze({})

export function decideCors(p: CorsPolicy, ask: CorsAsk): CorsVerdict {
  const originAllowed = ask.origin !== undefined && (p.anyOrigin || p.origins.has(ask.origin))
  // With `*` (never with credentials) the answer does not depend on Origin: no Vary.
  const base = p.anyOrigin ? NOTHING : VARY_ONLY
  if (ask.method === 'OPTIONS' && ask.origin !== undefined && ask.requestMethod !== undefined) {
    const refusal = !originAllowed
      ? 'the origin is not in cors.origins'
      : !p.methods.has(ask.requestMethod)
        ? 'the method is not in cors.methods'
        : unlistedHeader(p, ask.requestHeaders)
    if (refusal !== null) return { preflight: true, allowed: false, headers: base, detail: refusal }
    const headers: Record<string, string> = { ...allowOrigin(p, ask.origin as string, base), 'access-control-allow-methods': p.allowMethods }
    if (p.allowHeaders !== '') headers['access-control-allow-headers'] = p.allowHeaders
    if (p.maxAge !== null) headers['access-control-max-age'] = p.maxAge
    return { preflight: true, allowed: true, headers, detail: 'preflight allowed' }
  }
  if (!originAllowed) return { preflight: false, headers: base }
  const headers = allowOrigin(p, ask.origin as string, base)
  if (p.exposeHeaders !== '') headers['access-control-expose-headers'] = p.exposeHeaders
  return { preflight: false, headers }
}

function allowOrigin(p: CorsPolicy, origin: string, base: CorsHeaders): Record<string, string> {
  const headers: Record<string, string> = { ...base, 'access-control-allow-origin': p.anyOrigin ? '*' : origin }
  if (p.credentials) headers['access-control-allow-credentials'] = 'true'
  return headers
}

/** A refusal detail when Access-Control-Request-Headers names a header the policy does not list; null when all are listed. */
function unlistedHeader(p: CorsPolicy, requested: string | undefined): string | null {
  if (requested === undefined) return null
  for (const raw of requested.split(',')) {
    const name = raw.trim().toLowerCase()
    if (name !== '' && !p.headers.has(name)) return 'a requested header is not in cors.headers'
  }
  return null
}

/**
 * The upstream's response headers (flat name/value list, names lowercase) with the
 * policy's in charge: the upstream's own Access-Control-* headers are dropped, so
 * only apis[].cors decides what a browser may read; Origin is added to its Vary.
 */
export function withCorsHeaders(relayed: string[], cors: CorsHeaders): string[] {
  const out: string[] = []
  let vary: string | null = null
  for (let i = 0; i < relayed.length; i += 2) {
    const name = relayed[i] as string
    if (name.startsWith('access-control-')) continue
    if (name === 'vary') vary = vary === null ? (relayed[i + 1] as string) : `${vary}, ${relayed[i + 1] as string}`
    else out.push(name, relayed[i + 1] as string)
  }
  for (const name in cors) {
    const value = cors[name] as string
    if (name === 'vary') vary = vary === null || vary.trim() === '' ? value : vary.trim() === '*' ? vary : `${vary}, ${value}`
    else out.push(name, value)
  }
  if (vary !== null) out.push('vary', vary)
  return out
}
