// API key → Identity (SPEC §3.5, §5): format and checksum before any store lookup,
// then the stored hash, enabled, expiry. Unknown ids and wrong secrets do the same
// hashing work, so timing tells nothing about which ids exist (attack #74, #75).
import { StoreUnavailableError, type ApiKeyRecord, type KeyStore } from './key-store.js'
import type { Identity } from '../credentials/identity.js'
import { hashSecret, parseApiKey, secretMatches } from '../credentials/api-key.js'
import { identityOfRecord } from './key-identity.js'

export type ApiKeyResult =
  | { ok: true; identity: Identity; record: ApiKeyRecord }
  | { ok: false; reason: 'key_malformed' | 'key_unknown' | 'key_disabled' | 'key_expired' | 'store_unavailable' }

// Compared against when the id is unknown; it matches no secret anyone holds.
const DUMMY_ID = '000000000000'
const DUMMY_HASH = hashSecret(DUMMY_ID, `unknown-${process.pid}-${Date.now()}`)

export async function verifyApiKey(key: string, store: KeyStore, nowSeconds: number): Promise<ApiKeyResult> {
  const parsed = parseApiKey(key)
  if (!parsed) return { ok: false, reason: 'key_malformed' }
  let record: ApiKeyRecord | null
  try {
    record = await store.get(parsed.id)
  } catch (err) {
    if (err instanceof StoreUnavailableError) return { ok: false, reason: 'store_unavailable' }
    throw err
  }
  if (!record) {
    secretMatches(parsed.id, parsed.secret, DUMMY_HASH)
    return { ok: false, reason: 'key_unknown' }
  }
  // A wrong secret is reported as unknown: the id alone proves nothing.
  if (!secretMatches(parsed.id, parsed.secret, record.secretHash)) return { ok: false, reason: 'key_unknown' }
  if (!record.enabled) return { ok: false, reason: 'key_disabled' }
  if (record.expiresAt !== null && nowSeconds >= record.expiresAt) return { ok: false, reason: 'key_expired' }
  store.touch(record.id, nowSeconds)
  const identity = identityOfRecord(record)
  return { ok: true, identity, record }
}
