// A new API key and its record. Apart from key-record.ts, whose checks every reader of
// the store runs: generating a key loads node:crypto, reading records does not (issue 17).
import { generateApiKey } from '../credentials/api-key.js'
import type { Permissions } from '../credentials/permissions.js'
import type { ApiKeyRecord } from './key-store.js'

/** What a caller chooses about a new key; everything else is generated. */
export interface NewKeyFields {
  readonly user: string
  readonly permissions: Permissions
  readonly description?: string
  readonly ipFilter?: readonly string[]
  readonly expiresAt?: number | null
  readonly enabled?: boolean
  /** The impersonating user, when the key is made for someone else. */
  readonly actor?: string
  /** The API key that minted this one. */
  readonly parentKeyId?: string
}

/** A fresh key and the record to store for it (only the secret's hash). */
export function newKeyRecord(fields: NewKeyFields, nowSeconds: number): { key: string; record: ApiKeyRecord } {
  const { id, key, secretHash } = generateApiKey()
  const record: ApiKeyRecord = {
    id,
    user: fields.user,
    description: fields.description ?? '',
    permissions: fields.permissions,
    ipFilter: fields.ipFilter ?? [],
    expiresAt: fields.expiresAt ?? null,
    enabled: fields.enabled ?? true,
    createdAt: nowSeconds,
    lastUsedAt: null,
    secretHash,
    ...(fields.actor === undefined ? {} : { actor: fields.actor }),
    ...(fields.parentKeyId === undefined ? {} : { parentKeyId: fields.parentKeyId }),
  }
  return { key, record }
}
