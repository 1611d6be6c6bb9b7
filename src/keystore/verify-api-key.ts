// API key → Identity (SPEC §3.5, §5): format and checksum before any store lookup,
// then the stored hash, enabled, expiry. Unknown ids and wrong secrets do the same
// hashing work, so timing tells nothing about which ids exist (attack #74, #75).
import { StoreUnavailableError, type ApiKeyRecord, type KeyStore } from './key-store.js'
import type { Identity } from '../credentials/identity.js'
import { createIpFilter, type IpFilter } from '../net/ip-filter.js'
import { hashSecret, parseApiKey, secretMatches } from '../credentials/api-key.js'

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

const filters = new WeakMap<ApiKeyRecord, IpFilter>()

/** The Identity an API key record stands for (SPEC §4), with its compiled ipFilter. */
export function identityOfRecord(record: ApiKeyRecord): Identity {
  return Object.freeze({
    user: record.user,
    actor: record.actor,
    method: 'apikey',
    credentialId: record.id,
    issuer: 'gatehouse',
    permissions: record.permissions,
    expiresAt: record.expiresAt ?? undefined,
    ipFilter: record.ipFilter.length > 0 ? ipFilterOf(record) : undefined,
    parentKeyId: record.parentKeyId,
  })
}

// Records are immutable and replaced on change, so a record's compiled filter can be memoised on it.
function ipFilterOf(record: ApiKeyRecord): IpFilter {
  let filter = filters.get(record)
  if (!filter) {
    try {
      filter = createIpFilter({ allow: record.ipFilter, deny: [] })
    } catch {
      filter = { allows: () => false } // stores validate lists; if one slips through, the key works from nowhere
    }
    filters.set(record, filter)
  }
  return filter
}
