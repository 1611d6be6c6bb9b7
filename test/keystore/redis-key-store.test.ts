// The Redis store against a real redis-server (issue 4): the shared KeyStore
// contract, plus what only a shared, remote store can get wrong — the data model
// (hashes, never a secret), pub/sub between replicas, atomic writes racing from two
// stores, a password that never leaks, an outage that fails fast and never piles
// up, a reconnect that needs no restart. The contract with a password, over TLS and
// through Sentinel: redis-key-store-variants.test.ts.
import { strict as assert } from 'node:assert'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { parseApiKey } from '../../src/credentials/api-key.js'
import { newKeyRecord } from '../../src/keystore/new-key-record.js'
import { StoreUnavailableError, type KeyChange, type KeyStore } from '../../src/keystore/key-store.js'
import type { StoreConfig } from '../../src/config/redis-config.js'
import { openRedisKeyStore, type RedisKeyStoreOptions } from '../../src/keystore/redis-key-store.js'
import { redisTool, startRedisServer, type RedisServer } from '../support/redis-server.js'
import { changeFor, makeRecord, plain, runKeyStoreContract } from './key-store-contract.js'
import { waitFor } from '../support/wait.js'
import { quiet, recordingLogger, storeConfig } from './redis-store-support.js'

const skip = redisTool.skip

describe('redis key store', { skip }, () => {
  let server: RedisServer
  let raw: Redis
  before(async () => {
    server = await startRedisServer()
    raw = new Redis(server.url, { lazyConnect: true })
    await raw.connect()
  })
  after(async () => {
    raw?.disconnect()
    await server?.close()
  })

  // One server for the file; each contract case gets its own key prefix, so cases never see each other's keys.
  runKeyStoreContract('redis', async () => {
    const cfg = storeConfig(server.url)
    return { store: await openRedisKeyStore(cfg, { logger: quiet }), reopen: () => openRedisKeyStore(cfg, { logger: quiet }), cleanup: async () => {} }
  })

  async function pair(extra: Partial<StoreConfig> = {}, opts: RedisKeyStoreOptions = {}): Promise<[KeyStore, KeyStore, StoreConfig]> {
    const cfg = storeConfig(server.url, extra)
    return [await openRedisKeyStore(cfg, { logger: quiet, ...opts }), await openRedisKeyStore(cfg, { logger: quiet, ...opts }), cfg]
  }

  it('keeps each key in a hash under the prefix, with the id indexes, never the secret and never a TTL', async () => {
    const [a, b, cfg] = await pair()
    try {
      const { key, record } = newKeyRecord({ user: 'bob', permissions: { users: 'r' }, description: 'model' }, 1_700_000_000)
      await a.create(record)
      const p = cfg.keyPrefix
      assert.deepEqual((await raw.keys(`${p}*`)).sort(), [`${p}key:${record.id}`, `${p}keys`, `${p}user:bob`].sort())
      assert.equal(await raw.type(`${p}key:${record.id}`), 'hash')
      assert.equal(await raw.type(`${p}keys`), 'set')
      assert.deepEqual(await raw.smembers(`${p}user:bob`), [record.id])
      assert.equal(await raw.ttl(`${p}key:${record.id}`), -1)
      const hash = await raw.hgetall(`${p}key:${record.id}`)
      assert.deepEqual(Object.keys(hash).sort(), Object.keys(record).sort())
      assert.equal(hash.secretHash, JSON.stringify(record.secretHash))
      const secret = parseApiKey(key)?.secret as string
      assert.ok(!JSON.stringify(hash).includes(secret.slice(0, 16)), 'the secret is stored')
      assert.ok(!JSON.stringify(hash).includes(key), 'the key is stored')
      // A revoke leaves nothing behind: no hash, no index entry.
      await b.revoke([record.id])
      assert.deepEqual(await raw.keys(`${p}*`), [])
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('tells the other store about a create, update and revoke within one second, through pub/sub', async () => {
    const [a, b] = await pair()
    try {
      const record = makeRecord()
      for (const [what, write] of [
        ['create', () => a.create(record)],
        ['update', () => a.update(record.id, { enabled: false })],
        ['revoke', () => a.revoke([record.id])],
      ] as const) {
        const seen = changeFor(b, record.id, 1000)
        const start = performance.now()
        await write()
        assert.deepEqual(await seen, [record.id], what)
        assert.ok(performance.now() - start < 1000, `${what} took ${performance.now() - start} ms`)
      }
      assert.equal(await b.get(record.id), null)
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('denies a JWT on the other store within one second, and keeps it in Redis only until its end', async () => {
    const [a, b, cfg] = await pair()
    try {
      const now = Math.floor(Date.now() / 1000)
      await a.revokeJwt('jti-propagates', now + 120)
      const took = await waitFor(() => b.isJwtRevoked('jti-propagates', now), 1000)
      assert.ok(took < 1000)
      const ttl = await raw.ttl(`${cfg.keyPrefix}jwt-revoked:jti-propagates`)
      assert.ok(ttl > 100 && ttl <= 120, `ttl ${ttl}`)
      await a.revokeJwt('jti-short', now + 2)
      await waitFor(async () => (await raw.exists(`${cfg.keyPrefix}jwt-revoked:jti-short`)) === 0, 5000)
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('lets exactly one of two stores create the same id at once', async () => {
    const [a, b] = await pair()
    try {
      for (let round = 0; round < 20; round++) {
        const record = makeRecord()
        const results = await Promise.allSettled([a.create({ ...record, user: 'from-a' }), b.create({ ...record, user: 'from-b' })])
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
        const kept = await a.get(record.id)
        assert.equal(kept?.user, results[0]?.status === 'fulfilled' ? 'from-a' : 'from-b')
      }
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('leaves a consistent state when two stores revoke, disable and re-enable the same keys at once', async () => {
    const [a, b, cfg] = await pair()
    const p = cfg.keyPrefix
    try {
      for (let round = 0; round < 40; round++) {
        const record = makeRecord({ user: `racer-${round % 3}` })
        await a.create(record)
        const ops = [
          () => a.update(record.id, { enabled: false }),
          () => b.update(record.id, { enabled: true }),
          () => b.update(record.id, { description: `b-${round}` }),
          () => a.update(record.id, { enabled: true, ipFilter: ['192.0.2.0/24'] }),
          ...(round % 2 === 0 ? [() => (round % 4 === 0 ? a : b).revoke([record.id])] : []),
        ]
        await Promise.all(ops.sort(() => Math.random() - 0.5).map((op) => op()))
        const [fromA, fromB] = [await a.get(record.id), await b.get(record.id)]
        assert.deepEqual(plain(fromA), plain(fromB), 'both stores read the same record')
        const inIds = (await raw.sismember(`${p}keys`, record.id)) === 1
        const inUser = (await raw.sismember(`${p}user:${record.user}`, record.id)) === 1
        if (fromA === null) {
          assert.equal(round % 2, 0, 'only a revoke removes a key')
          assert.equal(await raw.exists(`${p}key:${record.id}`), 0, 'an update after the revoke recreated part of the record')
          assert.deepEqual([inIds, inUser], [false, false])
        } else {
          assert.equal(round % 2, 1, 'a revoke was lost')
          assert.equal(Object.keys(await raw.hgetall(`${p}key:${record.id}`)).length, 10, 'every field is there')
          assert.deepEqual([inIds, inUser], [true, true])
        }
      }
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('writes last-used times in batches, never reviving a revoked key', async () => {
    const [a, b, cfg] = await pair({}, { touchFlushMs: 200 })
    try {
      const kept = makeRecord()
      const gone = makeRecord()
      await a.create(kept)
      await a.create(gone)
      a.touch(kept.id, 1_750_000_000)
      a.touch(gone.id, 1_750_000_000)
      assert.equal(await raw.hget(`${cfg.keyPrefix}key:${kept.id}`, 'lastUsedAt'), 'null', 'touch wrote at once')
      await b.revoke([gone.id])
      await waitFor(async () => (await b.get(kept.id))?.lastUsedAt === 1_750_000_000, 2000)
      assert.equal(await raw.exists(`${cfg.keyPrefix}key:${gone.id}`), 0)
      b.touch(kept.id, 1_740_000_000) // older: never moves the time back
      await b.close()
      assert.equal((await a.get(kept.id))?.lastUsedAt, 1_750_000_000)
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('answers at once with StoreUnavailableError while Redis is down, and a burst does not pile up', async () => {
    const down = await startRedisServer({ persist: true })
    const logger = recordingLogger()
    // A long timeoutMs: a lookup that queued for Redis instead of failing at once would wait all of it.
    const store = await openRedisKeyStore(storeConfig(down.url, { timeoutMs: 20_000 }), { logger })
    try {
      const record = makeRecord()
      await store.create(record)
      await down.stop()
      await waitFor(async () => !(await store.isReady()), 1000)
      const start = performance.now()
      const burst = await Promise.allSettled(Array.from({ length: 500 }, () => store.get(record.id)))
      const took = performance.now() - start
      assert.ok(burst.every((r) => r.status === 'rejected' && r.reason instanceof StoreUnavailableError))
      assert.ok(took < 20_000, `500 lookups during the outage took ${took} ms: they waited for Redis`)
      await assert.rejects(store.create(makeRecord()), StoreUnavailableError)
      await assert.rejects(store.revoke([record.id]), StoreUnavailableError)
      store.touch(record.id, 1_750_000_000) // never throws

      // Back without a restart of the store, with the same data; listeners are told to forget everything.
      const changes: KeyChange[] = []
      store.onChange((c) => changes.push(c))
      await down.start()
      const back = await waitFor(() => store.isReady(), 3000)
      assert.ok(back < 3000)
      assert.deepEqual(changes, ['all'])
      assert.equal((await store.get(record.id))?.id, record.id)
      assert.ok(logger.lines.some((l) => l.msg.startsWith('Redis unreachable')))
      assert.ok(logger.lines.some((l) => l.msg === 'Redis answers again'))
    } finally {
      await store.close()
      await down.close()
    }
  })

  it('bounds every call by timeoutMs when Redis hangs (SIGSTOP), and is not ready meanwhile', async () => {
    const hung = await startRedisServer()
    const store = await openRedisKeyStore(storeConfig(hung.url, { timeoutMs: 300 }), { logger: quiet })
    try {
      const record = makeRecord()
      await store.create(record)
      hung.pause()
      const start = performance.now()
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => store.get(record.id)))
      const took = performance.now() - start
      assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof StoreUnavailableError))
      assert.ok(took < 1000, `calls to a hung Redis took ${took} ms`)
      assert.equal(await store.isReady(), false)
      hung.resume()
      await waitFor(() => store.isReady(), 3000)
    } finally {
      hung.resume()
      await store.close()
      await hung.close()
    }
  })

  it('does not miss a change made while its subscriber was disconnected', async () => {
    const [a, b] = await pair()
    try {
      const record = makeRecord()
      await a.create(record)
      await waitFor(async () => (await b.get(record.id)) !== null, 1000)
      const seen = new Promise<KeyChange>((resolve) => b.onChange((c) => (c === 'all' || c.includes(record.id) ? resolve(c) : undefined)))
      await raw.client('KILL', 'TYPE', 'pubsub') // every subscriber loses its connection (and any message meanwhile)
      await a.revoke([record.id])
      const change = await Promise.race([seen, new Promise((_, reject) => setTimeout(() => reject(new Error('no change within 2 s')), 2000))])
      assert.ok(change === 'all' || (change as readonly string[]).includes(record.id))
      await waitFor(() => b.isReady(), 2000)
      assert.equal(await b.get(record.id), null)
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('never puts the password in an error or a log line', async () => {
    const password = 'pw-9f3c1e-never-shown/+?'
    const locked = await startRedisServer({ password })
    const logger = recordingLogger()
    const seen: string[] = []
    try {
      const good = storeConfig(locked.url)
      const wrong = storeConfig(locked.url.replace(encodeURIComponent(password), encodeURIComponent(`${password}x`)))
      await assert.rejects(openRedisKeyStore(wrong, { watch: false, logger }), (err: Error) => {
        seen.push(err.message)
        assert.match(err.message, /WRONGPASS|NOAUTH/)
        assert.match(err.message, /redis:\/\/:\*\*\*@127\.0\.0\.1/)
        return true
      })
      const serving = await openRedisKeyStore(wrong, { logger, openTimeoutMs: 500 })
      assert.equal(await serving.isReady(), false)
      await serving.close()

      const store = await openRedisKeyStore(good, { logger })
      const record = makeRecord()
      await store.create(record)
      await locked.stop()
      await assert.rejects(store.get(record.id), (err: Error) => seen.push(err.message) > 0)
      await waitFor(() => logger.lines.some((l) => JSON.stringify(l).includes('ECONNREFUSED')), 3000)
      await store.close()
      await assert.rejects(openRedisKeyStore(good, { watch: false, logger, openTimeoutMs: 500 }), (err: Error) => seen.push(err.message) > 0)

      const text = JSON.stringify([...seen, ...logger.lines])
      assert.ok(logger.lines.length > 0 && seen.length === 3)
      for (const form of [password, encodeURIComponent(password), 'pw-9f3c1e']) assert.ok(!text.includes(form), `"${form}" appeared in ${text}`)
    } finally {
      await locked.close()
    }
  })

  it('starts not ready when Redis is down, and becomes ready by itself when it comes up', async () => {
    const late = await startRedisServer({ persist: true })
    await late.stop()
    const logger = recordingLogger()
    const start = performance.now()
    const store = await openRedisKeyStore(storeConfig(late.url), { logger, openTimeoutMs: 300 })
    try {
      assert.ok(performance.now() - start < 1000)
      assert.equal(await store.isReady(), false)
      await assert.rejects(store.get(makeRecord().id), StoreUnavailableError)
      assert.ok(logger.lines.some((l) => l.msg.startsWith('Redis does not answer yet')))
      await late.start()
      await waitFor(() => store.isReady(), 3000)
      const record = makeRecord()
      await store.create(record)
      assert.equal((await store.get(record.id))?.id, record.id)
    } finally {
      await store.close()
      await late.close()
    }
  })

  it('opens without connecting for check-config (connect: false)', async () => {
    const start = performance.now()
    const store = await openRedisKeyStore(storeConfig('redis://127.0.0.1:1/0'), { connect: false, logger: quiet })
    assert.ok(performance.now() - start < 100)
    assert.equal(await store.isReady(), false)
    await store.close()
  })
})
