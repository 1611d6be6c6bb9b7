// Picks the KeyStore implementation named by config `store.type` (SPEC §2, §8).
import type { Config } from '../config/schema.js'
import { openFileKeyStore, type FileKeyStoreOptions } from './file-key-store.js'
import type { KeyStore } from './key-store.js'

export type OpenKeyStoreOptions = FileKeyStoreOptions

/** `store.path` must already be resolved against the config file (config/load.ts does that). */
export async function openKeyStore(store: Config['store'], opts: OpenKeyStoreOptions = {}): Promise<KeyStore> {
  switch (store.type) {
    case 'file':
      return openFileKeyStore(store.path, opts)
    case 'redis':
      throw new Error('redis store not available yet')
  }
}
