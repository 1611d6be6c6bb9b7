// The token service's signing key (SPEC §2 `issuer.signingKeyFile`, §6): read from
// a PEM file, or generated once into the data folder and kept, so issued tokens
// survive a restart. Its `kid` is the RFC 7638 thumbprint; the JWKS publishes it
// and any previous keys kept for a grace period after rotation, public members
// only (RFC 7517 §4; attack #92).
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { calculateJwkThumbprint, createLocalJWKSet, importPKCS8, type CryptoKey, type JWK, type JWTVerifyGetKey } from 'jose'
import type { Checked, Problem } from '../config/problem.js'

export type SigningAlgorithm = 'RS256' | 'ES256' | 'ES384' | 'EdDSA'

export interface SigningKeys {
  readonly current: { kid: string; alg: SigningAlgorithm; privateKey: CryptoKey }
  /** Public JWKS (current first, then previous keys): only public members, each with kid, alg, use: 'sig' (RFC 7517; attack #92). */
  readonly jwks: { keys: JWK[] }
  /** For the proxy's own-issuer verification (see OwnKeys in src/credentials/jwt-keys.ts). */
  readonly getKey: JWTVerifyGetKey
  readonly algorithms: readonly SigningAlgorithm[]
}

export interface SigningKeyOptions {
  readonly signingKeyFile?: string | undefined
  readonly previousKeyFiles?: readonly string[] | undefined
  readonly dataDir: string
}

/** Name of the generated key in the data folder. */
export const GENERATED_KEY_FILE = 'signing-key.pem'

const CURRENT_PATH = 'issuer.signingKeyFile'
const MAX_PEM_BYTES = 64 * 1024
const UNREADABLE_KEY = 'not a key node:crypto can read (unencrypted PKCS#8, PKCS#1 RSA, SEC1 EC or SPKI PEM)'
// Only these members of each key type are public (RFC 7518 §6.2.1, §6.3.1; RFC 8037 §2).
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = { RSA: ['kty', 'n', 'e'], EC: ['kty', 'crv', 'x', 'y'], OKP: ['kty', 'crv', 'x'] }

interface PublicKey {
  readonly jwk: JWK
  readonly alg: SigningAlgorithm
}

export async function loadSigningKeys(opts: SigningKeyOptions): Promise<Checked<SigningKeys>> {
  const problems: Problem[] = []
  const currentFile = opts.signingKeyFile ?? (await generatedKeyFile(opts.dataDir, problems))
  const current = currentFile === null ? null : await readPrivateKey(currentFile, problems)
  const previous: PublicKey[] = []
  for (const [i, file] of (opts.previousKeyFiles ?? []).entries()) {
    const key = await readPublicKey(file, `issuer.previousKeyFiles[${i}]`, problems)
    if (key !== null) previous.push(key)
  }
  if (current === null || problems.length > 0) return { ok: false, problems }

  const keys: JWK[] = []
  for (const k of [current.public, ...previous]) {
    // The same key listed twice (or the current key as a previous one) is published once.
    if (!keys.some((seen) => seen.kid === k.jwk.kid)) keys.push(k.jwk)
  }
  const jwks = deepFreeze({ keys })
  const algorithms = Object.freeze([...new Set(keys.map((k) => k.alg as SigningAlgorithm))])
  const value: SigningKeys = {
    current: Object.freeze({ kid: current.public.jwk.kid as string, alg: current.public.alg, privateKey: current.privateKey }),
    jwks,
    getKey: createLocalJWKSet(jwks),
    algorithms,
  }
  return { ok: true, value: Object.freeze(value) }
}

async function readPrivateKey(file: string, problems: Problem[]): Promise<{ public: PublicKey; privateKey: CryptoKey } | null> {
  const pem = await readPem(file, CURRENT_PATH, problems)
  if (pem === null) return null
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    const message = `${file} holds no private key (BEGIN PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY); the signing key must be private`
    return fail(problems, CURRENT_PATH, message)
  }
  // OpenSSL reports a missing passphrase only as "interrupted or cancelled": say it plainly.
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type: 4,ENCRYPTED/m.test(pem)) {
    return fail(problems, CURRENT_PATH, `${file} is encrypted; give an unencrypted PEM key (file mode 0600)`)
  }
  let key: KeyObject
  try {
    key = createPrivateKey(pem)
  } catch {
    return fail(problems, CURRENT_PATH, `${file}: ${UNREADABLE_KEY}`)
  }
  const pub = await publicJwkOf(createPublicKey(key), CURRENT_PATH, file, problems)
  if (pub === null) return null
  // jose signs with a WebCrypto key; PKCS#8 is the one form it imports for every type. Not extractable.
  const pkcs8 = key.export({ type: 'pkcs8', format: 'pem' }).toString()
  return { public: pub, privateKey: await importPKCS8(pkcs8, pub.alg) }
}

/** A previous key: a private or public PEM; only its public half is kept. */
async function readPublicKey(file: string, path: string, problems: Problem[]): Promise<PublicKey | null> {
  const pem = await readPem(file, path, problems)
  if (pem === null) return null
  let key: KeyObject
  try {
    key = createPublicKey(pem)
  } catch {
    return fail(problems, path, `${file}: ${UNREADABLE_KEY}`)
  }
  return publicJwkOf(key, path, file, problems)
}

/** The public JWK of a key we can sign with, with kid, alg and use; null (and a problem) for any other key. */
async function publicJwkOf(key: KeyObject, path: string, file: string, problems: Problem[]): Promise<PublicKey | null> {
  const alg = algorithmOf(key)
  if (typeof alg !== 'string') return fail(problems, path, `${file}: ${alg.refused}`)
  const exported = key.export({ format: 'jwk' }) as Record<string, unknown>
  const members = PUBLIC_MEMBERS[String(exported.kty)] ?? []
  const jwk: JWK = Object.fromEntries(members.map((m) => [m, exported[m]]))
  const kid = await calculateJwkThumbprint(jwk, 'sha256')
  return { jwk: { ...jwk, kid, alg, use: 'sig' }, alg }
}

/** The JWS algorithm for a key, or why it cannot sign our tokens. */
function algorithmOf(key: KeyObject): SigningAlgorithm | { refused: string } {
  const type = key.asymmetricKeyType
  const details = key.asymmetricKeyDetails ?? {}
  if (type === 'rsa') {
    const bits = details.modulusLength ?? 0
    return bits >= 2048 ? 'RS256' : { refused: `the RSA key has ${bits} bits; at least 2048 are required` }
  }
  if (type === 'ec') {
    if (details.namedCurve === 'prime256v1') return 'ES256'
    if (details.namedCurve === 'secp384r1') return 'ES384'
    return { refused: `the EC curve ${details.namedCurve ?? 'unknown'} is not supported; use P-256 or P-384` }
  }
  if (type === 'ed25519') return 'EdDSA'
  return { refused: `a ${type ?? 'unknown'} key is not supported; use RSA (2048 bits or more), EC P-256 or P-384, or Ed25519` }
}

async function readPem(file: string, path: string, problems: Problem[]): Promise<string | null> {
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch (err) {
    return fail(problems, path, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  if (bytes.length > MAX_PEM_BYTES || !bytes.includes('-----BEGIN ')) {
    return fail(problems, path, `${file} is not a PEM key file`)
  }
  return bytes.toString('utf8')
}

/**
 * `<dataDir>/signing-key.pem`, generated (EC P-256) when it does not exist yet.
 * Written to a temporary file first and linked into place, so a reader never sees
 * half a key and two processes starting together both end up with the same one.
 */
async function generatedKeyFile(dataDir: string, problems: Problem[]): Promise<string | null> {
  const file = join(dataDir, GENERATED_KEY_FILE)
  try {
    await readFile(file)
    return file
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    if (code !== 'ENOENT') return fail(problems, CURRENT_PATH, `absent, and the generated key ${file} cannot be read: ${code}`)
  }
  try {
    await writeNewKey(file)
    return file
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    return fail(problems, CURRENT_PATH, `absent, and no key could be generated in ${dataDir}: ${code}`)
  }
}

async function writeNewKey(file: string): Promise<void> {
  const dir = dirname(file)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const tmp = join(dir, `.${GENERATED_KEY_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const fh = await open(tmp, 'wx', 0o600)
  try {
    await fh.writeFile(privateKey.export({ type: 'pkcs8', format: 'pem' }))
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    // link() never replaces: if another process got there first, its key stands.
    await link(tmp, file)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EEXIST') await rename(tmp, file) // filesystems without hard links
  } finally {
    await unlink(tmp).catch(() => {})
  }
  await syncDir(dir)
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  } catch {
    // Not every platform can fsync a directory; the rename is still atomic.
  }
}

function fail(problems: Problem[], path: string, message: string): null {
  problems.push({ path, message })
  return null
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
