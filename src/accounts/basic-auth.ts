// The `Authorization: Basic` header of the token service (SPEC §6), read strictly
// (RFC 7617 §2; attack #82): anything doubtful is 'malformed', never a
// guess and never an exception. OAuth clients add a form-urlencoding layer on top
// (RFC 6749 §2.3.1), undone by decodeClientCredentials.

export type BasicCredentials = { name: string; secret: string }

/** Longest Authorization header read at all; a real one is a few hundred bytes. */
export const MAX_BASIC_HEADER_BYTES = 8 * 1024

// RFC 7235 §2.1: the scheme is a case-insensitive token (so `Basicfoo` is another
// scheme); RFC 7617 §2: then one token68 of standard, padded base64 (RFC 4648 §4).
const SCHEME = /^basic(?![!#$%&'*+.^_`|~0-9A-Za-z-])/i
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
// RFC 7617 §2: no control characters (CTL) in user-id or password; C1 controls too,
// so nothing read here can split a log line.
const CONTROL = /\p{Cc}/u

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * 'absent' when there is no header or it names another scheme (Bearer, ApiKey:
 * the caller decides about those); 'malformed' when it says Basic but is not
 * exactly `Basic <base64 of name:secret>` with a non-empty name, valid UTF-8 and
 * no control characters. The secret may be empty (RFC 7617 allows it; it then
 * simply fails verification).
 */
export function parseBasic(authorization: string | undefined): BasicCredentials | 'absent' | 'malformed' {
  if (authorization === undefined || authorization === '') return 'absent'
  if (authorization.length > MAX_BASIC_HEADER_BYTES) return SCHEME.test(authorization.slice(0, 6)) ? 'malformed' : 'absent'
  if (!SCHEME.test(authorization)) return 'absent'
  // Exactly one space, then the token68.
  if (authorization[5] !== ' ') return 'malformed'
  const token = authorization.slice(6)
  if (token.length === 0 || !BASE64.test(token)) return 'malformed'
  const bytes = Buffer.from(token, 'base64')
  // Canonical only: the unused bits of the last character must be zero (RFC 4648 §3.5).
  if (bytes.toString('base64') !== token) return 'malformed'
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return 'malformed'
  }
  // RFC 7617 §2: the user-id cannot contain a colon; the password may.
  const colon = text.indexOf(':')
  if (colon < 0) return 'malformed'
  return checked({ name: text.slice(0, colon), secret: text.slice(colon + 1) })
}

/**
 * RFC 6749 §2.3.1: a client's id and secret are form-urlencoded (Appendix B)
 * before they go into Basic, so `+` is a space and `%XX` a UTF-8 byte. Malformed
 * percent-encoding, invalid UTF-8, an empty id or a control character after
 * decoding is 'malformed'.
 */
export function decodeClientCredentials(c: BasicCredentials): BasicCredentials | 'malformed' {
  const name = formDecode(c.name)
  const secret = formDecode(c.secret)
  if (name === null || secret === null) return 'malformed'
  return checked({ name, secret })
}

/**
 * SPEC §11: OAuth2 client libraries form-encode Basic credentials (RFC 6749 §2.3.1),
 * other callers do not. The name is read form-decoded when that decodes, and the
 * secret is tried form-decoded first, then as sent, so a raw secret holding `%` or
 * `+` still works. Null when nothing usable remains (a control character after decoding).
 */
export function basicReadings(c: BasicCredentials): { name: string; secrets: string[] } | null {
  const decoded = decodeClientCredentials(c)
  if (decoded === 'malformed') return checked(c) === 'malformed' ? null : { name: c.name, secrets: [c.secret] }
  return { name: decoded.name, secrets: decoded.secret === c.secret ? [c.secret] : [decoded.secret, c.secret] }
}

function formDecode(text: string): string | null {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    return null
  }
}

function checked(c: BasicCredentials): BasicCredentials | 'malformed' {
  if (c.name.length === 0 || CONTROL.test(c.name) || CONTROL.test(c.secret)) return 'malformed'
  return c
}
