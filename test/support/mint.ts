// Test-only key pairs and JWTs, made with jose: real keys and real signatures, plus
// deliberately broken tokens (alg none, odd headers, non-finite claims) for the vectors.
import {
  base64url,
  CompactSign,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  importPKCS8,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  type SignOptions,
} from 'jose'

export type KeyAlg = 'RS256' | 'RS512' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA'

export interface TestKey {
  readonly alg: KeyAlg
  readonly kid: string
  readonly privateKey: CryptoKey
  readonly publicKey: CryptoKey
  /** Public JWK with kid, alg and use, as an IdP would publish it. */
  readonly publicJwk: JWK
  /** SPKI PEM of the public key. */
  readonly publicPem: string
  /** PKCS#8 PEM of the private key (for the "private key given as public" case). */
  readonly privatePem: string
}

/** A fresh, extractable key pair for `alg`, labelled with `kid`. */
export async function makeKeyPair(alg: KeyAlg, kid: string): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(publicKey)
  return {
    alg,
    kid,
    privateKey,
    publicKey,
    publicJwk: { ...jwk, kid, alg, use: 'sig' },
    publicPem: await exportSPKI(publicKey),
    privatePem: await exportPKCS8(privateKey),
  }
}

/** The same key material, usable with another alg of its family (e.g. A's RSA key as RS512). */
export async function withAlg(key: TestKey, alg: KeyAlg): Promise<TestKey> {
  return { ...key, alg, privateKey: await importPKCS8(key.privatePem, alg, { extractable: true }) }
}

/** The JWKS document publishing these keys. */
export function jwksOf(...keys: readonly TestKey[]): JSONWebKeySet {
  return { keys: keys.map((k) => ({ ...k.publicJwk })) }
}

/** A TestKey signs with its own alg and kid; raw bytes are an HMAC secret (set alg in the header). */
export type SigningKey = TestKey | Uint8Array

type Header = Partial<JWTHeaderParameters> & Record<string, unknown>

function headerFor(key: SigningKey, header: Header): JWTHeaderParameters {
  const defaults = key instanceof Uint8Array ? { alg: 'HS256' } : { alg: key.alg, kid: key.kid }
  // A header member given as undefined removes the default (e.g. a token without kid).
  const merged: Record<string, unknown> = { ...defaults, ...header }
  for (const name of Object.keys(merged)) if (merged[name] === undefined) delete merged[name]
  return merged as JWTHeaderParameters
}

const signingKeyOf = (key: SigningKey): CryptoKey | Uint8Array => (key instanceof Uint8Array ? key : key.privateKey)

/** Tells jose's signer that the `crit` names in the header are understood, so it signs them anyway. */
const signOptions = (header: Header): SignOptions =>
  Array.isArray(header.crit) ? { crit: Object.fromEntries(header.crit.map((name) => [String(name), true])) } : {}

/** Signs `claims` exactly as given (no iat/exp added) with jose SignJWT. */
export async function mintJwt(claims: JWTPayload, key: SigningKey, header: Header = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(headerFor(key, header)).sign(signingKeyOf(key), signOptions(header))
}

/** Signs an arbitrary payload text (e.g. `{"exp":1e400}`, a JSON array) with jose CompactSign. */
export async function mintRaw(payloadText: string, key: SigningKey, header: Header = {}): Promise<string> {
  return new CompactSign(new TextEncoder().encode(payloadText))
    .setProtectedHeader(headerFor(key, header))
    .sign(signingKeyOf(key), signOptions(header))
}

/** base64url of the JSON text of `value`: one hand-built token part. */
export function base64urlJson(value: unknown): string {
  return base64url.encode(JSON.stringify(value))
}

/** Builds `b64u(header).b64u(payload).signature` by hand, with no signing at all (alg none and kin). */
export function unsignedJwt(header: unknown, payload: unknown, signature = ''): string {
  return `${base64urlJson(header)}.${base64urlJson(payload)}.${signature}`
}

/** The same token with one signature character changed, so the signature no longer verifies. */
export function tamperSignature(token: string): string {
  const dot = token.lastIndexOf('.')
  const sig = token.slice(dot + 1)
  const i = Math.floor(sig.length / 2)
  const swapped = sig[i] === 'A' ? 'B' : 'A'
  return `${token.slice(0, dot + 1)}${sig.slice(0, i)}${swapped}${sig.slice(i + 1)}`
}

/** Replaces the header of a token, keeping its payload and signature (alg-none with a signature left in place). */
export function replaceHeader(token: string, header: unknown): string {
  const [, payload, signature] = token.split('.')
  return `${base64urlJson(header)}.${payload ?? ''}.${signature ?? ''}`
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
