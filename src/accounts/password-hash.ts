// Password and client-secret hashes for the users and clients files: scrypt
// (node:crypto, memory-hard) in a self-describing string. Long inputs are refused
// before hashing (security-cases #82: no hashing DoS, no silent truncation).
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

const N = 16384
const r = 8
const p = 1
const KEYLEN = 32
export const MAX_SECRET_BYTES = 4096

function scryptAsync(secret: string, salt: Buffer, n: number, rr: number, pp: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, KEYLEN, { N: n, r: rr, p: pp, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  )
}

/** `$scrypt$N=16384,r=8,p=1$<salt>$<hash>` (base64url). */
export async function hashPassword(secret: string): Promise<string> {
  if (Buffer.byteLength(secret) > MAX_SECRET_BYTES) throw new Error(`secret longer than ${MAX_SECRET_BYTES} bytes`)
  if (secret.length === 0) throw new Error('secret is empty')
  const salt = randomBytes(16)
  const key = await scryptAsync(secret, salt, N, r, p)
  return `$scrypt$N=${N},r=${r},p=${p}$${salt.toString('base64url')}$${key.toString('base64url')}`
}
