// The API-key format (SPEC §5): `gh_<id>_<secret><crc>`, printable, with a
// recognisable prefix, an id for lookup, ~190 bits of secret and a CRC32 tail so
// a mistyped key is refused before any store lookup (attack #75; the
// shape of GitHub's `ghp_` tokens). Only a SHA-256 of id and secret is stored.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { decodeSecretHash, SECRET_HASH_SCHEME } from './api-key-format.js'

export const API_KEY_PREFIX = 'gh_'

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const ID_LENGTH = 12 // ~71 bits: ids never collide in practice, and are not secret
const SECRET_LENGTH = 32 // ~190 bits of secret, well above SPEC §5's 128
const CRC_LENGTH = 6 // 62^6 > 2^32, so any CRC32 fits in six base62 digits
const BODY_LENGTH = API_KEY_PREFIX.length + ID_LENGTH + 1 + SECRET_LENGTH
const KEY_LENGTH = BODY_LENGTH + CRC_LENGTH

const KEY_RE = /^gh_([0-9A-Za-z]{12})_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/
// Domain separation: this digest can never be confused with another use of SHA-256.
const HASH_CONTEXT = 'gatehouse api key v1'

export type ParsedApiKey = { id: string; secret: string }

/** A fresh key: `key` is shown to its owner once; only `id` and `secretHash` are stored. */
export function generateApiKey(): { id: string; key: string; secretHash: string } {
  const id = randomBase62(ID_LENGTH)
  const secret = randomBase62(SECRET_LENGTH)
  const body = `${API_KEY_PREFIX}${id}_${secret}`
  return { id, key: body + checksum(body), secretHash: hashSecret(id, secret) }
}

/**
 * Cheap syntactic check: length first (so a 64 KB header costs one comparison),
 * then prefix and alphabet, then the checksum. Null on any mismatch; never throws.
 */
export function parseApiKey(key: string): ParsedApiKey | null {
  if (typeof key !== 'string' || key.length !== KEY_LENGTH) return null
  const m = KEY_RE.exec(key)
  if (!m) return null
  if (checksum(key.slice(0, BODY_LENGTH)) !== m[3]) return null
  return { id: m[1] as string, secret: m[2] as string }
}

/**
 * One SHA-256 over id and secret. A slow password hash would add nothing for a
 * ≥128-bit random secret and would turn random keys into a CPU DoS (attack #77).
 */
export function hashSecret(id: string, secret: string): string {
  return SECRET_HASH_SCHEME + digest(id, secret).toString('base64url')
}

/** Constant-time comparison of equal-length digests (attack #74). */
export function secretMatches(id: string, secret: string, storedHash: string): boolean {
  const actual = digest(id, secret)
  const stored = decodeSecretHash(storedHash)
  // Compare even when the stored hash is unusable, so that case costs the same.
  const same = timingSafeEqual(actual, stored ?? Buffer.alloc(actual.length))
  return same && stored !== null
}

function digest(id: string, secret: string): Buffer {
  return createHash('sha256').update(`${HASH_CONTEXT}\0${id}\0${secret}`).digest()
}

function checksum(body: string): string {
  let n = crc32(body)
  let out = ''
  for (let i = 0; i < CRC_LENGTH; i++) {
    out = ALPHABET.charAt(n % 62) + out
    n = Math.floor(n / 62)
  }
  return out
}

/** Uniform base62 by rejection sampling: bytes ≥ 248 would bias the first 248 % 62 symbols. */
function randomBase62(length: number): string {
  let out = ''
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET.charAt(byte % 62)
    }
  }
  return out
}
