// Request ids and W3C trace context (README "Operations"). A caller's X-Request-Id
// is believed only from a trusted proxy (the trustedProxies of SPEC §3.2), and only
// in a bounded, safe form: it reaches the upstream, the answer and the log, so it
// must not be able to forge a log field, split a header or collide on purpose with
// ids we make. A `traceparent` is passed through unchanged when well formed (W3C
// Trace Context §3.2) and dropped otherwise, its `tracestate` with it.

/** Longest request id taken from a proxy; Heroku allows 200, Envoy and nginx make 32–36. */
export const MAX_REQUEST_ID = 128

// Letters, digits and `-_.:+/=`: UUIDs, hex, base64 and the AWS/Heroku forms, nothing that could end a header, a JSON string or a URN.
const ID_CHAR = new Uint8Array(128)
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:+/=') ID_CHAR[ch.charCodeAt(0)] = 1

export function isRequestId(v: string): boolean {
  const n = v.length
  if (n === 0 || n > MAX_REQUEST_ID) return false
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i)
    if (c >= 128 || ID_CHAR[c] !== 1) return false
  }
  return true
}

/** The one X-Request-Id line a request carries, when valid; two lines, or an invalid one, are no id at all. */
export function requestIdIn(rawHeaders: readonly string[]): string | null {
  let found: string | null = null
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    if (name.length !== 12 || name.toLowerCase() !== 'x-request-id') continue
    if (found !== null) return null
    found = rawHeaders[i + 1] as string
  }
  return found !== null && isRequestId(found) ? found : null
}

/** Longest traceparent passed on: version 00 is 55 characters; later versions may append fields. */
const MAX_TRACEPARENT = 256

/**
 * W3C Trace Context §3.2: `version-traceid-parentid-flags`, lowercase hex, version
 * not `ff`, trace id and parent id not all zeros. Version 00 is exactly that; a later
 * version is read by its first four fields and may go on after a `-` (§4.3).
 */
export function isTraceparent(v: string): boolean {
  const n = v.length
  if (n < 55 || n > MAX_TRACEPARENT) return false
  if (!isHex(v, 0, 2) || v.startsWith('ff') || v[2] !== '-' || v[35] !== '-' || v[52] !== '-') return false
  if (!isHex(v, 3, 35) || !isHex(v, 36, 52) || !isHex(v, 53, 55)) return false
  if (/^0+$/.test(v.slice(3, 35)) || /^0+$/.test(v.slice(36, 52))) return false
  if (v.startsWith('00')) return n === 55
  return n === 55 || v[55] === '-'
}

function isHex(v: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = v.charCodeAt(i)
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false
  }
  return true
}
