// POST /oauth/introspect (RFC 7662) and GET /v1/auth/token-info (SPEC §6) over real
// sockets: both need authentication (attack #90); anything expired,
// revoked, unknown, malformed or not the caller's is exactly {"active":false}
// whatever token_type_hint says (#91); JWTs and API keys alike.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { decodeJwt, importPKCS8, SignJWT } from 'jose'
import { generateApiKey } from '../../src/credentials/api-key.js'
import { apiKey, basic, bearer, CLIENTS, startTokenService, type TokenServiceFixture } from '../support/token-service.js'
import type { Reply } from '../support/http.js'

let ts: TokenServiceFixture
/** bob's JWT (users:r) and API key. */
let bobJwt: string
let bobKey: { key: string; id: string }
let aliceJwt: string
let billingToken: string
let reportingToken: string

const INACTIVE = '{"active":false}'
const nowSeconds = () => Math.floor(Date.now() / 1000)

/** Signs claims with the service's own generated key, as the service would (for tokens it would never issue now). */
async function forge(claims: Record<string, unknown>, typ = 'at+jwt'): Promise<string> {
  const pem = await readFile(path.join(ts.th.dir, 'signing-key.pem'), 'utf8')
  const jwks = (await ts.service('GET', '/.well-known/jwks.json')).json as { keys: { kid: string }[] }
  const key = await importPKCS8(pem, 'ES256')
  return new SignJWT({ permissions: { users: 'r' }, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: jwks.keys[0]?.kid as string, typ })
    .setIssuer('gatehouse')
    .setAudience('gatehouse')
    .setSubject('bob')
    .setJti(randomUUID())
    .sign(key)
}

before(async () => {
  ts = await startTokenService()
  bobJwt = await ts.issueJwt('bob', { permissions: { users: 'r' } })
  bobKey = await ts.createKey('bob', { permissions: { users: 'r' }, description: 'bob key' })
  aliceJwt = await ts.issueJwt('alice', { permissions: { users: 'rw' } })
  const cc = async (c: { id: string; secret: string }) =>
    (await ts.form('/oauth/token', { grant_type: 'client_credentials' }, basic(c.id, c.secret))).json.access_token as string
  billingToken = await cc(CLIENTS.billing)
  reportingToken = await cc(CLIENTS.reporting)
})
after(() => ts.close())

const introspect = (token: string, headers: Record<string, string> = basic('bob'), extra: Record<string, string> = {}) =>
  ts.form('/oauth/introspect', { token, ...extra }, headers)

function assertInactive(r: Reply, what: string): void {
  assert.equal(r.status, 200, `${what}: ${r.text}`)
  assert.equal(r.text, INACTIVE, `${what} must be exactly {"active":false}`)
  assert.equal(r.headers.get('cache-control'), 'no-store')
}

describe('introspection needs authentication (#90)', () => {
  test('no credentials is 401 invalid_client, and nothing about the token leaks', async () => {
    const r = await ts.form('/oauth/introspect', { token: bobJwt })
    assert.equal(r.status, 401)
    assert.equal(r.json.error, 'invalid_client')
    assert.equal(r.json.active, undefined)
    assert.ok(!r.text.includes('bob'))
  })

  test("a user's Bearer token as the credential is 401", async () => {
    const r = await ts.form('/oauth/introspect', { token: bobJwt }, bearer(bobJwt))
    assert.equal(r.status, 401)
    assert.equal(r.json.active, undefined)
  })

  test('an API key as the credential is 401', async () => {
    const r = await ts.form('/oauth/introspect', { token: bobKey.key }, apiKey(bobKey.key))
    assert.equal(r.status, 401)
    assert.equal(r.json.active, undefined)
  })

  test('a wrong password is 401', async () => {
    const r = await introspect(bobJwt, basic('bob', 'not-bobs-password'))
    assert.equal(r.status, 401)
    assert.equal(r.json.active, undefined)
    assert.equal(r.json.error, 'invalid_client')
  })

  test("a user's wrong password and an unknown name answer alike: no user enumeration (#81)", async () => {
    const wrongPassword = await introspect(bobJwt, { ...basic('bob', 'not-bobs-password'), 'x-forwarded-for': '192.0.2.61' })
    const unknownName = await introspect(bobJwt, { ...basic('nobody-here', 'not-a-password'), 'x-forwarded-for': '192.0.2.62' })
    const wrongClientSecret = await introspect(bobJwt, { ...basic(CLIENTS.billing.id, 'wrong'), 'x-forwarded-for': '192.0.2.63' })
    for (const r of [wrongPassword, unknownName, wrongClientSecret]) assert.equal(r.status, 401)
    assert.equal(unknownName.text, wrongPassword.text)
    assert.equal(wrongClientSecret.text, wrongPassword.text)
    assert.equal(unknownName.headers.get('www-authenticate'), wrongPassword.headers.get('www-authenticate'))
  })

  test('GET with the token in the query is 405', async () => {
    const r = await ts.service('GET', `/oauth/introspect?token=${encodeURIComponent(bobJwt)}`, { headers: basic('bob') })
    assert.equal(r.status, 405)
    assert.equal(r.headers.get('allow'), 'POST')
    assert.equal(r.json.active, undefined)
  })

  test('no token is 400 invalid_request', async () => {
    const r = await ts.form('/oauth/introspect', {}, basic('bob'))
    assert.equal(r.status, 400)
    assert.equal(r.json.error, 'invalid_request')
  })
})

describe('inactive tokens are exactly {"active":false} (#91)', () => {
  test('an expired JWT of ours (the same token unexpired is active)', async () => {
    const live = await forge({ iat: nowSeconds() - 60, exp: nowSeconds() + 600 })
    assert.equal((await introspect(live)).json.active, true, 'the forged token is otherwise good')
    assertInactive(await introspect(await forge({ iat: nowSeconds() - 3600, exp: nowSeconds() - 120 })), 'expired JWT')
  })

  test('a JWT signed with our key but not typed at+jwt (an ID token, say) is inactive, and 401 at the proxy (SPEC §5)', async () => {
    const claims = { iat: nowSeconds() - 60, exp: nowSeconds() + 600 }
    for (const typ of ['JWT', 'id_token+jwt']) {
      const token = await forge(claims, typ)
      assertInactive(await introspect(token), `typ ${typ}`)
      assert.equal((await ts.proxy('/api/v1/users/1', { headers: bearer(token) })).status, 401)
    }
    assert.equal((await ts.proxy('/api/v1/users/1', { headers: bearer(await forge(claims)) })).status, 200, 'typed at+jwt, the same token works')
  })

  test('an expired API key', { timeout: 10_000 }, async () => {
    const made = await ts.postJson('/v1/auth/apikeys', { permissions: { users: 'r' }, expires: 'PT3S' }, basic('bob'))
    const expiresAt = Date.parse(made.json.expiresAt)
    assert.equal((await introspect(made.json.key)).json.active, true)
    await new Promise((r) => setTimeout(r, expiresAt - Date.now() + 50))
    assertInactive(await introspect(made.json.key), 'expired key')
  })

  test('a revoked and a disabled API key', async () => {
    const revoked = await ts.createKey('bob', { permissions: { users: 'r' } })
    assert.equal((await introspect(revoked.key)).json.active, true)
    await ts.postJson('/v1/auth/apikeys/delete', [revoked.id], basic('bob'))
    assertInactive(await introspect(revoked.key), 'revoked key')

    const disabled = await ts.createKey('bob', { permissions: { users: 'r' }, enabled: false })
    assertInactive(await introspect(disabled.key), 'disabled key')
  })

  test('unknown and garbage tokens', async () => {
    const cases: [string, string][] = [
      ['a well-formed key never stored', generateApiKey().key],
      ['garbage', 'garbage'],
      ['three dots', 'a.b.c'],
      ['a JWT with a broken signature', bobJwt.slice(0, -4) + (bobJwt.endsWith('AAAA') ? 'BBBB' : 'AAAA')],
      ['an unsigned JWT', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${bobJwt.split('.')[1]}.`],
    ]
    for (const [what, token] of cases) assertInactive(await introspect(token), what)
  })

  test("another user's JWT and API key", async () => {
    const alicesKey = await ts.createKey('alice', { permissions: { users: 'r' } })
    assert.equal((await introspect(aliceJwt, basic('alice'))).json.active, true)
    assertInactive(await introspect(aliceJwt, basic('bob')), "alice's JWT for bob")
    assertInactive(await introspect(alicesKey.key, basic('bob')), "alice's key for bob")
  })

  test("another client's token, and a user's token asked by a client", async () => {
    const asBilling = basic(CLIENTS.billing.id, CLIENTS.billing.secret)
    assertInactive(await introspect(reportingToken, asBilling), "reporting's token for billing")
    assertInactive(await introspect(bobJwt, asBilling), "bob's JWT for billing")
    assertInactive(await introspect(bobKey.key, asBilling), "bob's key for billing")
  })

  test('token_type_hint never changes the result', async () => {
    for (const hint of ['access_token', 'refresh_token', 'api_key', 'nonsense']) {
      assertInactive(await introspect(aliceJwt, basic('bob'), { token_type_hint: hint }), `hint ${hint}`)
      assertInactive(await introspect('garbage', basic('bob'), { token_type_hint: hint }), `hint ${hint}`)
      const plain = await introspect(bobJwt)
      const hinted = await introspect(bobJwt, basic('bob'), { token_type_hint: hint })
      assert.equal(hinted.text, plain.text, `hint ${hint} on an active token`)
      assert.equal((await introspect(bobKey.key, basic('bob'), { token_type_hint: hint })).json.active, true)
    }
  })
})

describe('active tokens', () => {
  test("a JWT, for its owner: who, which token, when it ends, what it may do now", async () => {
    const r = await introspect(bobJwt)
    assert.equal(r.status, 200, r.text)
    assert.equal(r.headers.get('cache-control'), 'no-store')
    const c = decodeJwt(bobJwt)
    assert.equal(r.json.active, true)
    assert.equal(r.json.sub, 'bob')
    assert.equal(r.json.username, 'bob')
    assert.equal(r.json.iss, 'gatehouse')
    assert.equal(r.json.jti, c.jti)
    assert.equal(r.json.exp, c.exp)
    assert.equal(r.json.token_type, 'Bearer')
    assert.equal(r.json.scope, 'users:r')
    assert.deepEqual(r.json.permissions, { users: 'r' })
  })

  test('an API key, for its owner', async () => {
    const r = await introspect(bobKey.key)
    assert.equal(r.json.active, true)
    assert.equal(r.json.sub, 'bob')
    assert.equal(r.json.jti, bobKey.id)
    assert.equal(r.json.token_type, 'ApiKey')
    assert.equal(r.json.exp, undefined, 'no expiry')
    assert.equal(r.json.scope, 'users:r')
    assert.ok(!r.text.includes(bobKey.key.slice(16, 48)), 'the secret is not echoed')
  })

  test("an admin sees other users' tokens", async () => {
    assert.equal((await introspect(bobJwt, basic('alice'))).json.sub, 'bob')
    assert.equal((await introspect(bobKey.key, basic('carol'))).json.sub, 'bob')
  })

  test('a client sees its own token (authenticated by Basic or in the form)', async () => {
    const r = await introspect(billingToken, basic(CLIENTS.billing.id, CLIENTS.billing.secret))
    assert.equal(r.json.active, true, r.text)
    assert.equal(r.json.client_id, CLIENTS.billing.id)
    assert.equal(r.json.scope, 'sessions:r users:r')
    const form = await ts.form('/oauth/introspect', { token: billingToken, client_id: CLIENTS.billing.id, client_secret: CLIENTS.billing.secret })
    assert.equal(form.json.active, true, form.text)
  })

  test('an impersonation token names the actor, and its subject may see it', async () => {
    const token = await ts.issueJwt('alice', { permissions: { users: 'r' }, targetUser: 'bob' })
    const r = await introspect(token)
    assert.equal(r.json.sub, 'bob')
    assert.deepEqual(r.json.act, { sub: 'alice' })
  })
})

describe('GET /v1/auth/token-info', () => {
  const info = (token: string, headers: Record<string, string> = basic('bob')) =>
    ts.service('GET', `/v1/auth/token-info?token=${encodeURIComponent(token)}`, { headers })

  test('describes a JWT the caller owns', async () => {
    const r = await info(bobJwt)
    assert.equal(r.status, 200, r.text)
    const c = decodeJwt(bobJwt)
    assert.equal(r.json.active, true)
    assert.equal(r.json.user, 'bob')
    assert.equal(r.json.method, 'jwt')
    assert.equal(r.json.credential_id, c.jti)
    assert.equal(r.json.issuer, 'gatehouse')
    assert.equal(r.json.expire_time, new Date((c.exp as number) * 1000).toISOString())
    assert.deepEqual(r.json.permissions, { users: 'r' })
    assert.equal(r.headers.get('cache-control'), 'no-store')
  })

  test('describes an API key the caller owns', async () => {
    const r = await info(bobKey.key)
    assert.equal(r.json.active, true)
    assert.equal(r.json.method, 'apikey')
    assert.equal(r.json.credential_id, bobKey.id)
    assert.equal(r.json.expire_time, null)
  })

  test("is exactly {\"active\":false} for another user's token, an unknown one, or garbage", async () => {
    for (const token of [aliceJwt, generateApiKey().key, 'garbage']) {
      const r = await info(token)
      assert.equal(r.status, 200)
      assert.equal(r.text, INACTIVE)
    }
  })

  test('requires authentication: none is 401, a JWT 403, an API key 403, a wrong password 401', async () => {
    assert.equal((await info(bobJwt, {})).status, 401)
    assert.equal((await info(bobJwt, bearer(bobJwt))).status, 403)
    assert.equal((await info(bobJwt, apiKey(bobKey.key))).status, 403)
    const wrong = await info(bobJwt, basic('bob', 'nope'))
    assert.equal(wrong.status, 401)
    assert.equal(wrong.json.active, undefined)
  })

  test('without a token is 400', async () => {
    assert.equal((await ts.service('GET', '/v1/auth/token-info', { headers: basic('bob') })).status, 400)
  })
})
