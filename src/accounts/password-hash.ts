// Password and client-secret hashes for the users and clients files (SPEC §6):
// our scrypt (node:crypto, memory-hard) in a self-describing string, and bcrypt
// for hashes made elsewhere. Long inputs are refused before hashing and bcrypt's
// 72-byte truncation is refused outright (attack #82); unknown names get
// the same work as known ones (#81).
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import bcrypt from 'bcryptjs'

const N = 16384
const r = 8
const p = 1
const KEYLEN = 32
export const MAX_SECRET_BYTES = 4096
/** bcrypt reads at most 72 bytes of a secret and ignores the rest. */
export const BCRYPT_MAX_SECRET_BYTES = 72

// Bounds on the parameters read from a hash, so a hostile or mistyped file cannot
// make one login cost seconds or gigabytes (the default is N=2^14, r=8, p=1: 16 MiB).
const SCRYPT_MAX_MEMORY = 64 * 1024 * 1024
const SCRYPT_MAX_WORK = 2 ** 20 // N·r·p, 8× the default
const SCRYPT_FORM = /^\$scrypt\$N=(\d{1,7}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{11,86})\$([A-Za-z0-9_-]{22,86})$/
// Modular crypt format: $2a$/$2b$/$2y$, two-digit cost, 22 salt + 31 hash characters.
const BCRYPT_FORM = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/
const BCRYPT_MIN_COST = 4
const BCRYPT_MAX_COST = 15

interface ScryptParams {
  readonly n: number
  readonly r: number
  readonly p: number
  readonly salt: Buffer
  readonly key: Buffer
}

function scryptAsync(secret: string, salt: Buffer, keylen: number, n: number, rr: number, pp: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, keylen, { N: n, r: rr, p: pp, maxmem: SCRYPT_MAX_MEMORY + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  )
}

/** `$scrypt$N=16384,r=8,p=1$<salt>$<hash>` (base64url). */
export async function hashPassword(secret: string): Promise<string> {
  if (Buffer.byteLength(secret) > MAX_SECRET_BYTES) throw new Error(`secret longer than ${MAX_SECRET_BYTES} bytes`)
  if (secret.length === 0) throw new Error('secret is empty')
  const salt = randomBytes(16)
  const key = await scryptAsync(secret, salt, KEYLEN, N, r, p)
  return `$scrypt$N=${N},r=${r},p=${p}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

/**
 * True when the secret matches the hash. False, never an exception, for a
 * malformed or unsupported hash, an empty secret, a secret over 4096 bytes
 * (refused before any hashing, #82), and for a bcrypt hash a secret over 72 bytes
 * (bcrypt would compare only its first 72 bytes) or holding a NUL (C bcrypt
 * implementations stop there).
 */
export async function verifyPassword(secret: string, hash: string): Promise<boolean> {
  if (typeof secret !== 'string' || typeof hash !== 'string' || secret.length === 0) return false
  const bytes = Buffer.byteLength(secret)
  if (bytes > MAX_SECRET_BYTES) return false
  const params = parseScrypt(hash)
  if (params !== null) return verifyScrypt(secret, params)
  if (!isSupportedBcrypt(hash)) return false
  if (bytes > BCRYPT_MAX_SECRET_BYTES || secret.includes('\0')) return false
  try {
    return await bcrypt.compare(secret, hash)
  } catch {
    return false
  }
}

/**
 * The work of a real verification, for a name that is not in the file, so that
 * an unknown name and a wrong password answer in the same time (#81). It runs
 * `verifyPassword` itself against a hash no secret matches, so the early refusals
 * (empty, over 4096 bytes, over 72 for bcrypt) are the same too. By default the
 * cost is that of our own scrypt hashes; give `like` (a hash from the same file,
 * e.g. `UserDirectory.dummyHash`) to match a file of bcrypt or other-cost hashes.
 */
export async function dummyVerify(secret: string, like?: string): Promise<false> {
  await verifyPassword(secret, unmatchableLike(like))
  return false
}

const DUMMY_SALT = Buffer.alloc(16, 0x5a).toString('base64url')
const DUMMY_HASH = `$scrypt$N=${N},r=${r},p=${p}$${DUMMY_SALT}$${Buffer.alloc(KEYLEN).toString('base64url')}`

/** A hash of the same algorithm and cost as `like` (default: ours) whose key no secret produces in practice. */
function unmatchableLike(like: string | undefined): string {
  const s = like === undefined ? null : parseScrypt(like)
  if (s !== null) return `$scrypt$N=${s.n},r=${s.r},p=${s.p}$${DUMMY_SALT}$${Buffer.alloc(s.key.length).toString('base64url')}`
  if (like !== undefined && isSupportedBcrypt(like)) return `${like.slice(0, 7)}${'.'.repeat(53)}`
  return DUMMY_HASH
}

/** A hash `verifyPassword` can check: our `$scrypt$…` within bounds, or bcrypt `$2a$`/`$2b$`/`$2y$` with cost 4 to 15. */
export function isSupportedHash(hash: string): boolean {
  return typeof hash === 'string' && (parseScrypt(hash) !== null || isSupportedBcrypt(hash))
}

/** The algorithm and cost of a supported hash, e.g. `scrypt:16384,8,1` or `bcrypt:12`; null otherwise. */
export function hashCost(hash: string): string | null {
  const s = parseScrypt(hash)
  if (s !== null) return `scrypt:${s.n},${s.r},${s.p}`
  return isSupportedBcrypt(hash) ? `bcrypt:${hash.slice(4, 6)}` : null
}

async function verifyScrypt(secret: string, h: ScryptParams): Promise<boolean> {
  try {
    const key = await scryptAsync(secret, h.salt, h.key.length, h.n, h.r, h.p)
    return timingSafeEqual(key, h.key)
  } catch {
    return false
  }
}

function parseScrypt(hash: string): ScryptParams | null {
  if (typeof hash !== 'string' || hash.length > 256) return null
  const m = SCRYPT_FORM.exec(hash)
  if (!m) return null
  const [n, rr, pp] = [Number(m[1]), Number(m[2]), Number(m[3])]
  // N a power of two from 2^10 up; r, p from 1; bounded in memory (128·N·r bytes) and in work.
  if (n < 1024 || (n & (n - 1)) !== 0 || rr < 1 || pp < 1) return null
  if (128 * n * rr > SCRYPT_MAX_MEMORY || n * rr * pp > SCRYPT_MAX_WORK) return null
  const salt = strictBase64url(m[4] as string)
  const key = strictBase64url(m[5] as string)
  if (salt === null || key === null || salt.length < 8 || key.length < 16 || key.length > 64) return null
  return { n, r: rr, p: pp, salt, key }
}

function isSupportedBcrypt(hash: string): boolean {
  const m = BCRYPT_FORM.exec(hash)
  if (!m) return false
  const cost = Number(m[1])
  return cost >= BCRYPT_MIN_COST && cost <= BCRYPT_MAX_COST
}

/** Decodes only canonical unpadded base64url (Buffer.from ignores stray characters). */
function strictBase64url(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64url')
  return bytes.toString('base64url') === text ? bytes : null
}
