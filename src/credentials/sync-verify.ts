// jose's jwtVerify, with the signature checked synchronously by node:crypto (issue 17).
// jose verifies through WebCrypto, whose every call is a job on the thread pool and a
// promise: measured, 63 µs against 23 µs for crypto.verify with a KeyObject, and the
// hand-offs doubled the kernel time of an uncached request. Only the common case takes
// the fast path: a compact JWS without `crit`/`b64`, an RS*, PS*, ES* or EdDSA alg, and
// a public CryptoKey made for exactly that alg. Everything else, and every option this
// file does not model, goes to jose itself. jose still imports the keys, resolves them
// (JWKS) and issues tokens.
//
// The verdict must equal jose's: test/security/sync-verify-differential.test.ts runs
// the JWT cases of the security catalogue and fast-check mutations of header, payload
// and signature through both and compares the results.
import { constants, KeyObject, verify as cryptoVerify, type webcrypto } from 'node:crypto'
import { types } from 'node:util'
import {
  base64url,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  type ProtectedHeaderParameters,
} from 'jose'

interface Scheme {
  /** What jose's checkCryptoKey expects of the key (lib/jws_algorithms.js `subtle`). */
  readonly name: string
  readonly hash?: string
  readonly namedCurve?: string
  /** node:crypto's digest; null for Ed25519. */
  readonly digest: string | null
  readonly padding?: number
  readonly saltLength?: number
  readonly minRsaBits?: number
}

const rsa = (bits: number, pss: boolean): Scheme => ({
  name: pss ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5',
  hash: `SHA-${bits}`,
  digest: `sha${bits}`,
  padding: pss ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING,
  // RFC 7518 §3.5: the salt is as long as the hash, as WebCrypto is told by jose.
  ...(pss ? { saltLength: bits / 8 } : {}),
  minRsaBits: 2048,
})
const ecdsa = (curve: string, bits: number): Scheme => ({ name: 'ECDSA', namedCurve: curve, digest: `sha${bits}` })
const ED25519: Scheme = { name: 'Ed25519', digest: null }

const SCHEMES: ReadonlyMap<string, Scheme> = new Map([
  ['RS256', rsa(256, false)],
  ['RS384', rsa(384, false)],
  ['RS512', rsa(512, false)],
  ['PS256', rsa(256, true)],
  ['PS384', rsa(384, true)],
  ['PS512', rsa(512, true)],
  ['ES256', ecdsa('P-256', 256)],
  ['ES384', ecdsa('P-384', 384)],
  ['ES512', ecdsa('P-521', 512)],
  ['EdDSA', ED25519],
  ['Ed25519', ED25519],
])

/** jwtVerify's options with a currentDate; modelled: algorithms, issuer, audience, typ, requiredClaims, a numeric clockTolerance. Any other goes to jose. */
export type SyncVerifyOptions = JWTVerifyOptions & { readonly currentDate: Date }

const keyObjects = new WeakMap<webcrypto.CryptoKey, KeyObject>()

/**
 * jwtVerify(token, getKey, options).payload, for a token whose header and claims the
 * caller already decoded with jose's decodeProtectedHeader and decodeJwt (so both are
 * JSON objects). Throws what jwtVerify throws.
 */
export async function verifyJwtSync(
  token: string,
  header: ProtectedHeaderParameters,
  claims: JWTPayload,
  getKey: JWTVerifyGetKey,
  options: SyncVerifyOptions,
): Promise<JWTPayload> {
  const alg = header.alg
  const scheme = typeof alg === 'string' ? SCHEMES.get(alg) : undefined
  // jose checks crit, b64 and alg before it resolves a key: the uncommon ones are all its own.
  if (scheme === undefined || Object.hasOwn(header, 'crit') || Object.hasOwn(header, 'b64') || !modelled(options)) {
    return (await jwtVerify(token, getKey, options)).payload
  }
  if (options.algorithms !== undefined && !options.algorithms.includes(alg as string)) {
    throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed')
  }
  const firstDot = token.indexOf('.')
  const lastDot = token.lastIndexOf('.')
  const parts = { protected: token.slice(0, firstDot), payload: token.slice(firstDot + 1, lastDot), signature: token.slice(lastDot + 1) }
  const key: unknown = await getKey(header as Parameters<JWTVerifyGetKey>[0], parts)
  let signature: Uint8Array
  try {
    signature = base64url.decode(parts.signature)
  } catch (cause) {
    throw new errors.JWSInvalid('Failed to base64url decode the signature', { cause })
  }
  const keyObject = usableKey(key, scheme)
  // A key jose would refuse, or one of a kind not modelled here: jose decides, with the key already resolved.
  if (keyObject === null) return (await jwtVerify(token, () => key as Awaited<ReturnType<JWTVerifyGetKey>>, options)).payload
  let valid = false
  try {
    valid = cryptoVerify(
      scheme.digest,
      Buffer.from(token.slice(0, lastDot), 'latin1'),
      { key: keyObject, padding: scheme.padding, saltLength: scheme.saltLength, dsaEncoding: 'ieee-p1363' },
      signature,
    )
  } catch {
    valid = false // jose: a verify that throws fails the signature
  }
  if (!valid) throw new errors.JWSSignatureVerificationFailed()
  return validateClaims(header, claims, options)
}

function modelled(options: SyncVerifyOptions): boolean {
  const o = options
  return o.subject === undefined && o.maxTokenAge === undefined && o.crit === undefined && (o.clockTolerance === undefined || typeof o.clockTolerance === 'number')
}

/** The KeyObject of a CryptoKey that jose's prepareKey, checkCryptoKey and checkModulusLength accept for this scheme; else null. */
function usableKey(key: unknown, scheme: Scheme): KeyObject | null {
  if (!types.isCryptoKey(key) || key.type !== 'public' || !key.usages.includes('verify')) return null
  const a = key.algorithm as { name: string; hash?: { name: string }; namedCurve?: string; modulusLength?: number }
  if (a.name !== scheme.name) return null
  if (scheme.hash !== undefined && a.hash?.name !== scheme.hash) return null
  if (scheme.namedCurve !== undefined && a.namedCurve !== scheme.namedCurve) return null
  if (scheme.minRsaBits !== undefined && !(typeof a.modulusLength === 'number' && a.modulusLength >= scheme.minRsaBits)) return null
  let ko = keyObjects.get(key)
  if (ko === undefined) keyObjects.set(key, (ko = KeyObject.from(key)))
  return ko
}

const checkFailed = 'check_failed'
const normalizeTyp = (value: string): string => (value.includes('/') ? value.toLowerCase() : `application/${value.toLowerCase()}`)

/** jose 6 lib/jwt_claims_set.js validateClaimsSet, for the options modelled above and claims already parsed. */
function validateClaims(header: ProtectedHeaderParameters, claims: JWTPayload, options: SyncVerifyOptions): JWTPayload {
  const { typ, requiredClaims = [], issuer, audience } = options
  if (typ !== undefined && (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== normalizeTyp(typ))) {
    throw new errors.JWTClaimValidationFailed('unexpected "typ" JWT header value', claims, 'typ', checkFailed)
  }
  const presence = [...requiredClaims]
  if (audience !== undefined) presence.push('aud')
  if (issuer !== undefined) presence.push('iss')
  for (const claim of new Set(presence.reverse())) {
    if (!Object.hasOwn(claims, claim)) throw new errors.JWTClaimValidationFailed(`missing required "${claim}" claim`, claims, claim, 'missing')
  }
  if (issuer !== undefined && !(Array.isArray(issuer) ? issuer : [issuer]).includes(claims.iss as string)) {
    throw new errors.JWTClaimValidationFailed('unexpected "iss" claim value', claims, 'iss', checkFailed)
  }
  if (audience !== undefined && !audiencePresent(claims.aud, typeof audience === 'string' ? [audience] : audience)) {
    throw new errors.JWTClaimValidationFailed('unexpected "aud" claim value', claims, 'aud', checkFailed)
  }
  const tolerance = (options.clockTolerance as number | undefined) ?? 0
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new TypeError('Invalid clockTolerance option input')
  const now = Math.floor(options.currentDate.getTime() / 1000)
  if (!Number.isFinite(now)) throw new TypeError('Invalid currentDate option input')
  numericDate(claims, 'iat')
  const nbf = numericDate(claims, 'nbf')
  if (nbf !== undefined && nbf > now + tolerance) {
    throw new errors.JWTClaimValidationFailed('"nbf" claim timestamp check failed', claims, 'nbf', checkFailed)
  }
  const exp = numericDate(claims, 'exp')
  if (exp !== undefined && exp <= now - tolerance) throw new errors.JWTExpired('"exp" claim timestamp check failed', claims, 'exp', checkFailed)
  return claims
}

function audiencePresent(aud: unknown, wanted: readonly string[]): boolean {
  if (typeof aud === 'string') return wanted.includes(aud)
  if (Array.isArray(aud)) return wanted.some((a) => aud.includes(a))
  return false
}

function numericDate(claims: JWTPayload, claim: 'iat' | 'nbf' | 'exp'): number | undefined {
  const value = claims[claim]
  if (value === undefined) return undefined
  if (typeof value !== 'number') throw new errors.JWTClaimValidationFailed(`"${claim}" claim must be a number`, claims, claim, 'invalid')
  return value
}
