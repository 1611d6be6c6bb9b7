// SPEC §9, §12 `discovery: true`: the JWKS address is read from the issuer's own
// metadata, the OpenID document first (`<issuer>/.well-known/openid-configuration`),
// then RFC 8414 (`/.well-known/oauth-authorization-server` inserted before the
// issuer's path) when the first is not there. The document's `issuer` must equal the
// configured one exactly (RFC 8414 §3.3, OpenID Discovery §4.3: the mix-up defence);
// a document naming another issuer is an error, never a reason to try the other one.
import { readCapped } from './remote-jwks.js'

export interface DiscoveryLimits {
  readonly fetchTimeoutMs: number
  readonly maxBytes: number
}

/** https: anywhere, http: only to a loopback host (metadata or keys fetched in clear text could be swapped). */
export function checkFetchUrl(text: string, what: string): URL | string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return `${what} is not a valid URL`
  }
  if (url.username !== '' || url.password !== '') return `${what} must not carry credentials`
  if (url.protocol === 'https:') return url
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url
  return `${what} must use https:// (http:// only to a loopback host)`
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/** The two metadata addresses of an issuer, in the order they are tried. */
export function discoveryUrls(issuer: URL): [URL, URL] {
  const path = issuer.pathname.replace(/\/+$/, '')
  const openid = new URL(`${issuer.origin}${path}/.well-known/openid-configuration`)
  const rfc8414 = new URL(`${issuer.origin}/.well-known/oauth-authorization-server${path}`)
  return [openid, rfc8414]
}

class NotFound extends Error {}

/** The `jwks_uri` of the issuer's metadata; throws an Error whose message says why not (no secret in it). */
export async function discoverJwksUri(issuer: string, limits: DiscoveryLimits, closed: AbortSignal): Promise<URL> {
  const base = checkFetchUrl(issuer, 'the issuer (with discovery)')
  if (typeof base === 'string') throw new Error(base)
  const [openid, rfc8414] = discoveryUrls(base)
  let doc: Record<string, unknown>
  try {
    doc = await fetchDocument(openid, limits, closed)
  } catch (err) {
    if (!(err instanceof NotFound)) throw err
    doc = await fetchDocument(rfc8414, limits, closed)
  }
  if (doc.issuer !== issuer) {
    const named = typeof doc.issuer === 'string' ? `"${doc.issuer.slice(0, 200)}"` : 'no issuer'
    throw new Error(`discovery document names ${named}, not "${issuer}": refused (mix-up defence)`)
  }
  if (typeof doc.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri')
  const jwks = checkFetchUrl(doc.jwks_uri, 'the discovered jwks_uri')
  if (typeof jwks === 'string') throw new Error(jwks)
  return jwks
}

async function fetchDocument(url: URL, limits: DiscoveryLimits, closed: AbortSignal): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    signal: AbortSignal.any([AbortSignal.timeout(limits.fetchTimeoutMs), closed]),
    redirect: 'error',
    headers: { accept: 'application/json', 'user-agent': 'gatehouse' },
  })
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined)
    if (res.status === 404) throw new NotFound(`${url.pathname} not found`)
    throw new Error(`discovery answered HTTP ${res.status}`)
  }
  const body = await readCapped(res, limits.maxBytes)
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch {
    throw new Error('discovery answered with a body that is not JSON')
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('discovery document is not a JSON object')
  return json as Record<string, unknown>
}
