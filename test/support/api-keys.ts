// Real API keys for tests: generated in the real format, stored through the real store.
import { newKeyRecord, type NewKeyFields } from '../../src/keystore/key-record.js'
import type { ApiKeyRecord, KeyStore } from '../../src/keystore/key-store.js'

export async function createKey(store: KeyStore, o: Partial<NewKeyFields> = {}): Promise<{ key: string; record: ApiKeyRecord }> {
  const made = newKeyRecord(
    { user: 'alice', permissions: { users: 'rw' }, description: 'test key', ...o },
    Math.floor(Date.now() / 1000),
  )
  await store.create(made.record)
  return made
}
