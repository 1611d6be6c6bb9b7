// RemoteJwks without a socket (issue 19, mutation testing): the key sets are `data:` URLs
// (test/support/data-jwks.ts) and the clock that drives cooldown, backoff and the
// per-minute cap is injected. Expected values come from the README ("Remote JWKS are
// fetched at start … refetched for an unknown kid at most once per jwksCooldownSeconds …
// back off exponentially (up to 5 minutes)", the limits table: jwksFetchesPerMinute) and
// from the class's own contract in its doc comments. Rediscovery and the background
// refresh: remote-jwks-refresh.test.ts. A real IdP's sockets, status codes and timeouts:
// jwks.test.ts and rediscovery.test.ts.
import { strict as assert } from 'node:assert'
import { before, describe, it } from 'node:test'
import { errors } from 'jose'
import type { RemoteJwksTiming } from '../../../src/credentials/remote-jwks.js'
import { COOLDOWN, dataUrl, rig, setUrl, started, T0 } from '../../support/data-jwks.js'
import { jwksOf, makeKeyPair, type TestKey } from '../../support/mint.js'

let k1: TestKey
let k2: TestKey
before(async () => {
  k1 = await makeKeyPair('ES256', 'k1')
  k2 = await makeKeyPair('ES256', 'k2')
})


describe('RemoteJwks: the first fetch, status and readiness', () => {
  it('fetches nothing until started, then once however often it is started', async (t) => {
    const url = setUrl(jwksOf(k1))
    const r = rig(t, url)
    await r.remote.ready()
    assert.deepEqual(r.remote.status(), { url: url.href, fetches: 0, failures: 0, lastSuccessAt: null, lastError: null })
    assert.equal(r.remote.loaded, false)
    assert.equal(r.remote.discovered, false)
    await started(r)
    r.remote.start()
    await r.remote.ready()
    assert.deepEqual(r.remote.status(), { url: url.href, fetches: 1, failures: 0, lastSuccessAt: T0, lastError: null })
    assert.equal(r.remote.loaded, true)
    assert.equal(await r.has('k1'), true)
  })

  it('a discovery source has no address until one is found, and says it is discovered', async (t) => {
    const r = rig(t, null, { discovery: setUrl(jwksOf(k1)) })
    assert.equal(r.remote.discovered, true)
    assert.equal(r.remote.status().url, '')
    await started(r)
    assert.equal(r.remote.status().url, r.address.href)
    assert.equal(r.located.count, 1)
  })

  it('without an address and without discovery, the fetch fails as "no JWKS address"', async (t) => {
    const r = await started(rig(t, null))
    assert.deepEqual(r.remote.status(), { url: '', fetches: 1, failures: 1, lastSuccessAt: null, lastError: 'no JWKS address' })
    assert.deepEqual(r.fetchErrors, ['no JWKS address'])
  })

  it('a failed first discovery fetch still shows the address it tried', async (t) => {
    const bad = dataUrl('not json')
    const r = await started(rig(t, null, { discovery: bad }))
    assert.equal(r.remote.status().url, bad.href)
    assert.equal(r.remote.loaded, false)
  })

  it('names the reason of each kind of failed fetch, and never loads', async (t) => {
    const big = JSON.stringify({ keys: [], pad: 'x'.repeat(100) })
    const cases: [string, URL, Partial<RemoteJwksTiming>][] = [
      ['answered with a body that is not JSON', dataUrl('{"keys": ['), {}],
      // Not UTF-8 (RFC 8259 §8.1): a decoder that replaced the byte would read an empty, valid set.
      ['answered with a body that is not JSON', new URL('data:application/json,{"keys":[],"x":"%FF"}'), {}],
      ['answered with an invalid JWKS', dataUrl('{"keys": "k1"}'), {}],
      ['answered with an invalid JWKS', dataUrl('null'), {}],
      [`answered with more than ${big.length - 1} bytes`, dataUrl(big), { maxBytes: big.length - 1 }],
    ]
    for (const [reason, url, timing] of cases) {
      const r = await started(rig(t, url, timing))
      assert.deepEqual(r.remote.status(), { url: url.href, fetches: 1, failures: 1, lastSuccessAt: null, lastError: reason }, reason)
      assert.deepEqual(r.fetchErrors, [reason])
      assert.equal(r.remote.loaded, false)
    }
  })

  it('reads a body of exactly maxBytes', async (t) => {
    const body = JSON.stringify(jwksOf(k1))
    const r = await started(rig(t, dataUrl(body), { maxBytes: body.length }))
    assert.equal(r.remote.status().lastError, null)
    assert.equal(await r.has('k1'), true)
  })

  it('describes what locate or fetch threw, without more than its kind', async (t) => {
    const fetchFailed = (cause?: unknown) => new TypeError('fetch failed', cause === undefined ? {} : { cause })
    const cases: [unknown, string][] = [
      ['a string', 'failed'],
      [new DOMException('signal timed out', 'TimeoutError'), 'timed out'],
      [new DOMException('This operation was aborted', 'AbortError'), 'aborted'],
      [new errors.JWKSInvalid('JSON Web Key Set malformed'), 'answered with an invalid JWKS'],
      [fetchFailed({ code: 'ECONNREFUSED' }), 'fetch failed (ECONNREFUSED)'],
      [fetchFailed({ code: 61 }), 'fetch failed'],
      [fetchFailed(), 'fetch failed'],
      [new Error('discovery answered HTTP 503'), 'discovery answered HTTP 503'],
    ]
    for (const [thrown, reason] of cases) {
      const r = rig(t, null, {
        locate: async () => {
          throw thrown
        },
      })
      await started(r)
      assert.equal(r.remote.status().lastError, reason, String(thrown))
    }
  })

  it('a fetch cut by close() is not reported as a failure of the IdP', async (t) => {
    let located!: () => void
    const asked = new Promise<void>((resolve) => (located = resolve))
    const r = rig(t, null, {
      locate: (closed) =>
        new Promise((_, reject) => {
          located()
          closed.addEventListener('abort', () => reject(closed.reason))
        }),
    })
    r.remote.start()
    await asked
    r.remote.close()
    await r.remote.ready()
    assert.equal(r.remote.status().lastError, 'aborted')
    assert.deepEqual(r.fetchErrors, [])
    // Closed: nothing fetches any more.
    await r.remote.refresh()
    assert.equal(r.remote.status().fetches, 1)
  })
})

describe('RemoteJwks: unknown kids, cooldown and backoff (README: once per jwksCooldownSeconds, backing off)', () => {
  it('an unknown kid fetches again only once the cooldown since the last fetch has passed', async (t) => {
    const r = await started(rig(t, setUrl(jwksOf(k1))))
    r.clock = T0 + COOLDOWN - 1
    assert.equal(await r.has('ghost'), false)
    assert.equal(r.remote.status().fetches, 1)
    r.clock = T0 + COOLDOWN
    assert.equal(await r.has('ghost'), false)
    assert.equal(r.remote.status().fetches, 2)
    assert.equal(r.remote.status().lastSuccessAt, T0 + COOLDOWN)
    // A known kid never fetches.
    r.clock += 10 * COOLDOWN
    assert.equal(await r.has('k1'), true)
    assert.equal(r.remote.status().fetches, 2)
  })

  it('a kid that matches two keys is an error of the set, not a reason to fetch', async (t) => {
    const twice = { keys: [{ ...k1.publicJwk }, { ...k2.publicJwk, kid: 'k1' }] }
    const r = await started(rig(t, setUrl(twice)))
    r.clock += 10 * COOLDOWN
    await assert.rejects(Promise.resolve(r.remote.getKey({ alg: 'ES256', kid: 'k1' }, { payload: '', signature: '' })), errors.JWKSMultipleMatchingKeys)
    assert.equal(r.remote.status().fetches, 1)
  })

  it('with no set at all, an unknown kid is refused as "no JSON Web Key Set available"', async (t) => {
    const r = rig(t, dataUrl('[]'))
    await assert.rejects(Promise.resolve(r.remote.getKey({ alg: 'ES256', kid: 'k1' }, { payload: '', signature: '' })), {
      name: 'JWKSNoMatchingKey',
      message: 'no JSON Web Key Set available for this issuer',
    })
    assert.equal(r.remote.status().fetches, 1)
  })

  it('doubles the wait after each failure in a row up to maxBackoffMs, and a success resets it to the cooldown', async (t) => {
    const bad = dataUrl('not json')
    const good = setUrl(jwksOf(k1))
    const r = rig(t, null, { discovery: bad, maxBackoffMs: 3 * COOLDOWN })
    await started(r)
    const fetchesAt = async (ms: number): Promise<number> => {
      r.clock = ms
      await r.has('ghost')
      return r.remote.status().fetches
    }
    // Failure 1 at T0: wait one cooldown.
    assert.equal(await fetchesAt(T0 + COOLDOWN - 1), 1)
    assert.equal(await fetchesAt(T0 + COOLDOWN), 2)
    // Failure 2: two cooldowns.
    let last = T0 + COOLDOWN
    assert.equal(await fetchesAt(last + 2 * COOLDOWN - 1), 2)
    assert.equal(await fetchesAt(last + 2 * COOLDOWN), 3)
    // Failure 3: four cooldowns, capped at maxBackoffMs (three).
    last += 2 * COOLDOWN
    assert.equal(await fetchesAt(last + 3 * COOLDOWN - 1), 3)
    assert.equal(await fetchesAt(last + 3 * COOLDOWN), 4)
    last += 3 * COOLDOWN
    assert.equal(await fetchesAt(last + 3 * COOLDOWN - 1), 4)
    r.address = good
    assert.equal(await fetchesAt(last + 3 * COOLDOWN), 5)
    last += 3 * COOLDOWN
    assert.deepEqual(r.remote.status(), { url: good.href, fetches: 5, failures: 4, lastSuccessAt: last, lastError: null })
    assert.equal(r.fetchErrors.length, 4)
    // A failure after the success (a rediscovered address that answers garbage) waits one cooldown again.
    r.address = bad
    await r.remote.rediscover()
    assert.equal(r.remote.status().failures, 5)
    assert.equal(await fetchesAt(last + COOLDOWN - 1), 6)
    assert.equal(await fetchesAt(last + COOLDOWN), 7)
    assert.equal(r.remote.status().lastError, null, 'the refetch used the last good address')
  })
})

describe('RemoteJwks: at most jwksFetchesPerMinute fetches in any 60 s (README limits)', () => {
  it('refuses the fetch past the cap until the oldest of the minute has aged out', async (t) => {
    const r = await started(rig(t, setUrl(jwksOf(k1)), { maxFetchesPerMinute: 2 }))
    const fetchesAt = async (ms: number): Promise<number> => {
      r.clock = ms
      await r.remote.refresh()
      return r.remote.status().fetches
    }
    assert.equal(await fetchesAt(T0 + 1000), 2)
    assert.equal(await fetchesAt(T0 + 2000), 2, 'a third fetch within the minute')
    assert.equal(await fetchesAt(T0 + 59_999), 2)
    assert.equal(await fetchesAt(T0 + 60_000), 3, 'the fetch at T0 is a minute old')
    assert.equal(await fetchesAt(T0 + 60_999), 3, 'the fetch at T0 + 1 s is not')
    assert.equal(await fetchesAt(T0 + 61_000), 4)
    assert.equal(await fetchesAt(T0 + 62_000), 4, 'two fetches in the last two seconds')
    assert.equal(await fetchesAt(T0 + 120_000), 5)
  })

  it('an unknown kid past the cap is refused from the keys already there', async (t) => {
    const r = await started(rig(t, setUrl(jwksOf(k1)), { maxFetchesPerMinute: 1 }))
    r.clock = T0 + COOLDOWN
    assert.equal(await r.has('ghost'), false)
    assert.equal(await r.has('k1'), true)
    assert.equal(r.remote.status().fetches, 1)
  })

  it('without a cap, every refresh fetches', async (t) => {
    const r = await started(rig(t, setUrl(jwksOf(k1))))
    for (let i = 1; i <= 12; i++) {
      r.clock = T0 + i
      await r.remote.refresh()
    }
    assert.equal(r.remote.status().fetches, 13)
  })

  it('concurrent refreshes share one fetch', async (t) => {
    const r = await started(rig(t, setUrl(jwksOf(k1))))
    await Promise.all([r.remote.refresh(), r.remote.refresh(), r.remote.refresh()])
    assert.equal(r.remote.status().fetches, 2)
  })

  it('an unknown kid while a fetch is under way waits for it, even inside the cooldown', async (t) => {
    const r = await started(rig(t, null, { discovery: setUrl(jwksOf(k1)) }))
    r.address = setUrl(jwksOf(k1, k2))
    const rediscovered = r.remote.rediscover()
    for (let i = 0; i < 20 && r.remote.status().fetches === 1; i++) await Promise.resolve()
    assert.equal(r.remote.status().fetches, 2, 'the rediscovery fetch is under way')
    assert.equal(await r.has('k2'), true)
    await rediscovered
  })

  it('a dropped kid without an onKeysRemoved callback is no failure', async (t) => {
    const r = await started(rig(t, null, { discovery: setUrl(jwksOf(k1, k2)), onKeysRemoved: undefined }))
    r.address = setUrl(jwksOf(k2))
    await r.remote.rediscover()
    assert.deepEqual([r.remote.status().failures, r.remote.status().lastError, r.remote.status().url], [0, null, r.address.href])
  })
})
