// The token service's keys (SPEC §6): the JWKS document (attack #92), no
// CORS on any token-service answer, a second Gatehouse (a real child process
// `node dist/main.js serve` as the issuer) accepting the first one's tokens through
// that JWKS, key rotation (reload and SIGHUP) with and without a grace key, and
// the generated key surviving a restart.
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { decodeProtectedHeader, SignJWT, importPKCS8 } from 'jose'
import { stringify } from 'yaml'
import { pollUntil, serveConfig, startServe, type ServeProcess } from '../support/gatehouse-process.js'
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js'
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js'
import {
  apiKey,
  basic,
  bearer,
  CLIENTS,
  defaultClients,
  defaultUsers,
  startTokenService,
  writeAtomically,
  type TokenServiceFixture,
} from '../support/token-service.js'
import { request } from '../support/http.js'

type KeyKind = 'rsa' | 'ec' | 'ed25519'
function privatePem(kind: KeyKind): string {
  const pair =
    kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : kind === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519')
  return pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']
type Jwk = Record<string, unknown> & { kid: string; alg: string }

async function jwksOf(ts: TokenServiceFixture): Promise<Jwk[]> {
  const r = await ts.service('GET', '/.well-known/jwks.json')
  assert.equal(r.status, 200, r.text)
  return r.json.keys as Jwk[]
}

async function statusWith(ts: TokenServiceFixture | { base: string }, token: string, method = 'GET'): Promise<number> {
  return (await request(`${ts.base}/api/v1/users/1`, { method, headers: bearer(token) })).status
}

describe('the JWKS document (#92)', () => {
  let ts: TokenServiceFixture
  before(async () => {
    ts = await startTokenService({
      issuer: { signingKeyFile: './jwt-key.pem', previousKeyFiles: ['./old-key.pem'] },
      files: { 'jwt-key.pem': privatePem('rsa'), 'old-key.pem': privatePem('ec') },
    })
  })
  after(() => ts.close())

  test('is public: no credentials needed, served as application/jwk-set+json', async () => {
    const r = await ts.service('GET', '/.well-known/jwks.json')
    assert.equal(r.status, 200)
    assert.match(r.headers.get('content-type') ?? '', /^application\/jwk-set\+json/)
  })

  test('lists the current key first, then the previous one, each with kid, alg and use, and only public members', async () => {
    const keys = await jwksOf(ts)
    assert.deepEqual(
      keys.map((k) => [k.kty, k.alg]),
      [
        ['RSA', 'RS256'],
        ['EC', 'ES256'],
      ],
    )
    for (const k of keys) {
      assert.match(k.kid, /^[A-Za-z0-9_-]{43}$/, 'an RFC 7638 SHA-256 thumbprint')
      assert.equal(k.use, 'sig')
      for (const m of PRIVATE_MEMBERS) assert.equal(k[m], undefined, `${k.kty} key publishes private member ${m}`)
    }
    assert.deepEqual(Object.keys(keys[0] as Jwk).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use'])
    assert.deepEqual(Object.keys(keys[1] as Jwk).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'])
  })

  test('names the key that signs new tokens', async () => {
    const header = decodeProtectedHeader(await ts.issueJwt('bob'))
    const keys = await jwksOf(ts)
    assert.equal(header.kid, keys[0]?.kid)
    assert.equal(header.alg, 'RS256')
  })
})

describe('CORS (#92)', () => {
  let ts: TokenServiceFixture
  before(async () => {
    ts = await startTokenService()
  })
  after(() => ts.close())

  test('no token-service answer carries Access-Control-Allow-Origin, even to Origin: https://evil.example', async () => {
    const { key } = await ts.createKey('alice', { permissions: { users: 'r' } })
    const token = await ts.issueJwt('alice')
    const evil = { origin: 'https://evil.example' }
    const json = { ...evil, 'content-type': 'application/json' }
    const form = { ...evil, 'content-type': 'application/x-www-form-urlencoded' }
    const requests: [string, string, Record<string, string>, string?][] = [
      ['POST', '/v1/auth/jwt', { ...json, ...basic('alice') }, '{"permissions":{}}'],
      ['POST', '/v1/auth/jwt', { ...json, ...basic('alice', 'wrong') }, '{"permissions":{}}'],
      ['POST', '/v1/auth/apikeys', { ...json, ...apiKey(key) }, '{"permissions":{}}'],
      ['GET', '/v1/auth/apikeys', { ...evil, ...basic('alice') }],
      ['POST', '/v1/auth/apikeys/delete', { ...json, ...basic('alice') }, '["AAAAAAAAAAAA"]'],
      ['POST', '/oauth/token', { ...form, ...basic(CLIENTS.billing.id, CLIENTS.billing.secret) }, 'grant_type=client_credentials'],
      ['POST', '/oauth/introspect', { ...form, ...basic('alice') }, `token=${token}`],
      ['GET', `/v1/auth/token-info?token=${token}`, { ...evil, ...basic('alice') }],
      ['GET', '/.well-known/jwks.json', evil],
      ['GET', '/openapi.json', evil],
      ['OPTIONS', '/v1/auth/jwt', { ...evil, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' }],
      ['OPTIONS', '/oauth/token', { ...evil, 'access-control-request-method': 'POST' }],
    ]
    for (const [method, p, headers, body] of requests) {
      const r = await ts.service(method, p, { headers, ...(body !== undefined ? { body } : {}) })
      const cors = [...r.headers.keys()].filter((h) => h.startsWith('access-control-'))
      assert.deepEqual(cors, [], `${method} ${p} (${r.status}) answers with ${cors.join(', ')}`)
      if (method === 'OPTIONS') assert.ok(r.status >= 400, `a preflight is not approved (${method} ${p}: ${r.status})`)
    }
  })
})

describe('key rotation', () => {
  let ts: TokenServiceFixture
  const key1 = privatePem('ec')
  const key2 = privatePem('ed25519')
  before(async () => {
    ts = await startTokenService({ issuer: { signingKeyFile: './jwt-key.pem' }, files: { 'jwt-key.pem': key1 } })
  })
  after(() => ts.close())

  test('a new key file (then reload) makes old tokens 401 and new ones work; a previous key gives a grace period', async () => {
    const old = await ts.issueJwt('alice', { permissions: { users: 'r' } })
    const kid1 = (await jwksOf(ts))[0]?.kid
    assert.equal(await statusWith(ts, old), 200)

    await writeAtomically(path.join(ts.th.dir, 'jwt-key.pem'), key2)
    assert.equal(await ts.th.gh.reload(), true)
    assert.equal(await statusWith(ts, old), 401, 'a token of a key no longer configured is refused')
    const fresh = await ts.issueJwt('alice', { permissions: { users: 'r' } })
    assert.equal(decodeProtectedHeader(fresh).alg, 'EdDSA')
    assert.equal(await statusWith(ts, fresh), 200)
    const kid2 = (await jwksOf(ts))[0]?.kid
    assert.notEqual(kid2, kid1)
    assert.deepEqual((await jwksOf(ts)).map((k) => k.kid), [kid2])

    // Grace period: the old key kept for verification only.
    await writeFile(path.join(ts.th.dir, 'old-key.pem'), key1, { mode: 0o600 })
    await ts.writeConfig({ issuer: { signingKeyFile: './jwt-key.pem', previousKeyFiles: ['./old-key.pem'] } })
    assert.equal(await ts.th.gh.reload(), true)
    assert.equal(await statusWith(ts, old), 200, 'the previous key still verifies')
    assert.equal(await statusWith(ts, fresh), 200)
    assert.deepEqual((await jwksOf(ts)).map((k) => k.kid), [kid2, kid1])
    assert.equal(decodeProtectedHeader(await ts.issueJwt('alice')).kid, kid2, 'new tokens are signed with the current key only')

    // The grace period ends when the previous key is dropped.
    await ts.writeConfig({ issuer: { signingKeyFile: './jwt-key.pem' } })
    assert.equal(await ts.th.gh.reload(), true)
    assert.equal(await statusWith(ts, old), 401)
    assert.equal(await statusWith(ts, fresh), 200)
  })
})

describe('the generated signing key (no signingKeyFile)', () => {
  let data: string
  before(async () => {
    data = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-data-'))
  })
  after(() => rm(data, { recursive: true, force: true }))

  const inData = (dir: string) => ({ config: { store: { type: 'file', path: path.join(dir, 'apikeys.json') } } })

  test('survives a restart: a token issued before still works after', { timeout: 20_000 }, async () => {
    const first = await startTokenService(inData(data))
    let token: string
    let kid: string | undefined
    try {
      token = await first.issueJwt('alice', { permissions: { users: 'r' } })
      kid = (await jwksOf(first))[0]?.kid
      assert.equal(await statusWith(first, token), 200)
    } finally {
      await first.close()
    }
    const file = await stat(path.join(data, 'signing-key.pem'))
    assert.equal(file.mode & 0o077, 0, 'the generated key is readable by its owner only')

    const second = await startTokenService(inData(data))
    try {
      assert.equal((await jwksOf(second))[0]?.kid, kid, 'the same key after the restart')
      assert.equal(await statusWith(second, token), 200)
    } finally {
      await second.close()
    }

    // Control: a Gatehouse with a data folder of its own generates its own key and refuses the token.
    const elsewhere = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-data-'))
    const third = await startTokenService(inData(elsewhere))
    try {
      assert.notEqual((await jwksOf(third))[0]?.kid, kid)
      assert.equal(await statusWith(third, token), 401)
    } finally {
      await third.close()
      await rm(elsewhere, { recursive: true, force: true })
    }
  })
})

describe('a second Gatehouse trusting the first through its JWKS', () => {
  let dirA: string
  let a: ServeProcess
  let upstreamA: RecordingUpstream
  let upstreamB: RecordingUpstream
  let b: TestGatehouse
  const apis = [
    { name: 'users', prefixes: ['/api/v1/users'] },
    { name: 'sessions', prefixes: ['/api/v1/sessions'] },
  ]

  before(async () => {
    upstreamA = await startRecordingUpstream()
    upstreamB = await startRecordingUpstream()
    dirA = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-a-'))
    await writeFile(path.join(dirA, 'users.yaml'), stringify({ users: await defaultUsers() }))
    await writeFile(path.join(dirA, 'clients.yaml'), stringify({ clients: await defaultClients() }))
    await writeFile(path.join(dirA, 'jwt-key.pem'), privatePem('ec'), { mode: 0o600 })
    const configFile = path.join(dirA, 'gatehouse.yaml')
    await writeFile(
      configFile,
      stringify(
        serveConfig({
          upstream: { url: upstreamA.url },
          apis,
          issuer: { usersFile: './users.yaml', clientsFile: './clients.yaml', signingKeyFile: './jwt-key.pem' },
        }),
      ),
    )
    a = await startServe(['--config', configFile], { timeoutMs: 15_000 })
    b = await startTestGatehouse({
      upstream: { url: upstreamB.url },
      apis,
      jwt: {
        issuers: [
          {
            issuer: 'gatehouse',
            audience: 'gatehouse',
            jwksUri: `${a.proxyUrl}/_gatehouse/.well-known/jwks.json`,
            algorithms: ['ES256'],
            requiredType: 'at+jwt',
            jwksCooldownSeconds: 1,
          },
        ],
      },
    })
  })
  after(async () => {
    await b?.close()
    await a?.stop()
    await upstreamA?.close()
    await upstreamB?.close()
    await rm(dirA, { recursive: true, force: true })
  })

  async function issueAtA(body: Record<string, unknown> = { permissions: { users: 'rw' } }): Promise<string> {
    const res = await fetch(`${a.proxyUrl}/_gatehouse/v1/auth/jwt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...basic('alice') },
      body: JSON.stringify(body),
    })
    const json = (await res.json()) as { token: string }
    assert.equal(res.status, 200, JSON.stringify(json))
    return json.token
  }
  const atB = (token: string, method = 'GET') => statusWith({ base: b.url }, token, method)

  test("B accepts A's tokens, naming A's user and token to its upstream", async () => {
    const token = await issueAtA()
    const before = upstreamB.requests.length
    assert.equal(await atB(token, 'POST'), 200)
    const seen = upstreamB.requests[before]?.headers
    assert.equal(seen?.['x-auth-user'], 'alice')
    assert.equal(seen?.['x-auth-issuer'], 'gatehouse')
    assert.equal(seen?.['x-auth-method'], 'jwt')
    assert.equal(seen?.['x-auth-permissions'], 'users:rw')
    assert.equal(upstreamA.requests.length, 0, 'A proxied nothing')
  })

  test("B accepts A's client-credentials tokens too, and refuses what the token does not carry", async () => {
    const res = await fetch(`${a.proxyUrl}/_gatehouse/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...basic(CLIENTS.billing.id, CLIENTS.billing.secret) },
      body: 'grant_type=client_credentials&scope=users:r',
    })
    const { access_token } = (await res.json()) as { access_token: string }
    assert.equal(await atB(access_token), 200)
    assert.equal(await atB(access_token, 'POST'), 403)
  })

  test("B refuses a token naming A's issuer but signed by another key", async () => {
    const key = await importPKCS8(privatePem('ec'), 'ES256')
    const kid = decodeProtectedHeader(await issueAtA()).kid as string
    const now = Math.floor(Date.now() / 1000)
    for (const header of [{ alg: 'ES256', typ: 'at+jwt', kid }, { alg: 'ES256', typ: 'at+jwt', kid: 'another-kid' }]) {
      const forged = await new SignJWT({ permissions: { users: 'rw' } })
        .setProtectedHeader(header)
        .setIssuer('gatehouse')
        .setAudience('gatehouse')
        .setSubject('alice')
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(key)
      assert.equal(await atB(forged), 401)
    }
  })

  test('after A rotates its key (new file, SIGHUP): old tokens are 401 at A and at B, new ones work at both', { timeout: 20_000 }, async () => {
    const old = await issueAtA()
    assert.equal(await atB(old), 200)
    assert.equal(await statusWith({ base: a.proxyUrl }, old), 200)

    const reloads = () => a.logs().filter((l) => l.msg === 'configuration reloaded').length
    const before = reloads()
    await writeAtomically(path.join(dirA, 'jwt-key.pem'), privatePem('ec'))
    a.child.kill('SIGHUP')
    assert.notEqual(await pollUntil(async () => reloads() > before, 5000), null, 'A logs the reload')

    assert.equal(await statusWith({ base: a.proxyUrl }, old), 401, 'A refuses the old token')
    const fresh = await issueAtA()
    assert.notEqual(decodeProtectedHeader(fresh).kid, decodeProtectedHeader(old).kid)
    assert.equal(await statusWith({ base: a.proxyUrl }, fresh), 200)
    // B learns the new kid by refetching A's JWKS (at most once per cooldown of 1 s).
    assert.notEqual(await pollUntil(async () => (await atB(fresh)) === 200, 5000, 250), null, 'B accepts the new token')
    assert.equal(await atB(old), 401, 'B drops the old key with the refetched set')
  })
})
