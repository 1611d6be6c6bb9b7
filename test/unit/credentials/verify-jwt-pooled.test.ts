// Tokens of jwksUri and discovery issuers without a socket (issue 19, mutation testing):
// the verifier takes its remote caches from a JwksPool (serve's seam across reloads), and
// this pool hands out a real RemoteJwks whose set is a `data:` URL. SPEC §12: only the
// token service's own issuer — named like it, with no key source of its own — reads
// `client_id: gatehouse` as a login; every other issuer's client may be called that.
import { strict as assert } from 'node:assert'
import { before, describe, it, type TestContext } from 'node:test'
import type { IssuerConfig } from '../../../src/config/schema.js'
import type { JwksPool } from '../../../src/credentials/jwks-pool.js'
import { RemoteJwks } from '../../../src/credentials/remote-jwks.js'
import { compileJwtVerifier, type JwtVerifier, type JwtVerifierOptions } from '../../../src/credentials/verify-jwt.js'
import { setUrl } from '../../support/data-jwks.js'
import { jwksOf, makeKeyPair, mintJwt, type TestKey } from '../../support/mint.js'

const NOW = 1_900_000_000
const SECRET = 'a-32-byte-secret-for-hs256-tests!'
const D = { jwksCacheSeconds: 300, jwksCooldownSeconds: 30 }

let key: TestKey
before(async () => {
  key = await makeKeyPair('ES256', 'k1')
})

/** A pool whose every cache is one started RemoteJwks on a data: URL holding `key`. */
async function poolOf(t: TestContext): Promise<{ pool: JwksPool; remote: RemoteJwks }> {
  const remote = new RemoteJwks(setUrl(jwksOf(key)), { now: () => NOW * 1000, cacheMs: 300_000, cooldownMs: 30_000, maxBackoffMs: 300_000, fetchTimeoutMs: 2000, maxBytes: 64 * 1024 })
  t.after(() => remote.close())
  remote.start()
  await remote.ready()
  return { pool: { take: () => remote, retainOnly: () => {}, closeAll: () => remote.close() }, remote }
}

async function verifierOf(issuers: IssuerConfig[], opts: Partial<JwtVerifierOptions>): Promise<JwtVerifier> {
  const r = await compileJwtVerifier(issuers, { leewaySeconds: 30, now: () => NOW * 1000, env: { S: SECRET }, fetchKeys: false, ...opts })
  if (!r.ok) assert.fail(JSON.stringify(r.problems))
  return r.verifier
}
const claims = (iss: string, over: Record<string, unknown> = {}) => ({ iss, sub: 'alice', iat: NOW, exp: NOW + 60, ...over })

describe('issuers with remote keys, served from a pool', () => {
  it("a jwksUri or discovery issuer's client_id gatehouse is a client, even when named like the token service", async (t) => {
    const { pool } = await poolOf(t)
    const ownKeys = { issuer: 'https://own.example/', getKey: async () => key.publicKey, algorithms: ['ES256' as const] }
    const issuers: IssuerConfig[] = [
      { issuer: 'https://listed.example/', jwksUri: 'https://listed.example/jwks', algorithms: ['ES256'], ...D },
      { issuer: 'https://found.example/', discovery: true, algorithms: ['ES256'], ...D },
      { issuer: 'https://own.example/', jwksUri: 'https://own.example/jwks', algorithms: ['ES256'], ...D },
    ]
    const v = await verifierOf(issuers, { jwksPool: pool, ownKeys })
    for (const { issuer } of issuers) {
      const r = await v.verify(await mintJwt(claims(issuer, { client_id: 'gatehouse' }), key))
      assert.ok(r.ok, `${issuer}: ${JSON.stringify(r)}`)
      assert.equal(r.identity.clientId, 'gatehouse', issuer)
    }
  })

  it('a secretEnv issuer named like the token service is not it either', async () => {
    const ownKeys = { issuer: 'gh', getKey: async () => key.publicKey, algorithms: ['ES256' as const] }
    const v = await verifierOf([{ issuer: 'gh', secretEnv: 'S', algorithms: ['HS256'], ...D }], { ownKeys })
    const r = await v.verify(await mintJwt(claims('gh', { client_id: 'gatehouse' }), new TextEncoder().encode(SECRET), { alg: 'HS256' }))
    assert.ok(r.ok, JSON.stringify(r))
    assert.equal(r.identity.clientId, 'gatehouse')
  })

  it('keysLoaded: a loaded remote counts as loaded, whether all are asked for or not', async (t) => {
    const { pool } = await poolOf(t)
    const v = await verifierOf([{ issuer: 'https://listed.example/', jwksUri: 'https://listed.example/jwks', ...D }], { jwksPool: pool })
    assert.deepEqual([v.keysLoaded(true), v.keysLoaded(false)], [true, true])
    const found = await verifierOf([{ issuer: 'https://found.example/', discovery: true, ...D }], { jwksPool: pool })
    assert.deepEqual([found.keysLoaded(true), found.keysLoaded(false)], [true, true])
  })

  it('no claimHeaders configured: no claim becomes a header, whatever its name', async (t) => {
    const { pool } = await poolOf(t)
    const v = await verifierOf([{ issuer: 'https://listed.example/', jwksUri: 'https://listed.example/jwks', algorithms: ['ES256'], ...D }], { jwksPool: pool })
    const r = await v.verify(await mintJwt(claims('https://listed.example/', { S: 'x', t: 'y' }), key))
    assert.ok(r.ok, JSON.stringify(r))
    assert.equal(r.identity.claimHeaders, undefined)
  })

  it('leewaySeconds: the problem says what it must be', async () => {
    const r = await compileJwtVerifier([], { leewaySeconds: -1 })
    assert.deepEqual(r, { ok: false, problems: [{ path: 'jwt.leewaySeconds', message: 'must be a non-negative number' }] })
  })
})
