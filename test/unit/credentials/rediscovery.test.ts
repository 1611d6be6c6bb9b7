// SPEC §12 "Discovery runs at start and on reload": a discovery RemoteJwks that a
// reload keeps reads the metadata again. Against a real loopback IdP (metadata and
// two JWKS addresses): the same jwks_uri fetches no keys; a new one is followed and
// its keys used, the old keys staying until its set is fetched; a failure keeps the
// last good keys and address and is counted. The clock (cooldown, backoff) is injected.
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { before, describe, it, type TestContext } from 'node:test'
import { jwtVerify, type JSONWebKeySet } from 'jose'
import { discoverJwksUri } from '../../../src/credentials/discovery.js'
import { RemoteJwks } from '../../../src/credentials/remote-jwks.js'
import { jwksOf, makeKeyPair, mintJwt, type TestKey } from '../../support/mint.js'

interface Idp {
  readonly issuer: string
  /** The jwks_uri the metadata names, as a path on this server. */
  jwksPath: string
  /** path -> set served with 200; any other path is 404, `/broken` 500. */
  readonly sets: Record<string, JSONWebKeySet>
  /** Requests per path. */
  readonly hits: Map<string, number>
  /** The accept and user-agent headers of the last request per path. */
  readonly heard: Map<string, [string | undefined, string | undefined]>
  stop(): Promise<void>
}

async function startIdp(t: TestContext): Promise<Idp> {
  const hits = new Map<string, number>()
  const heard = new Map<string, [string | undefined, string | undefined]>()
  let server: Server | null = null
  const idp: Idp = {
    issuer: '',
    jwksPath: '/keys-a',
    sets: {},
    hits,
    heard,
    stop: async () => {
      const s = server
      server = null
      if (s === null) return
      s.closeAllConnections()
      await new Promise<void>((resolve) => s.close(() => resolve()))
    },
  }
  server = createServer((req, res) => {
    const path = req.url ?? ''
    hits.set(path, (hits.get(path) ?? 0) + 1)
    heard.set(path, [req.headers.accept, req.headers['user-agent']])
    if (path === '/empty') {
      res.writeHead(204).end()
      return
    }
    if (path === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: idp.issuer, jwks_uri: `${idp.issuer}${idp.jwksPath}` }))
      return
    }
    const set = idp.sets[path]
    res.writeHead(set !== undefined ? 200 : path === '/broken' ? 500 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(set ?? {}))
  })
  const s = server
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  Object.assign(idp, { issuer: `http://127.0.0.1:${(s.address() as AddressInfo).port}` })
  t.after(() => idp.stop())
  return idp
}

interface Rig {
  readonly idp: Idp
  readonly remote: RemoteJwks
  readonly errors: string[]
  removed: number
  advance(seconds: number): void
  /** Whether a token signed by `key` verifies with the remote's keys. */
  accepts(key: TestKey): Promise<boolean>
}

async function rig(t: TestContext, initial: readonly TestKey[]): Promise<Rig> {
  const idp = await startIdp(t)
  idp.sets['/keys-a'] = jwksOf(...initial)
  let clock = Date.now()
  const errors: string[] = []
  const r: Rig = {
    idp,
    errors,
    removed: 0,
    advance: (seconds) => {
      clock += seconds * 1000
    },
    accepts: async (key) => {
      const nowS = Math.floor(clock / 1000)
      const token = await mintJwt({ iss: idp.issuer, sub: 'alice', iat: nowS, exp: nowS + 300 }, key)
      try {
        await jwtVerify(token, r.remote.getKey, { issuer: idp.issuer, algorithms: ['RS256'], currentDate: new Date(clock) })
        return true
      } catch {
        return false
      }
    },
    remote: new RemoteJwks(null, {
      now: () => clock,
      cacheMs: 300_000,
      cooldownMs: 30_000,
      maxBackoffMs: 300_000,
      fetchTimeoutMs: 2000,
      maxBytes: 64 * 1024,
      onKeysRemoved: () => {
        r.removed++
      },
      onFetchError: (reason) => errors.push(reason),
      locate: (closed) => discoverJwksUri(idp.issuer, { fetchTimeoutMs: 2000, maxBytes: 64 * 1024 }, closed),
    }),
  }
  t.after(() => r.remote.close())
  r.remote.start()
  await r.remote.ready()
  assert.equal(r.remote.status().url, `${idp.issuer}/keys-a`)
  return r
}

const DOC = '/.well-known/openid-configuration'

let k1: TestKey
let k2: TestKey
before(async () => {
  k1 = await makeKeyPair('RS256', 'k1')
  k2 = await makeKeyPair('RS256', 'k2')
})

describe('RemoteJwks.rediscover (SPEC §12: discovery on reload)', () => {
  it('the same jwks_uri: the metadata is read again, no keys are fetched, the keys stay', async (t) => {
    const r = await rig(t, [k1])
    assert.deepEqual([r.idp.hits.get(DOC), r.idp.hits.get('/keys-a')], [1, 1])
    await r.remote.rediscover()
    assert.equal(r.idp.hits.get(DOC), 2, 'discovery ran again')
    assert.equal(r.idp.hits.get('/keys-a'), 1, 'no keys fetched for an unchanged address')
    assert.equal(r.remote.status().url, `${r.idp.issuer}/keys-a`)
    assert.equal(r.remote.status().failures, 0)
    assert.equal(await r.accepts(k1), true)
  })

  it('a new jwks_uri is followed: keys only there are accepted after, and were refused before', async (t) => {
    const r = await rig(t, [k1])
    r.idp.sets['/keys-b'] = jwksOf(k2)
    r.idp.jwksPath = '/keys-b'
    // Past the cooldown an unknown kid refetches, but from the address found at start.
    r.advance(60)
    assert.equal(await r.accepts(k2), false, 'refused before the rediscovery')
    assert.equal(r.idp.hits.get('/keys-a'), 2)
    assert.equal(r.idp.hits.get('/keys-b'), undefined)
    await r.remote.rediscover()
    assert.equal(r.idp.hits.get('/keys-b'), 1)
    assert.equal(r.remote.status().url, `${r.idp.issuer}/keys-b`)
    assert.equal(await r.accepts(k2), true, 'accepted after the rediscovery')
    // k1 is not published at the new address: it is dropped, and the verified cache told.
    assert.equal(await r.accepts(k1), false)
    assert.equal(r.removed, 1)
  })

  it('a new jwks_uri whose set cannot be fetched: the old address and keys stay, the failure is counted', async (t) => {
    const r = await rig(t, [k1])
    r.idp.jwksPath = '/broken'
    await r.remote.rediscover()
    assert.equal(r.idp.hits.get('/broken'), 1)
    assert.equal(r.remote.status().url, `${r.idp.issuer}/keys-a`)
    assert.equal(r.remote.status().failures, 1)
    assert.deepEqual(r.errors, ['answered HTTP 500'])
    assert.equal(await r.accepts(k1), true)
    assert.equal(r.removed, 0)
  })

  it('the IdP down: the last good keys and address stay, the failure is counted and reported', async (t) => {
    const r = await rig(t, [k1])
    await r.idp.stop()
    await r.remote.rediscover()
    const status = r.remote.status()
    assert.equal(status.url, `${r.idp.issuer}/keys-a`)
    assert.equal(status.failures, 1)
    assert.match(status.lastError ?? '', /^fetch failed/)
    assert.equal(r.errors.length, 1)
    assert.equal(r.errors[0], status.lastError)
    assert.equal(r.remote.loaded, true)
    assert.equal(await r.accepts(k1), true)
  })

  it('runs after a fetch already under way, not inside it', async (t) => {
    const r = await rig(t, [k1])
    r.idp.sets['/keys-b'] = jwksOf(k2)
    const refreshing = r.remote.refresh()
    r.idp.jwksPath = '/keys-b'
    await Promise.all([refreshing, r.remote.rediscover()])
    assert.equal(r.idp.hits.get('/keys-a'), 2, 'the refresh under way used the known address')
    assert.equal(r.idp.hits.get(DOC), 2, 'then discovery ran once more')
    assert.equal(await r.accepts(k2), true)
  })

  it('asks for a JWK Set (RFC 7517 §8.5.1) as gatehouse; an answer without a body is a failed fetch', async (t) => {
    const r = await rig(t, [k1])
    assert.deepEqual(r.idp.heard.get('/keys-a'), ['application/jwk-set+json, application/json', 'gatehouse'])
    assert.deepEqual(r.idp.heard.get(DOC), ['application/json', 'gatehouse'])
    r.idp.jwksPath = '/empty'
    await r.remote.rediscover()
    assert.deepEqual(r.errors, ['answered HTTP 204'])
    assert.equal(await r.accepts(k1), true)
  })
})
