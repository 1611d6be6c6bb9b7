// The behaviour every KeyStore must show (STYLE habit 5): the file store and the
// Redis store run the same suite.
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { generateApiKey } from '../../src/credentials/api-key.js'
import { KeyExistsError, type ApiKeyRecord, type KeyChange, type KeyStore } from '../../src/keystore/key-store.js'

export interface ContractFixture {
  readonly store: KeyStore
  /** Closes nothing: opens a second store on the same backing data (after `store.close()` where needed). */
  readonly reopen: () => Promise<KeyStore>
  readonly cleanup: () => Promise<void>
}

let clock = 1_700_000_000

const nowSeconds = () => Math.floor(Date.now() / 1000)

/** A valid record with a fresh id; later records have later creation times. */
export function makeRecord(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  const { id, secretHash } = generateApiKey()
  return {
    id,
    user: 'alice',
    description: 'contract test key',
    permissions: { users: 'rw', sessions: 'r' },
    ipFilter: [],
    expiresAt: null,
    enabled: true,
    createdAt: clock++,
    lastUsedAt: null,
    secretHash,
    ...overrides,
  }
}

/** A record as plain JSON data: stores may hand back frozen or null-prototype objects. */
export function plain(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value))
}

/** Resolves with the first change that names `id` (or 'all'); rejects after timeoutMs. */
export function changeFor(store: KeyStore, id: string, timeoutMs = 2000): Promise<KeyChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`no change event for ${id} within ${timeoutMs} ms`))
    }, timeoutMs)
    const off = store.onChange((change) => {
      if (change !== 'all' && !change.includes(id)) return
      clearTimeout(timer)
      off()
      resolve(change)
    })
  })
}

export function runKeyStoreContract(name: string, open: () => Promise<ContractFixture>): void {
  describe(`KeyStore contract: ${name}`, () => {
    const withStore = (fn: (f: ContractFixture) => Promise<void>) => async () => {
      const f = await open()
      try {
        await fn(f)
      } finally {
        await f.store.close()
        await f.cleanup()
      }
    }

    it('is ready once opened', withStore(async ({ store }) => {
      assert.equal(await store.isReady(), true)
    }))

    it('returns a created record from get, field for field', withStore(async ({ store }) => {
      const record = makeRecord({ ipFilter: ['10.0.0.0/8', '2001:db8::/32'], expiresAt: 1_800_000_000, description: 'ci' })
      await store.create(record)
      assert.deepEqual(plain(await store.get(record.id)), record)
    }))

    it('answers null for an id it does not hold', withStore(async ({ store }) => {
      assert.equal(await store.get(makeRecord().id), null)
    }))

    it('lists every record, and only the given user\'s with a filter', withStore(async ({ store }) => {
      const a1 = makeRecord({ user: 'alice' })
      const b1 = makeRecord({ user: 'bob' })
      const a2 = makeRecord({ user: 'alice' })
      for (const r of [a1, b1, a2]) await store.create(r)
      assert.deepEqual((await store.list()).map((r) => r.id).sort(), [a1.id, b1.id, a2.id].sort())
      assert.deepEqual((await store.list({ user: 'alice' })).map((r) => r.id).sort(), [a1.id, a2.id].sort())
      assert.deepEqual(await store.list({ user: 'carol' }), [])
    }))

    it('rejects a second record with the same id and keeps the first', withStore(async ({ store }) => {
      const first = makeRecord({ user: 'alice' })
      await store.create(first)
      await assert.rejects(store.create({ ...first, user: 'mallory' }), KeyExistsError)
      assert.equal((await store.get(first.id))?.user, 'alice')
    }))

    it('updates only the patched fields and returns the new record', withStore(async ({ store }) => {
      const record = makeRecord()
      await store.create(record)
      const updated = await store.update(record.id, { enabled: false, description: 'paused', ipFilter: ['192.0.2.0/24'] })
      assert.deepEqual(plain(updated), { ...record, enabled: false, description: 'paused', ipFilter: ['192.0.2.0/24'] })
      assert.deepEqual(plain(await store.get(record.id)), plain(updated))
      const again = await store.update(record.id, { expiresAt: 1_900_000_000, permissions: { users: 'r' } })
      assert.equal(again?.expiresAt, 1_900_000_000)
      assert.deepEqual(plain(again?.permissions), { users: 'r' })
      assert.equal(again?.enabled, false)
    }))

    it('answers null when updating an unknown id', withStore(async ({ store }) => {
      assert.equal(await store.update(makeRecord().id, { enabled: false }), null)
    }))

    it('revokes keys and returns only the ids that existed', withStore(async ({ store }) => {
      const keep = makeRecord()
      const gone = makeRecord()
      await store.create(keep)
      await store.create(gone)
      const unknown = makeRecord().id
      assert.deepEqual(await store.revoke([gone.id, unknown]), [gone.id])
      assert.equal(await store.get(gone.id), null)
      assert.notEqual(await store.get(keep.id), null)
      assert.deepEqual(await store.revoke([gone.id]), [])
    }))

    it('tells listeners about create, update and revoke, and stops after unsubscribe', withStore(async ({ store }) => {
      const record = makeRecord()
      const created = changeFor(store, record.id)
      await store.create(record)
      await created
      const updated = changeFor(store, record.id)
      await store.update(record.id, { enabled: false })
      await updated
      const revoked = changeFor(store, record.id)
      await store.revoke([record.id])
      await revoked

      const seen: KeyChange[] = []
      const off = store.onChange((c) => seen.push(c))
      off()
      await store.create(makeRecord())
      await new Promise((r) => setTimeout(r, 50))
      assert.deepEqual(seen, [])
    }))

    it('shows a use at once and keeps it after close and reopen', withStore(async (f) => {
      const record = makeRecord()
      await f.store.create(record)
      f.store.touch(record.id, 1_750_000_000)
      assert.equal((await f.store.get(record.id))?.lastUsedAt, 1_750_000_000)
      f.store.touch(record.id, 1_740_000_000) // an older use never moves the time back
      assert.equal((await f.store.get(record.id))?.lastUsedAt, 1_750_000_000)
      f.store.touch(makeRecord().id, 1_750_000_000) // unknown ids are ignored, never thrown
      await f.store.close()
      const reopened = await f.reopen()
      try {
        assert.equal((await reopened.get(record.id))?.lastUsedAt, 1_750_000_000)
      } finally {
        await reopened.close()
      }
    }))

    it('keeps every record and field across close and reopen', withStore(async (f) => {
      const records = [
        makeRecord({ user: 'alice', ipFilter: ['203.0.113.7'] }),
        makeRecord({ user: 'bob', enabled: false, expiresAt: 1_800_000_000, permissions: { billing: 'none' } }),
        makeRecord({ user: 'svc-batch', description: 'nightly ünïcode job' }),
      ]
      for (const r of records) await f.store.create(r)
      await f.store.revoke([records[0]!.id])
      await f.store.close()
      const reopened = await f.reopen()
      try {
        assert.equal(await reopened.get(records[0]!.id), null)
        for (const r of records.slice(1)) assert.deepEqual(plain(await reopened.get(r.id)), r)
      } finally {
        await reopened.close()
      }
    }))

    it('refuses an invalid record without storing it', withStore(async ({ store }) => {
      const bad = makeRecord({ permissions: { users: 'admin' as 'rw' } })
      await assert.rejects(store.create(bad))
      assert.equal(await store.get(bad.id), null)
    }))

    it('denies a revoked JWT until the end it was given, and no other', withStore(async ({ store }) => {
      const now = nowSeconds()
      const jti = `jti-${Math.random().toString(36).slice(2)}`
      assert.equal(store.isJwtRevoked(jti, now), false)
      await store.revokeJwt(jti, now + 600)
      assert.equal(store.isJwtRevoked(jti, now), true)
      assert.equal(store.isJwtRevoked(jti, now + 599), true)
      assert.equal(store.isJwtRevoked(jti, now + 600), false, 'past its end the entry is forgotten')
      assert.equal(store.isJwtRevoked(`${jti}-other`, now), false)
      assert.deepEqual(plain((await store.listRevokedJwts(now)).filter((e) => e.jti === jti)), [{ jti, expiresAt: now + 600 }])
    }))

    it('keeps the later end when a JWT is revoked twice, and stores nothing for one already over', withStore(async ({ store }) => {
      const now = nowSeconds()
      await store.revokeJwt('jti-twice', now + 900)
      await store.revokeJwt('jti-twice', now + 300)
      assert.equal(store.isJwtRevoked('jti-twice', now + 600), true)
      await store.revokeJwt('jti-over', now - 1)
      assert.equal(store.isJwtRevoked('jti-over', now - 10), false)
      assert.deepEqual((await store.listRevokedJwts(now)).map((e) => e.jti), ['jti-twice'])
    }))

    it('refuses a jti that is empty, too long or not visible ASCII', withStore(async ({ store }) => {
      const now = nowSeconds()
      for (const jti of ['', 'x'.repeat(257), 'has space', 'tab\t', 'ünï']) {
        await assert.rejects(store.revokeJwt(jti, now + 60), TypeError, JSON.stringify(jti))
      }
      assert.deepEqual(await store.listRevokedJwts(now), [])
    }))

    it('keeps revoked JWTs across close and reopen', withStore(async (f) => {
      const now = nowSeconds()
      await f.store.revokeJwt('jti-kept', now + 600)
      await f.store.close()
      const reopened = await f.reopen()
      try {
        assert.equal(reopened.isJwtRevoked('jti-kept', now), true)
      } finally {
        await reopened.close()
      }
    }))
  })
}
