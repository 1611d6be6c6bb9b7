// Picks the KeyStore implementation named by config `store.type` (SPEC §2, §8).
import type { Config } from '../config/schema.js'
import { openFileKeyStore, type FileKeyStoreOptions } from './file-key-store.js'
import type { KeyStore } from './key-store.js'
import type { RedisKeyStoreOptions } from './redis-key-store.js'

export type OpenKeyStoreOptions = FileKeyStoreOptions & RedisKeyStoreOptions

/** `store.path` must already be resolved against the config file (config/load.ts does that). */
export async function openKeyStore(store: Config['store'], opts: OpenKeyStoreOptions = {}): Promise<KeyStore> {
  switch (store.type) {
    case 'file':
      return openFileKeyStore(store.path, opts)
    case 'redis': {
      // ioredis is loaded only when used: about 20 MB a file-store sidecar need not carry.
      const { openRedisKeyStore } = await import('./redis-key-store.js')
      return openRedisKeyStore(store, opts)
    }
  }
}
