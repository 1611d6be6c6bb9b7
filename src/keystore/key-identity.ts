// The Identity an API key record stands for. Apart from verify-api-key.ts, which
// hashes: the authority chain needs only this, and compiling a config (check-config)
// then loads no node:crypto (issue 17).
import type { Identity } from '../credentials/identity.js'
import { createIpFilter, type IpFilter } from '../net/ip-filter.js'
import type { ApiKeyRecord } from './key-store.js'

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
