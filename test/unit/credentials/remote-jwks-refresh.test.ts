// RemoteJwks without a socket, continued (issue 19, mutation testing): rediscovery on
// reload (SPEC §12), the background refresh every jwksCacheSeconds and after failures
// (README "JWT issuers"; timers mocked), readCapped and the documented defaults.
import { strict as assert } from 'node:assert'
import { setImmediate as turn } from 'node:timers/promises'
import { before, describe, it, type TestContext } from 'node:test'
import { JWKS_DEFAULTS, readCapped } from '../../../src/credentials/remote-jwks.js'
import { dataUrl, rig, setUrl, started, T0, type Rig } from '../../support/data-jwks.js'
import { jwksOf, makeKeyPair, type TestKey } from '../../support/mint.js'

let k1: TestKey
let k2: TestKey
let k3: TestKey
before(async () => {
  k1 = await makeKeyPair('ES256', 'k1')
  k2 = await makeKeyPair('ES256', 'k2')
  k3 = await makeKeyPair('ES256', 'k3')
})

describe('RemoteJwks.rediscover (SPEC §12: discovery on reload)', () => {
  it('does nothing without discovery, before the first success, or once closed', async (t) => {
    const plain = await started(rig(t, setUrl(jwksOf(k1))))
    await plain.remote.rediscover()
    assert.equal(plain.remote.status().fetches, 1)

    const never = await started(rig(t, null, { discovery: dataUrl('not json') }))
    await never.remote.rediscover()
    assert.deepEqual([never.located.count, never.remote.status().fetches], [1, 1])

    const closed = await started(rig(t, null, { discovery: setUrl(jwksOf(k1)) }))
    closed.remote.close()
    await closed.remote.rediscover()
    assert.deepEqual([closed.located.count, closed.remote.status().fetches], [1, 1])
  })

  it('the same address: discovery runs, no keys are fetched, the keys stay', async (t) => {
    const r = await started(rig(t, null, { discovery: setUrl(jwksOf(k1)) }))
    r.clock = T0 + 5000
    await r.remote.rediscover()
    assert.equal(r.located.count, 2)
    assert.deepEqual(r.remote.status(), { url: r.address.href, fetches: 2, failures: 0, lastSuccessAt: T0, lastError: null })
    assert.equal(await r.has('k1'), true)
  })

  it('after the first success, a fetch reads the known address without discovery', async (t) => {
    const r = await started(rig(t, null, { discovery: setUrl(jwksOf(k1)) }))
    r.clock = T0 + 5000
    await r.remote.refresh()
    assert.equal(r.located.count, 1)
    assert.equal(r.remote.status().lastSuccessAt, T0 + 5000)
  })

  it('a new address: its keys replace the old ones, and a dropped kid is reported once', async (t) => {
    const r = await started(rig(t, null, { discovery: setUrl(jwksOf(k1, k2)) }))
    r.address = setUrl(jwksOf(k2))
    r.clock = T0 + 5000
    await r.remote.rediscover()
    assert.deepEqual(r.remote.status(), { url: r.address.href, fetches: 2, failures: 0, lastSuccessAt: T0 + 5000, lastError: null })
    assert.equal(r.removed, 1)
    assert.equal(await r.has('k2'), true)
    assert.equal(await r.has('k1'), false)
    // Keys added, none dropped: nothing to forget.
    r.address = setUrl(jwksOf(k2, k3))
    await r.remote.rediscover()
    assert.equal(r.removed, 1)
    assert.equal(await r.has('k3'), true)
  })

  it('a new address that fails: the old address and keys stay, and the failure is counted', async (t) => {
    const first = setUrl(jwksOf(k1))
    const r = await started(rig(t, null, { discovery: first }))
    r.address = dataUrl('not json')
    await r.remote.rediscover()
    assert.deepEqual(r.remote.status(), { url: first.href, fetches: 2, failures: 1, lastSuccessAt: T0, lastError: 'answered with a body that is not JSON' })
    assert.equal(await r.has('k1'), true)
    assert.equal(r.removed, 0)
  })

  it('runs after a fetch already under way, which used the known address', async (t) => {
    const r = await started(rig(t, null, { discovery: setUrl(jwksOf(k1)) }))
    r.address = setUrl(jwksOf(k2))
    await Promise.all([r.remote.refresh(), r.remote.rediscover()])
    assert.equal(r.located.count, 2)
    assert.equal(r.remote.status().fetches, 3)
    assert.equal(await r.has('k2'), true)
  })
})

describe('RemoteJwks: the background refresh (timers mocked)', () => {
  // A timer's refresh counts its fetch at once; `until` lets that fetch finish (bounded).
  async function until(done: () => boolean): Promise<void> {
    for (let i = 0; i < 500 && !done(); i++) await turn()
    assert.ok(done(), 'the fetch did not finish')
  }
  const failures = (r: Rig, n: number) => until(() => r.remote.status().failures === n)
  const succeeded = (r: Rig, at: number) => until(() => r.remote.status().lastSuccessAt === at)
  /** The next refresh fetches after exactly `ms` more of timer time, not a millisecond sooner, and succeeds at clock `at`. */
  async function refetchesAfter(t: TestContext, r: Rig, ms: number, at: number, why?: string): Promise<void> {
    const before = r.remote.status().fetches
    t.mock.timers.tick(ms - 1)
    assert.equal(r.remote.status().fetches, before, why)
    r.clock = at
    t.mock.timers.tick(1)
    assert.equal(r.remote.status().fetches, before + 1)
    await succeeded(r, at)
  }

  it('refetches every cacheMs after a success', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const r = await started(rig(t, setUrl(jwksOf(k1)), { cacheMs: 50_000 }))
    await refetchesAfter(t, r, 50_000, T0 + 50_000)
    await refetchesAfter(t, r, 50_000, T0 + 100_000)
    assert.equal(r.remote.status().fetches, 3)
  })

  it('after a failure, tries again after the backoff (never later than cacheMs)', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const r = await started(rig(t, dataUrl('not json'), { cacheMs: 50_000, cooldownMs: 20_000 }))
    const steps: [number, number][] = [
      [20_000, 2], // backoff: the cooldown
      [40_000, 3], // doubled
      [50_000, 4], // 80 s, but at least every cacheMs
    ]
    for (const [wait, fetches] of steps) {
      t.mock.timers.tick(wait - 1)
      assert.equal(r.remote.status().fetches, fetches - 1, `${wait - 1} ms after failure ${fetches - 1}`)
      t.mock.timers.tick(1)
      assert.equal(r.remote.status().fetches, fetches, `${wait} ms after failure ${fetches - 1}`)
      await failures(r, fetches)
    }
  })

  it('a refresh refused by the cap runs when the oldest fetch of the minute ages out', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const r = await started(rig(t, setUrl(jwksOf(k1)), { maxFetchesPerMinute: 1 }))
    r.clock = T0 + 20_000
    await r.remote.refresh()
    assert.equal(r.remote.status().fetches, 1)
    await refetchesAfter(t, r, 40_000, T0 + 60_000)
  })

  it('a rediscovery of the same address keeps the refresh at its time', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const r = await started(rig(t, null, { discovery: setUrl(jwksOf(k1)), cacheMs: 50_000 }))
    r.clock = T0 + 30_000
    t.mock.timers.tick(30_000)
    await r.remote.rediscover()
    assert.equal(r.remote.status().fetches, 2)
    await refetchesAfter(t, r, 20_000, T0 + 50_000)
  })

  it('a fetch in between re-arms the refresh from its own end: one timer, not two', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const r = await started(rig(t, setUrl(jwksOf(k1)), { cacheMs: 50_000 }))
    t.mock.timers.tick(10_000)
    r.clock = T0 + 10_000
    await r.remote.refresh()
    assert.equal(r.remote.status().fetches, 2)
    await refetchesAfter(t, r, 50_000, T0 + 60_000, 'the timer of the first fetch is gone')
  })

  it('stops once closed', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const r = await started(rig(t, setUrl(jwksOf(k1)), { cacheMs: 50_000 }))
    r.remote.close()
    t.mock.timers.tick(100_000)
    assert.equal(r.remote.status().fetches, 1)
  })
})

describe('readCapped and the defaults', () => {
  it('reads an empty body as no bytes', async () => {
    assert.equal((await readCapped(new Response(null), 10)).byteLength, 0)
    assert.deepEqual([...(await readCapped(new Response('abc'), 3))], [0x61, 0x62, 0x63])
    await assert.rejects(readCapped(new Response('abcd'), 3), { message: 'answered with more than 3 bytes' })
  })

  it('are the documented ones (README limits, attack #94)', () => {
    assert.deepEqual({ ...JWKS_DEFAULTS }, { fetchTimeoutMs: 5000, maxJwksBytes: 512 * 1024, maxBackoffMs: 5 * 60 * 1000, maxFetchesPerMinute: 10 })
    assert.ok(Object.isFrozen(JWKS_DEFAULTS))
  })
})
