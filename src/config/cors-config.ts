// The checks of apis[].cors the schema cannot express (Fetch standard §3.2).
import type { Problem } from './problem.js'

interface CorsFields {
  readonly origins?: unknown
  readonly headers?: unknown
  readonly exposeHeaders?: unknown
  readonly credentials?: unknown
}

export function checkCors(apis: unknown): Problem[] {
  const problems: Problem[] = []
  if (!Array.isArray(apis)) return problems
  apis.forEach((api: { cors?: CorsFields } | null, i) => {
    const cors = api?.cors
    if (!cors || typeof cors !== 'object') return
    const at = `apis[${i}].cors`
    const origins = Array.isArray(cors.origins) ? cors.origins.filter((o): o is string => typeof o === 'string') : []
    if (origins.includes('*')) {
      // Fetch §3.2.5: a browser refuses `Access-Control-Allow-Origin: *` on a request with credentials.
      if (cors.credentials === true) problems.push({ path: `${at}.origins`, message: '"*" cannot be used with credentials: true (browsers refuse it); list the exact origins' })
      if (origins.length > 1) problems.push({ path: `${at}.origins`, message: '"*" allows every origin: list no others beside it' })
    }
    origins.forEach((o, j) => {
      if (o === '*') return
      const problem = originProblem(o)
      if (problem) problems.push({ path: `${at}.origins[${j}]`, message: problem })
    })
    for (const k of ['headers', 'exposeHeaders'] as const) {
      const list = cors[k]
      if (Array.isArray(list) && list.includes('*')) {
        problems.push({ path: `${at}.${k}`, message: 'list the header names: "*" is not supported (it never covers Authorization)' })
      }
    }
  })
  return problems
}

/** An origin must be written as browsers send it in Origin (RFC 6454 §6.2): scheme://host[:port], lowercase, no path. */
function originProblem(o: string): string | null {
  const example = 'must be an origin: scheme://host[:port] such as https://app.example.com'
  if (o.includes('*')) return `"${o}" ${example}: no wildcards, list each origin`
  let url: URL
  try {
    url = new URL(o)
  } catch {
    return `"${o}" ${example}`
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${o}" ${example} (http or https)`
  if (url.origin !== o) return `"${o}" ${example}; write "${url.origin}" (no path, no trailing slash, lowercase, no default port)`
  return null
}
