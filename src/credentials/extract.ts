// SPEC §3.5: find exactly one credential — `Authorization: Bearer <jwt>`,
// `Authorization: ApiKey <key>`, or a configured API-key header — in the raw
// header lines. req.headers keeps only the first Authorization line (attack
// #34), so a second one would go unseen there. The query string is never read (SPEC §5).

export type Extracted =
  | { kind: 'none' }
  | { kind: 'jwt'; token: string }
  | { kind: 'apikey'; key: string }
  | { kind: 'ambiguous'; detail: string }
  /**
   * `apiKey`: an API-key header or `ApiKey` credential, answered like any other key failure (attack #75).
   * `scheme`: the Authorization scheme, lowercased, when it was read; for a scheme the proxy does not take
   * (Basic), `authorization` is the header as received, for the token service, which does (SPEC §6).
   */
  | { kind: 'malformed'; detail: string; apiKey?: true; scheme?: string; authorization?: string }

/** Longest credential looked at; Node's whole header block is 16 KiB by default. */
const MAX_CREDENTIAL = 16 * 1024

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

const NONE: Extracted = Object.freeze({ kind: 'none' })
const ambiguous = (detail: string): Extracted => Object.freeze({ kind: 'ambiguous', detail })
const malformed = (detail: string): Extracted => Object.freeze({ kind: 'malformed', detail })
const TWO_AUTHORIZATION = ambiguous('more than one Authorization header')
const TWO_KEYS = ambiguous('more than one API key header')
const KEY_AND_AUTHORIZATION = ambiguous('both an Authorization header and an API key header')
const TOO_LONG = malformed('credential too long')
const BAD_SCHEME_DETAIL = 'Authorization scheme must be Bearer or ApiKey'
const BAD_SCHEME = malformed(BAD_SCHEME_DETAIL)
const BAD_BEARER: Extracted = Object.freeze({ kind: 'malformed', detail: 'Bearer credential is not a single b64token', scheme: 'bearer' })
const BAD_KEY: Extracted = Object.freeze({ kind: 'malformed', detail: 'API key must be non-empty visible ASCII', apiKey: true })
const KEY_TOO_LONG: Extracted = Object.freeze({ kind: 'malformed', detail: 'credential too long', apiKey: true })

export function compileExtractor(apiKeyHeaders: readonly string[]): (rawHeaders: readonly string[]) => Extracted {
  // Authorization is always read by scheme; it cannot double as a key header.
  const keyNames = new Set(apiKeyHeaders.map((h) => h.toLowerCase()).filter((h) => h !== 'authorization'))
  const keyLengths = new Set([...keyNames].map((h) => h.length))

  return function extract(rawHeaders: readonly string[]): Extracted {
    let authorization: string | undefined
    let authorizationCount = 0
    let key: string | undefined
    let keyCount = 0
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i] as string
      const n = name.length
      if (n === 13 && name.toLowerCase() === 'authorization') {
        authorizationCount++
        authorization = rawHeaders[i + 1] as string
      } else if (keyLengths.has(n) && keyNames.has(name.toLowerCase())) {
        keyCount++
        key = rawHeaders[i + 1] as string
      }
    }
    // RFC 6750 §2: a client MUST NOT use more than one method — so any second
    // credential, even an empty or repeated one, is refused rather than chosen.
    if (authorizationCount > 1) return TWO_AUTHORIZATION
    if (keyCount > 1) return TWO_KEYS
    if (authorizationCount === 1 && keyCount === 1) return KEY_AND_AUTHORIZATION
    if (authorization !== undefined) return parseAuthorization(authorization)
    if (key !== undefined) return parseKeyHeader(key)
    return NONE
  }
}

function parseAuthorization(value: string): Extracted {
  if (value.length > MAX_CREDENTIAL + 16) return TOO_LONG
  // RFC 9110 §11.4: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
  const sp = value.indexOf(' ')
  if (sp <= 0) return BAD_SCHEME
  let start = sp + 1
  while (value.charCodeAt(start) === 0x20) start++
  const end = trimmedEnd(value)
  const scheme = value.slice(0, sp).toLowerCase() // RFC 9110 §11.1: case-insensitive
  if (start >= end) return scheme === 'bearer' ? BAD_BEARER : scheme === 'apikey' ? BAD_KEY : BAD_SCHEME
  if (end - start > MAX_CREDENTIAL) return TOO_LONG
  const credential = start === sp + 1 && end === value.length ? value.slice(start) : value.slice(start, end)
  if (scheme === 'bearer') return B64TOKEN.test(credential) ? { kind: 'jwt', token: credential } : BAD_BEARER
  if (scheme === 'apikey') return isVisibleAscii(credential) ? { kind: 'apikey', key: credential } : BAD_KEY
  return { kind: 'malformed', detail: BAD_SCHEME_DETAIL, scheme, authorization: value }
}

function parseKeyHeader(value: string): Extracted {
  if (value.length > MAX_CREDENTIAL + 16) return KEY_TOO_LONG
  const key = value.trim()
  if (key.length > MAX_CREDENTIAL) return KEY_TOO_LONG
  return key !== '' && isVisibleAscii(key) ? { kind: 'apikey', key } : BAD_KEY
}

function trimmedEnd(s: string): number {
  let end = s.length
  while (end > 0 && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--
  return end
}

function isVisibleAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x21 || c > 0x7e) return false
  }
  return true
}

/**
 * True when the query (with its `?`) has an `access_token` parameter, the RFC 6750
 * §2.3 name, percent-encoded or not. Gatehouse never reads a credential from the
 * query; this only lets a request that carries one there beside a header be refused.
 */
export function queryHasAccessToken(query: string): boolean {
  let start = 1
  while (start < query.length) {
    let end = query.indexOf('&', start)
    if (end === -1) end = query.length
    let eq = query.indexOf('=', start)
    if (eq === -1 || eq > end) eq = end
    const n = eq - start
    // `access_token` is 12 characters; spelled with escapes it is at most 36.
    if (n === 12 ? query.startsWith('access_token', start) : n > 12 && n <= 36 && decodedName(query.slice(start, eq)) === 'access_token') {
      return true
    }
    start = end + 1
  }
  return false
}

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '))
  } catch {
    return name
  }
}
