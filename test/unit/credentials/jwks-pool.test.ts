// The JWKS pool (SPEC §9, §12): a reload that keeps an issuer's key source reuses the
// running cache (and a discovery cache reads the metadata again); caches no runtime uses
// are closed. Real RemoteJwks on `data:` URLs (no socket); the clock is injected.
import { strict as assert } from 'node:assert'
import { describe, it, type TestContext } from 'node:test'
import { createJwksPool } from '../../../src/credentials/jwks-pool.js'
import { RemoteJwks } from '../../../src/credentials/remote-jwks.js'

const SET = new URL(`data:application/json,${encodeURIComponent('{"keys":[]}')}`)

function remote(t: TestContext, located: { count: number } | null = null): RemoteJwks {
  const r = new RemoteJwks(located === null ? SET : null, {
    now: () => 1_000_000,
    cacheMs: 300_000,
    cooldownMs: 30_000,
    maxBackoffMs: 300_000,
    fetchTimeoutMs: 2000,
    maxBytes: 1024,
    ...(located === null
      ? {}
      : {
          locate: async () => {
            located.count++
            return SET
          },
        }),
  })
  t.after(() => r.close())
  return r
}

/** Whether a cache still fetches: a closed one answers refresh() without fetching. */
async function open(r: RemoteJwks): Promise<boolean> {
  const before = r.status().fetches
  await r.refresh()
  return r.status().fetches > before
}

describe('createJwksPool', () => {
  it('gives the running cache for a key it holds, and makes a new one only for a new key', (t) => {
    const pool = createJwksPool()
    let made = 0
    const create = () => {
      made++
      return remote(t)
    }
    const a = pool.take('a', create)
    assert.equal(pool.take('a', create), a)
    const b = pool.take('b', create)
    assert.notEqual(b, a)
    assert.equal(made, 2)
  })

  it('a discovery cache taken again reads the metadata again', async (t) => {
    const pool = createJwksPool()
    const located = { count: 0 }
    const a = pool.take('a', () => remote(t, located))
    a.start()
    await a.ready()
    assert.equal(located.count, 1)
    pool.take('a', () => assert.fail('not created again'))
    // rediscover runs in the background: wait for it, boundedly.
    for (let i = 0; i < 200 && located.count < 2; i++) await new Promise((resolve) => setImmediate(resolve))
    assert.equal(located.count, 2)
  })

  it('retainOnly closes and forgets every cache not listed', async (t) => {
    const pool = createJwksPool()
    const a = pool.take('a', () => remote(t))
    const b = pool.take('b', () => remote(t))
    const c = pool.take('c', () => remote(t))
    pool.retainOnly(['a', 'c', 'z'])
    assert.deepEqual([await open(a), await open(b), await open(c)], [true, false, true])
    assert.equal(pool.take('a', () => assert.fail('a is kept')), a)
    const b2 = pool.take('b', () => remote(t))
    assert.notEqual(b2, b)
  })

  it('closeAll closes and forgets every cache', async (t) => {
    const pool = createJwksPool()
    const a = pool.take('a', () => remote(t))
    const b = pool.take('b', () => remote(t))
    pool.closeAll()
    assert.deepEqual([await open(a), await open(b)], [false, false])
    const a2 = pool.take('a', () => remote(t))
    assert.notEqual(a2, a)
    assert.equal(await open(a2), true)
  })
})
