// Real API keys for tests: generated in the real format, stored through the real store.
import { crc32 } from 'node:zlib'
import { newKeyRecord, type NewKeyFields } from '../../src/keystore/new-key-record.js'
import type { ApiKeyRecord, KeyStore } from '../../src/keystore/key-store.js'

export async function createKey(store: KeyStore, o: Partial<NewKeyFields> = {}): Promise<{ key: string; record: ApiKeyRecord }> {
  const made = newKeyRecord(
    { user: 'alice', permissions: { users: 'rw' }, description: 'test key', ...o },
    Math.floor(Date.now() / 1000),
  )
  await store.create(made.record)
  return made
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/**
 * `body` with the key format's CRC32 tail in six base62 digits (README "API keys"),
 * written here independently of src/credentials/api-key.ts: the checksum is no
 * secret, so a test can forge a well-formed key as an attacker could.
 */
export function withChecksum(body: string): string {
  let n = crc32(body)
  let tail = ''
  for (let i = 0; i < 6; i++) {
    tail = BASE62.charAt(n % 62) + tail
    n = Math.floor(n / 62)
  }
  return body + tail
}
