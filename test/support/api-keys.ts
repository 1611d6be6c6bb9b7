// Real API keys for tests: generated in the real format, stored through the real store.
import { generateApiKey } from '../../src/credentials/api-key.js'
import type { Permissions } from '../../src/credentials/permissions.js'
import type { ApiKeyRecord, KeyStore } from '../../src/keystore/key-store.js'

export interface KeyOptions {
  user?: string
  permissions?: Permissions
  ipFilter?: string[]
  expiresAt?: number | null
  enabled?: boolean
  description?: string
}

export async function createKey(store: KeyStore, o: KeyOptions = {}): Promise<{ key: string; record: ApiKeyRecord }> {
  const { id, key, secretHash } = generateApiKey()
  const record: ApiKeyRecord = {
    id,
    user: o.user ?? 'alice',
    description: o.description ?? 'test key',
    permissions: o.permissions ?? { users: 'rw' },
    ipFilter: o.ipFilter ?? [],
    expiresAt: o.expiresAt ?? null,
    enabled: o.enabled ?? true,
    createdAt: Math.floor(Date.now() / 1000),
    lastUsedAt: null,
    secretHash,
  }
  await store.create(record)
  return { key, record }
}
