// Many replicas, one truth (issue 4, SPEC §8): Gatehouse processes sharing one real
// redis-server. A key created through A works through B and C; revoked, disabled
// or lowered through B it is refused by A and C within one second (pub/sub, not
// polling). Redis stopped: credentials already verified keep working, new ones
// answer 503 with Retry-After (never 401, never a pass), /readyz is 503 — and after
// Redis returns, 200 again with no restart. A Sentinel failover under a running
// Gatehouse loses no key and accepts no revoked one.
// A and C are `gatehouse serve` child processes; B runs in this process, so a test
// can also change a key through B's store directly (lowering its permissions,
// which the token service's PATCH does not offer).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { presets } from '../support/gatehouse.js'
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js'
import { redisTool, startRedisServer, startSentinelSetup } from '../support/redis-server.js'
import {
  callApi,
  callService,
  createKeyVia,
  msUntil,
  readyz,
  replicaFiles,
  startReplicaInProcess,
  startReplicaProcess,
  type Replica,
  type ReplicaFiles,
} from '../support/replicas.js'

const PROPAGATION_MS = 1000

describe('replicas sharing one Redis', { skip: redisTool.skip, timeout: 120_000 }, () => {
  let upstream: RecordingUpstream
  let files: ReplicaFiles
  before(async () => {
    upstream = await startRecordingUpstream()
    files = await replicaFiles(upstream.url)
  })
  after(async () => {
    await files?.close()
    await upstream?.close()
  })

  /** Every replica answers `status` for the call within PROPAGATION_MS; returns the slowest time. */
  async function refusedEverywhere(replicas: Replica[], call: (r: Replica) => Promise<number>, status: number): Promise<number> {
    const times = await Promise.all(replicas.map((r) => msUntil(async () => (await call(r)) === status, PROPAGATION_MS + 500)))
    times.forEach((t, i) => assert.ok(t !== null && t < PROPAGATION_MS, `${replicas[i]?.name} answered ${status} after ${t} ms`))
    return Math.max(...(times as number[]))
  }

  it('a key created through A works through B and then C; revoked, disabled or lowered through B it is refused by A and C within one second', async () => {
    const redis = await startRedisServer()
    // A long timeoutMs: a request that queued for Redis instead of failing at once would wait all of it.
    const config = files.config(presets.redisStore(redis.url, { timeoutMs: 20_000 }))
    const started: Replica[] = []
    try {
      const a = await startReplicaProcess('A', config)
      started.push(a)
      const b = await startReplicaInProcess('B', config)
      started.push(b)

      // Two replicas: created through A's token service, it works through both.
      const first = await createKeyVia(a, 'alice')
      assert.equal((await callApi(a, { key: first.key })).status, 200)
      assert.equal((await callApi(b, { key: first.key })).status, 200)

      // A third joins and sees the same keys.
      const c = await startReplicaProcess('C', config)
      started.push(c)
      assert.equal((await callApi(c, { key: first.key })).status, 200)
      const watchers = [a, c]
      const warm = async (key: string, method = 'GET') => {
        for (const r of [a, b, c]) assert.equal((await callApi(r, { key, method })).status, 200, `${r.name} before the change`)
      }

      // Revoked through B's token service.
      await warm(first.key)
      const deleted = await callService(b, 'alice', 'POST', '/v1/auth/apikeys/delete', [first.id])
      assert.deepEqual(deleted.json.revoked, [first.id])
      await refusedEverywhere(watchers, async (r) => (await callApi(r, { key: first.key })).status, 401)

      // Disabled through B's PATCH, then enabled again.
      const second = await createKeyVia(a, 'alice')
      await warm(second.key)
      assert.equal((await callService(b, 'alice', 'PATCH', `/v1/auth/apikeys/${second.id}`, { enabled: false })).status, 200)
      await refusedEverywhere(watchers, async (r) => (await callApi(r, { key: second.key })).status, 401)
      assert.equal((await callService(b, 'alice', 'PATCH', `/v1/auth/apikeys/${second.id}`, { enabled: true })).status, 200)
      await refusedEverywhere(watchers, async (r) => (await callApi(r, { key: second.key })).status, 200)

      // Lowered through B's store: users:rw -> users:r; POST is refused, GET still works.
      const third = await createKeyVia(a, 'alice')
      await warm(third.key, 'POST')
      await b.inProcess?.gh.store.update(third.id, { permissions: { users: 'r' } })
      await refusedEverywhere(watchers, async (r) => (await callApi(r, { key: third.key, method: 'POST' })).status, 403)
      for (const r of watchers) assert.equal((await callApi(r, { key: third.key })).status, 200)

      // No replica logged the Redis URL.
      for (const r of started) assert.ok(!r.logText().includes(redis.url), `${r.name} logged the Redis URL`)
    } finally {
      await Promise.all(started.map((r) => r.close()))
      await redis.close()
    }
  })

  it('Redis down: verified credentials keep working, new ones answer 503 with Retry-After, /readyz 503; back: 200 without a restart', async () => {
    const redis = await startRedisServer({ persist: true, password: 'outage-test-password' })
    // A long timeoutMs: a request that queued for Redis instead of failing at once would wait all of it.
    const config = files.config(presets.redisStore(redis.url, { timeoutMs: 20_000 }))
    const started: Replica[] = []
    try {
      const a = await startReplicaProcess('A', config)
      started.push(a)
      const b = await startReplicaInProcess('B', config)
      started.push(b)
      const c = await startReplicaProcess('C', config)
      started.push(c)
      const all = [a, b, c]
      const seen = await createKeyVia(b, 'alice')
      const unseen = await createKeyVia(b, 'alice')
      const token = (await callService(a, 'bob', 'POST', '/v1/auth/jwt', { permissions: { users: 'r' } })).json.token as string
      for (const r of all) {
        assert.equal((await callApi(r, { key: seen.key })).status, 200)
        assert.equal(await readyz(r), 200)
      }

      await redis.stop()
      for (const r of all) {
        assert.notEqual(await msUntil(async () => (await readyz(r)) === 503, 3000, 20), null, `${r.name} /readyz stayed 200`)
        assert.equal((await callApi(r, { key: seen.key })).status, 200, `${r.name}: a verified key stops working`)
        assert.equal((await callApi(r, { token })).status, 200, `${r.name}: a JWT needs no store`)
        const seenBefore = upstream.requests.length
        const fresh = await callApi(r, { key: unseen.key })
        assert.equal(fresh.status, 503, `${r.name}: a key never seen answered ${fresh.status}`)
        assert.equal(upstream.requests.length, seenBefore, `${r.name}: the upstream must see nothing of a 503`)
        assert.equal(fresh.headers.get('retry-after'), '1')
        assert.equal(fresh.json.type, 'https://gatehouse.dev/problems/store_unavailable')
      }

      // A burst of unknown credentials during the outage is answered at once, not queued.
      const start = performance.now()
      const burst = await Promise.all(Array.from({ length: 200 }, () => callApi(a, { key: unseen.key })))
      const took = performance.now() - start
      assert.ok(burst.every((x) => x.status === 503), `statuses: ${[...new Set(burst.map((x) => x.status))]}`)
      assert.ok(took < 20_000, `200 requests during the outage took ${took} ms: they waited for Redis`)

      await redis.start()
      for (const r of all) {
        const back = await msUntil(async () => (await readyz(r)) === 200, 5000, 20)
        assert.notEqual(back, null, `${r.name} /readyz did not come back`)
        assert.equal((await callApi(r, { key: unseen.key })).status, 200, `${r.name}: the key never seen works now`)
        assert.equal((await callApi(r, { key: seen.key })).status, 200)
      }
      for (const r of started) assert.ok(!r.logText().includes('outage-test-password'), `${r.name} logged the Redis password`)
      // Info lines reach stdout in batches, at least once a second (src/telemetry/logger.ts).
      const logged = await msUntil(async () => a.logText().includes('Redis unreachable') && a.logText().includes('Redis answers again'), 3000, 50)
      assert.notEqual(logged, null, 'A logged the outage and the recovery')
    } finally {
      await Promise.all(started.map((r) => r.close()))
      await redis.close()
    }
  })

  it('a Sentinel failover under a running Gatehouse loses no key and accepts no revoked one', async () => {
    const setup = await startSentinelSetup()
    const config = files.config(presets.redisStore(null, { sentinels: setup.sentinels, sentinelName: setup.name, waitReplicas: 1 }))
    let g: Replica | null = null
    let stop = false
    try {
      g = await startReplicaProcess('G', config)
      const gh = g
      const live: { key: string; id: string }[] = []
      const revoked: { key: string; id: string }[] = []
      for (let i = 0; i < 12; i++) (i % 3 === 0 ? revoked : live).push(await createKeyVia(gh, 'alice', { description: `failover ${i}` }))
      for (const k of live.slice(0, 4)) assert.equal((await callApi(gh, { key: k.key })).status, 200) // some verified and cached
      assert.deepEqual((await callService(gh, 'alice', 'POST', '/v1/auth/apikeys/delete', revoked.map((k) => k.id))).json.revoked.sort(), revoked.map((k) => k.id).sort())

      // Throughout the failover: a revoked key is never let through, a live one never called unknown.
      const wrong: string[] = []
      const polling = (async () => {
        for (let i = 0; i < 10_000 && !stop; i++) {
          for (const k of revoked) if ((await callApi(gh, { key: k.key })).status === 200) wrong.push(`revoked ${k.id} accepted`)
          for (const k of live) if ((await callApi(gh, { key: k.key })).status === 401) wrong.push(`live ${k.id} refused as unknown`)
          await new Promise((r) => setTimeout(r, 25))
        }
      })()
      await setup.failover()
      assert.notEqual(await msUntil(async () => (await readyz(gh)) === 200, 15_000, 50), null, 'not ready after the failover')
      // Both sides of the failover stay honest for a while after it, then stop.
      await new Promise((r) => setTimeout(r, 500))
      stop = true
      await polling
      assert.deepEqual(wrong, [])

      for (const k of live) assert.equal((await callApi(gh, { key: k.key })).status, 200, `live key ${k.id} after the failover`)
      for (const k of revoked) assert.equal((await callApi(gh, { key: k.key })).status, 401, `revoked key ${k.id} after the failover`)
      const listed = (await callService(gh, 'alice', 'GET', '/v1/auth/apikeys')).json.keys.map((k: { id: string }) => k.id)
      for (const k of live) assert.ok(listed.includes(k.id), `key ${k.id} was lost`)
      const after = await createKeyVia(gh, 'alice') // writes go to the promoted replica
      assert.equal((await callApi(gh, { key: after.key })).status, 200)
    } finally {
      stop = true
      await g?.close()
      await setup.close()
    }
  })
})
