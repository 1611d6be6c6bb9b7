// The checks of the API-key format (SPEC §5) that need no hashing: what only reads
// stored records (the file store, `keys list`, check-config) imports these, not
// api-key.ts, and so never loads node:crypto (~15 ms of their start-up, issue 17).
const ID_RE = /^[0-9A-Za-z]{12}$/
export const SECRET_HASH_SCHEME = 'sha256:'

/** True for a well-formed key id (as given on the CLI or in an API path). */
export function isKeyId(id: string): boolean {
  return typeof id === 'string' && ID_RE.test(id)
}

/** True for a string hashSecret could have produced (used when validating stored records). */
export function isSecretHash(value: string): boolean {
  return decodeSecretHash(value) !== null
}

/** The 32-byte digest of a stored secret hash, or null when the text is not one. */
export function decodeSecretHash(value: string): Buffer | null {
  if (typeof value !== 'string' || value.length !== SECRET_HASH_SCHEME.length + 43 || !value.startsWith(SECRET_HASH_SCHEME)) {
    return null
  }
  const b64 = value.slice(SECRET_HASH_SCHEME.length)
  if (!/^[A-Za-z0-9_-]{43}$/.test(b64)) return null
  const bytes = Buffer.from(b64, 'base64url')
  return bytes.length === 32 && bytes.toString('base64url') === b64 ? bytes : null
}
