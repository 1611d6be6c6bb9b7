// A real OpenID provider (the npm package oidc-provider, in-process on loopback)
// in front of Gatehouse with `discovery: true` (SPEC §9, §12): its client-credentials
// JWT access tokens get exactly what the scopeMap grants; a discovery document naming
// another issuer is refused with a clear error; a key rotation is picked up; the
// provider down at start and then up is handled; a reload keeps the last good keys,
// and re-runs discovery, following a jwks_uri the provider moved.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startOidcIdp, type OidcIdp } from '../support/oidc-idp.js'
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js'
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js'
import { waitFor } from '../support/wait.js'
import { request } from '../support/http.js'

const APIS = [
  { name: 'users', prefixes: ['/api/v1/users'] },
  { name: 'sessions', prefixes: ['/api/v1/sessions'] },
]

const OPENID_DOC = '/.well-known/openid-configuration'
const JWKS_FAILED = 'JWKS fetch failed; the last good keys stay in use'

function issuerEntry(issuer: string, over: Record<string, unknown> = {}) {
  return {
    issuer,
    discovery: true,
    audience: 'legacy-api',
    algorithms: ['RS256'],
    requiredType: 'at+jwt',
    scopeMap: { 'users.read': { users: 'r' }, 'users.write': { users: 'rw' } },
    jwksCooldownSeconds: 1,
    jwksCacheSeconds: 300,
    ...over,
  }
}

function configFor(upstream: RecordingUpstream, issuers: unknown[]) {
  return { upstream: { url: upstream.url }, apis: APIS, jwt: { issuers } }
}

async function get(gh: TestGatehouse, path: string, token: string, method = 'GET') {
  return (await request(`${gh.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } })).status
}

async function readyz(gh: TestGatehouse): Promise<number> {
  return (await request(`${gh.adminUrl}/readyz`)).status
}

let upstream: RecordingUpstream
before(async () => {
  upstream = await startRecordingUpstream()
})
after(() => upstream.close())

describe('discovery with a running provider', () => {
  let idp: OidcIdp
  let gh: TestGatehouse
  let skewMs = 0
  before(async () => {
    idp = await startOidcIdp()
    gh = await startTestGatehouse(configFor(upstream, [issuerEntry(idp.issuer)]), { now: () => Date.now() + skewMs })
  })
  after(async () => {
    await gh.close()
    await idp.stop()
  })

  test('its tokens get exactly what the scopeMap grants, and the ready check passes', async () => {
    assert.equal(await readyz(gh), 200)
    const token = await idp.token('users.read sessions.read')
    const seen = upstream.requests.length
    assert.equal(await get(gh, '/api/v1/users/7', token), 200)
    const forwarded = upstream.requests.at(-1)
    assert.equal(forwarded?.headers['x-auth-user'], 'batch')
    assert.equal(forwarded?.headers['x-auth-issuer'], idp.issuer)
    // sessions.read is not in the scopeMap: it grants nothing.
    assert.equal(forwarded?.headers['x-auth-permissions'], 'users:r')
    assert.equal(await get(gh, '/api/v1/users/7', token, 'POST'), 403)
    assert.equal(await get(gh, '/api/v1/sessions', token), 403)
    assert.equal(upstream.requests.length, seen + 1, 'the refused requests never reached the upstream')
    const writer = await idp.token('users.write')
    assert.equal(await get(gh, '/api/v1/users/7', writer, 'POST'), 200)
  })

  test('a key rotation at the provider is picked up', async () => {
    await idp.rotate()
    const token = await idp.token('users.read')
    // The new kid is unknown: one refetch once the cooldown (1 s, on Gatehouse's clock) has passed.
    skewMs += 2_000
    assert.equal(await get(gh, '/api/v1/users', token), 200)
  })

  test('a reload with the same key source rediscovers but fetches no keys; with the provider down its tokens still pass', async () => {
    const token = await idp.token('users.read')
    assert.equal(await get(gh, '/api/v1/users', token), 200)
    const fetches = idp.jwksRequests
    const docs = idp.requestsFor(OPENID_DOC)
    assert.equal(await gh.gh.reload(), true)
    await waitFor(async () => idp.requestsFor(OPENID_DOC) > docs, 10_000, 'the reload read the discovery document again', 100)
    assert.equal(idp.jwksRequests, fetches, 'an unchanged jwks_uri is not fetched again on reload')
    await idp.stop()
    const failures = gh.gh.runtime().jwt.stats()[0]?.failures ?? 0
    assert.equal(await gh.gh.reload(), true)
    // The reload cleared the verified-token cache: this is a real verification with the kept keys.
    assert.equal(await get(gh, '/api/v1/users', token), 200)
    assert.equal(await readyz(gh), 200)
    // The failed rediscovery is counted and logged like a failed fetch; the keys stay.
    await waitFor(async () => (gh.gh.runtime().jwt.stats()[0]?.failures ?? 0) > failures, 10_000, 'the failed rediscovery is counted', 100)
    assert.ok(gh.logs().some((l) => l.msg === JWKS_FAILED && l.issuer === idp.issuer), 'the failed rediscovery is logged')
    assert.equal(await get(gh, '/api/v1/users', token), 200)
    await idp.start()
  })

  test('a reload that changes the key source fetches anew; failures are logged with the reason and counted', async () => {
    const token = await idp.token('users.read')
    await idp.stop()
    await gh.writeConfig(configFor(upstream, [issuerEntry(idp.issuer, { jwksCacheSeconds: 600 })]))
    // A minute later on Gatehouse's clock, so the log (one line a minute per issuer) takes this failure.
    skewMs += 60_000
    assert.equal(await gh.gh.reload(), true)
    // A new cache with the provider down has no keys yet.
    assert.equal(await get(gh, '/api/v1/users', token), 401)
    assert.equal(await readyz(gh), 503)
    const warned = gh.logs().filter((l) => l.msg === JWKS_FAILED && l.issuer === idp.issuer).at(-1)
    assert.ok(warned, 'the failure is logged')
    assert.match(String(warned.reason), /ECONNREFUSED/)
    const metrics = await (await fetch(`${gh.adminUrl}/metrics`)).text()
    assert.match(metrics, new RegExp(`gatehouse_jwks_fetch_failures_total\\{issuer="${idp.issuer}"\\} [1-9]`))
    await idp.start()
  })
})

test('a reload re-runs discovery: keys published only at a new jwks_uri are refused before it and accepted after', async () => {
  const idp = await startOidcIdp()
  let skewMs = 0
  const gh = await startTestGatehouse(configFor(upstream, [issuerEntry(idp.issuer)]), { now: () => Date.now() + skewMs })
  try {
    assert.equal(await get(gh, '/api/v1/users', await idp.token('users.read')), 200)
    // The provider signs with a new key, published only at /jwks-next, which its discovery
    // document now names; /jwks still answers with the old key set.
    await idp.moveJwks('/jwks-next')
    const token = await idp.token('users.read')
    const doc = (await (await fetch(`${idp.issuer}${OPENID_DOC}`)).json()) as { jwks_uri?: unknown }
    assert.equal(doc.jwks_uri, `${idp.issuer}/jwks-next`)
    // Past the cooldown the unknown kid refetches, but from the address discovered at start.
    skewMs += 2_000
    const seen = upstream.requests.length
    const oldFetches = idp.jwksRequests
    assert.equal(await get(gh, '/api/v1/users', token), 401)
    assert.equal(idp.jwksRequests, oldFetches + 1, 'the refusal came after a refetch of the old address')
    assert.equal(idp.requestsFor('/jwks-next'), 0)
    assert.equal(upstream.requests.length, seen, 'the refused request never reached the upstream')
    assert.equal(await gh.gh.reload(), true)
    // The rediscovery runs in the background of the reload.
    await waitFor(async () => (await get(gh, '/api/v1/users', token)) === 200, 10_000, 'accepted once the reload rediscovered', 100)
    assert.equal(idp.requestsFor('/jwks-next'), 1)
    assert.equal(gh.gh.runtime().jwt.stats()[0]?.url, `${idp.issuer}/jwks-next`)
  } finally {
    await gh.close()
    await idp.stop()
  }
})

test('a discovery document whose issuer differs is refused with a clear error', async () => {
  const idp = await startOidcIdp()
  // oidc-provider names itself without a trailing slash; the config says it with one.
  const configured = `${idp.issuer}/`
  const gh = await startTestGatehouse(configFor(upstream, [issuerEntry(configured)]))
  try {
    assert.equal(await readyz(gh), 503)
    const line = gh.logs().find((l) => l.issuer === configured && typeof l.reason === 'string')
    assert.ok(line, 'the refusal is logged')
    assert.equal(line.reason, `discovery document names "${idp.issuer}", not "${configured}": refused (mix-up defence)`)
    const stats = gh.gh.runtime().jwt.stats()
    assert.equal(stats[0]?.lastSuccessAt, null)
    assert.equal(idp.jwksRequests, 0, 'no key was fetched from the mismatched document')
  } finally {
    await gh.close()
    await idp.stop()
  }
})

test('the provider down at start, then up: not ready, then ready and its tokens pass', async () => {
  const idp = await startOidcIdp({ late: true })
  const gh = await startTestGatehouse(configFor(upstream, [issuerEntry(idp.issuer)]))
  try {
    assert.equal(await readyz(gh), 503)
    await idp.start()
    // Retries back off from the 1 s cooldown: 1 s, 2 s, 4 s…
    await waitFor(async () => (await readyz(gh)) === 200, 10_000, 'ready once the provider answers', 100)
    assert.equal(await get(gh, '/api/v1/users', await idp.token('users.write'), 'POST'), 200)
  } finally {
    await gh.close()
    await idp.stop()
  }
})

test('jwt.waitForKeys: /readyz waits for a jwksUri issuer too', async () => {
  const idp = await startOidcIdp({ late: true })
  const entry = { ...issuerEntry(idp.issuer), discovery: undefined, jwksUri: `${idp.issuer}/jwks` }
  delete entry.discovery
  const plain = await startTestGatehouse(configFor(upstream, [entry]))
  const waiting = await startTestGatehouse({ ...configFor(upstream, [entry]), jwt: { issuers: [entry], waitForKeys: true } })
  try {
    assert.equal(await readyz(plain), 200)
    assert.equal(await readyz(waiting), 503)
    await idp.start()
    await waitFor(async () => (await readyz(waiting)) === 200, 10_000, 'ready once the keys are fetched', 100)
  } finally {
    await plain.close()
    await waiting.close()
    await idp.stop()
  }
})
