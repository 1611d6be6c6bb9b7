// The verifier's bookkeeping of its remote JWKS (SPEC §12 readiness, README "JWT issuers"):
// fetched at start unless told not to, ready once each first attempt ended, refetched on
// refreshNow, closed with the verifier unless a pool keeps it, failures reported with the
// issuer. The IdP is an address nothing listens on (loopback port 9, refused at once), so
// every fetch fails fast; the clock is frozen. Also the default token size limit (16 KiB).
import { strict as assert } from 'node:assert'
import { createHmac } from 'node:crypto'
import { describe, it } from 'node:test'
import type { IssuerConfig } from '../../../src/config/schema.js'
import { createJwksPool } from '../../../src/credentials/jwks-pool.js'
import { compileJwtVerifier, type JwtVerifier, type JwtVerifierOptions } from '../../../src/credentials/verify-jwt.js'

const NOW = 1_900_000_000
const SECRET = 'a-32-byte-secret-for-hs256-tests!'
const DOWN = 'http://127.0.0.1:9'
const hs: IssuerConfig = { issuer: 'idp', secretEnv: 'S', algorithms: ['HS256'], jwksCacheSeconds: 300, jwksCooldownSeconds: 30 }
const listed: IssuerConfig = { issuer: 'listed', jwksUri: `${DOWN}/jwks`, jwksCacheSeconds: 300, jwksCooldownSeconds: 30 }
const found: IssuerConfig = { issuer: `${DOWN}/realm`, discovery: true, jwksCacheSeconds: 300, jwksCooldownSeconds: 30 }

async function verifierOf(issuers: IssuerConfig[], opts: Partial<JwtVerifierOptions> = {}): Promise<JwtVerifier> {
  const r = await compileJwtVerifier(issuers, { leewaySeconds: 30, now: () => NOW * 1000, env: { S: SECRET }, fetchTimeoutMs: 2000, ...opts })
  if (!r.ok) assert.fail(JSON.stringify(r.problems))
  return r.verifier
}
const fetches = (v: JwtVerifier) => v.stats().map((s) => [s.issuer, s.fetches])

describe('the verifier and its remote JWKS', () => {
  it('fetches each remote set at compile, ready once every first attempt ended; refreshNow fetches again', async () => {
    const errors: [string, string][] = []
    const v = await verifierOf([hs, listed, found], { onJwksFetchError: (issuer, reason) => errors.push([issuer, reason]) })
    await v.ready()
    assert.deepEqual(fetches(v), [['listed', 1], [found.issuer, 1]])
    for (const s of v.stats()) assert.match(s.lastError ?? '', /^fetch failed/)
    assert.deepEqual(errors.map(([issuer]) => issuer).sort(), [found.issuer, 'listed'].sort())
    await v.refreshNow()
    assert.deepEqual(fetches(v), [['listed', 2], [found.issuer, 2]])
    v.close()
    await v.refreshNow()
    assert.deepEqual(fetches(v), [['listed', 2], [found.issuer, 2]], 'closed: nothing fetches')
  })

  it('fetchKeys: false compiles without fetching', async () => {
    const v = await verifierOf([listed], { fetchKeys: false })
    await v.ready()
    assert.deepEqual(fetches(v), [['listed', 0]])
    v.close()
  })

  it('keysLoaded: a discovery issuer always waits for its keys, a jwksUri issuer only when all are asked for', async () => {
    const v = await verifierOf([hs, listed, found], { fetchKeys: false })
    assert.deepEqual([v.keysLoaded(false), v.keysLoaded(true)], [false, false])
    v.close()
    const plain = await verifierOf([hs, listed], { fetchKeys: false })
    assert.deepEqual([plain.keysLoaded(false), plain.keysLoaded(true)], [true, false])
    plain.close()
  })

  it('a pooled remote outlives the verifier: the pool closes it, with the README defaults in its key', async () => {
    const pool = createJwksPool()
    const v = await verifierOf([hs, listed], { jwksPool: pool, fetchKeys: false })
    assert.equal(v.poolKeys.length, 1)
    // [issuer, address, cache ms, cooldown ms, max backoff ms, fetch timeout ms, max bytes, fetches a minute]
    assert.deepEqual(JSON.parse(v.poolKeys[0] ?? ''), ['listed', `${DOWN}/jwks`, 300_000, 30_000, 300_000, 2000, 512 * 1024, 10])
    v.close()
    await v.refreshNow()
    assert.deepEqual(fetches(v), [['listed', 1]], 'still open after the verifier closed')
    pool.closeAll()
    await v.refreshNow()
    assert.deepEqual(fetches(v), [['listed', 1]])
  })
})

describe('the default token size limit', () => {
  it('a token of 16 KiB is read, one character more is malformed', async () => {
    const v = await verifierOf([hs])
    const mint = (pad: number) => {
      const b64u = (x: unknown) => Buffer.from(JSON.stringify(x)).toString('base64url')
      const input = `${b64u({ alg: 'HS256' })}.${b64u({ iss: 'idp', sub: 'alice', exp: NOW + 60, pad: 'x'.repeat(pad) })}`
      return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`
    }
    let pad = 16 * 1024 - mint(0).length
    while (mint(pad).length < 16 * 1024) pad++
    while (mint(pad).length > 16 * 1024) pad--
    const token = mint(pad)
    assert.equal(token.length, 16 * 1024)
    assert.ok((await v.verify(token)).ok)
    const longer = [mint(pad + 1), mint(pad + 2), mint(pad + 3)].find((t) => t.length === 16 * 1024 + 1)
    const r = await v.verify(longer ?? `${token}A`)
    assert.deepEqual(r.ok ? r : [r.reason, r.detail], ['credential_malformed', 'not a compact JWS'])
  })
})
