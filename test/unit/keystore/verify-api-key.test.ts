// API key → Identity (SPEC §3.5, §5) against a real file store in a temp dir.
import { strict as assert } from 'node:assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateApiKey, type ParsedApiKey } from '../../../src/credentials/api-key.js'
import { verifyApiKey } from '../../../src/keystore/verify-api-key.js'
import { withChecksum } from '../../support/api-keys.js'
import { openFileKeyStore } from '../../../src/keystore/file-key-store.js'
import { StoreUnavailableError, type ApiKeyRecord, type KeyStore } from '../../../src/keystore/key-store.js'

const NOW = 1_750_000_000

describe('verifyApiKey', () => {
  let dir: string
  let store: KeyStore

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-verify-'))
    store = await openFileKeyStore(join(dir, 'apikeys.json'), { watch: false })
  })
  after(async () => {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function addKey(overrides: Partial<ApiKeyRecord> = {}): Promise<{ key: string; record: ApiKeyRecord }> {
    const { id, key, secretHash } = generateApiKey()
    const record: ApiKeyRecord = {
      id,
      user: 'alice',
      description: 'verify test',
      permissions: { users: 'rw', sessions: 'r' },
      ipFilter: [],
      expiresAt: null,
      enabled: true,
      createdAt: NOW - 100,
      lastUsedAt: null,
      secretHash,
      ...overrides,
    }
    await store.create(record)
    return { key, record }
  }

  it('accepts a good key and returns its identity', async () => {
    const { key, record } = await addKey({ expiresAt: NOW + 60 })
    const r = await verifyApiKey(key, store, NOW)
    assert.ok(r.ok)
    assert.equal(r.identity.user, 'alice')
    assert.equal(r.identity.method, 'apikey')
    assert.equal(r.identity.credentialId, record.id)
    assert.equal(r.identity.issuer, 'gatehouse')
    assert.deepEqual({ ...r.identity.permissions }, { users: 'rw', sessions: 'r' })
    assert.equal(r.identity.expiresAt, NOW + 60)
    assert.equal(r.identity.ipFilter, undefined)
    assert.equal(r.record.id, record.id)
  })

  it('records the use on success', async () => {
    const { key, record } = await addKey()
    await verifyApiKey(key, store, NOW + 5)
    assert.equal((await store.get(record.id))?.lastUsedAt, NOW + 5)
  })

  it('carries the key\'s own IP filter (IPv4 and IPv6)', async () => {
    const { key } = await addKey({ ipFilter: ['192.0.2.0/24', '2001:db8::/32'] })
    const r = await verifyApiKey(key, store, NOW)
    assert.ok(r.ok)
    assert.equal(r.identity.ipFilter?.allows('192.0.2.7'), true)
    assert.equal(r.identity.ipFilter?.allows('2001:db8::1'), true)
    assert.equal(r.identity.ipFilter?.allows('198.51.100.1'), false)
  })

  it('answers key_malformed for a mistyped key, without asking the store', async () => {
    const { key } = await addKey()
    const typo = key.slice(0, 20) + (key[20] === 'x' ? 'y' : 'x') + key.slice(21)
    let asked = 0
    const spy = withGet(store, (id) => {
      asked++
      return store.get(id)
    })
    for (const bad of [typo, '', 'Bearer abc', key.slice(0, -1), `${key} `]) {
      assert.deepEqual(await verifyApiKey(bad, spy, NOW), { ok: false, reason: 'key_malformed' })
    }
    assert.equal(asked, 0)
  })

  it('answers key_unknown for a well-formed key that was never stored', async () => {
    assert.deepEqual(await verifyApiKey(generateApiKey().key, store, NOW), { ok: false, reason: 'key_unknown' })
  })

  it('answers key_unknown, not something more telling, for a stored id with the wrong secret', async () => {
    const { record } = await addKey()
    const other = generateApiKey()
    // A key with the stored id but another secret, with a valid checksum: only the hash can tell.
    const forged = await forgeKey({ id: record.id, secret: other.key.slice(16, 48) })
    assert.deepEqual(await verifyApiKey(forged, store, NOW), { ok: false, reason: 'key_unknown' })
    assert.equal((await store.get(record.id))?.lastUsedAt, null, 'a failed attempt counted as a use')
  })

  it('answers key_disabled for a disabled key with the right secret', async () => {
    const { key } = await addKey({ enabled: false })
    assert.deepEqual(await verifyApiKey(key, store, NOW), { ok: false, reason: 'key_disabled' })
  })

  it('answers key_expired from the second of expiry on', async () => {
    const { key } = await addKey({ expiresAt: NOW })
    assert.equal((await verifyApiKey(key, store, NOW - 1)).ok, true)
    assert.deepEqual(await verifyApiKey(key, store, NOW), { ok: false, reason: 'key_expired' })
  })

  it('answers key_unknown once a key is revoked', async () => {
    const { key, record } = await addKey()
    assert.equal((await verifyApiKey(key, store, NOW)).ok, true)
    await store.revoke([record.id])
    assert.deepEqual(await verifyApiKey(key, store, NOW), { ok: false, reason: 'key_unknown' })
  })

  it('answers store_unavailable when the store cannot answer', async () => {
    const down = withGet(store, () => Promise.reject(new StoreUnavailableError('redis down')))
    assert.deepEqual(await verifyApiKey(generateApiKey().key, down, NOW), { ok: false, reason: 'store_unavailable' })
  })
})

/** The store with its `get` replaced; every other method is the real one. */
function withGet(store: KeyStore, get: KeyStore['get']): KeyStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'get') return get
      const value: unknown = Reflect.get(target, prop)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** Builds a correctly checksummed key from parts, as an attacker who knows an id could. */
async function forgeKey(parts: ParsedApiKey): Promise<string> {
  return withChecksum(`gh_${parts.id}_${parts.secret}`)
}
