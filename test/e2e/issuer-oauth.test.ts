// POST /oauth/token (SPEC §6; RFC 6749 §4.4 client credentials) over real sockets:
// the success shape (attack #85), every §5.2 error exactly (#86), the
// client's TTL, and the client's permissions capping its tokens now (SPEC §3.7).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { decodeJwt } from 'jose'
import {
  basic,
  bearer,
  CLIENTS,
  defaultClients,
  startTokenService,
  type TokenServiceFixture,
} from '../support/token-service.js'
import type { Reply } from '../support/http.js'

let ts: TokenServiceFixture
before(async () => {
  ts = await startTokenService()
})
after(() => ts.close())

const { billing, reporting } = CLIENTS
const clientBasic = (id: string, secret: string) => basic(id, secret)

/** RFC 6749 §5.2: exactly this error, a JSON body with no other members than error and error_description. */
function assertOAuthError(r: Reply, status: number, error: string): void {
  assert.equal(r.status, status, r.text)
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/)
  assert.equal(r.json?.error, error, r.text)
  assert.equal(typeof r.json?.error_description, 'string')
  assert.deepEqual(Object.keys(r.json).filter((k) => k !== 'error' && k !== 'error_description'), [])
  assert.equal(r.headers.get('cache-control'), 'no-store')
}

async function useToken(token: string, method = 'GET') {
  const before = ts.upstream.requests.length
  const r = await ts.proxy('/api/v1/users/3', { method, headers: bearer(token) })
  return { status: r.status, seen: ts.upstream.requests.slice(before)[0]?.headers }
}

describe('a client-credentials token (#85)', () => {
  let r: Reply
  before(async () => {
    r = await ts.form('/oauth/token', { grant_type: 'client_credentials', scope: 'users:r' }, clientBasic(billing.id, billing.secret))
  })

  test('is 200 JSON with access_token, token_type Bearer, expires_in and scope, and no refresh_token', () => {
    assert.equal(r.status, 200, r.text)
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/)
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'scope', 'token_type'])
    assert.equal(r.json.token_type, 'Bearer')
    assert.equal(r.json.scope, 'users:r')
    assert.equal(r.json.refresh_token, undefined)
  })

  test('is not cacheable: Cache-Control no-store and Pragma no-cache', () => {
    assert.equal(r.headers.get('cache-control'), 'no-store')
    assert.equal(r.headers.get('pragma'), 'no-cache')
  })

  test("lives for the client's ttl (PT10M)", () => {
    assert.equal(r.json.expires_in, 600)
    const c = decodeJwt(r.json.access_token)
    assert.equal((c.exp as number) - (c.iat as number), 600)
    assert.equal(c.sub, billing.id)
    assert.equal(c.client_id, billing.id)
    assert.equal(c.iss, 'gatehouse')
  })

  test("is accepted by the proxy with the client's permissions, and no more", async () => {
    const ok = await useToken(r.json.access_token)
    assert.equal(ok.status, 200)
    assert.equal(ok.seen?.['x-auth-user'], billing.id)
    assert.equal(ok.seen?.['x-auth-method'], 'jwt')
    assert.equal(ok.seen?.['x-auth-issuer'], 'gatehouse')
    assert.equal(ok.seen?.['x-auth-permissions'], 'users:r')
    assert.equal((await useToken(r.json.access_token, 'POST')).status, 403)
  })
})

describe('client authentication and scope', () => {
  test("without scope, the token carries all the client's permissions", async () => {
    const r = await ts.form('/oauth/token', { grant_type: 'client_credentials' }, clientBasic(billing.id, billing.secret))
    assert.equal(r.status, 200, r.text)
    assert.equal(r.json.scope, 'sessions:r users:r')
    assert.deepEqual((decodeJwt(r.json.access_token) as { permissions: unknown }).permissions, { users: 'r', sessions: 'r' })
  })

  test('the secret may come in the form body instead of Basic', async () => {
    const r = await ts.form('/oauth/token', { grant_type: 'client_credentials', client_id: billing.id, client_secret: billing.secret })
    assert.equal(r.status, 200, r.text)
  })

  test('a client without ttl gets the default of one hour (bcrypt secret)', async () => {
    const r = await ts.form('/oauth/token', { grant_type: 'client_credentials' }, clientBasic(reporting.id, reporting.secret))
    assert.equal(r.status, 200, r.text)
    assert.equal(r.json.expires_in, 3600)
    assert.equal((await useToken(r.json.access_token, 'POST')).status, 200)
  })

  test('a charset parameter on the form content type is accepted', async () => {
    const res = await fetch(`${ts.base}/_gatehouse/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8', ...clientBasic(billing.id, billing.secret) },
      body: 'grant_type=client_credentials',
    })
    assert.equal(res.status, 200, await res.text())
  })
})

describe('errors, exactly as RFC 6749 §5.2 (#86)', () => {
  const good = clientBasic(billing.id, billing.secret)

  test('a wrong secret via Basic is 401 invalid_client with WWW-Authenticate: Basic', async () => {
    const r = await ts.form('/oauth/token', { grant_type: 'client_credentials' }, clientBasic(billing.id, 'wrong-secret'))
    assertOAuthError(r, 401, 'invalid_client')
    assert.match(r.headers.get('www-authenticate') ?? '', /^Basic /)
  })

  test('an unknown client via Basic answers exactly like a wrong secret', async () => {
    const wrong = await ts.form('/oauth/token', { grant_type: 'client_credentials' }, clientBasic(reporting.id, 'wrong-secret'))
    const unknown = await ts.form('/oauth/token', { grant_type: 'client_credentials' }, clientBasic('no-such-client', 'wrong-secret'))
    assertOAuthError(unknown, 401, 'invalid_client')
    assert.equal(unknown.text, wrong.text)
    assert.equal(unknown.headers.get('www-authenticate'), wrong.headers.get('www-authenticate'))
  })

  test('a wrong secret in the body is 401 invalid_client', async () => {
    const r = await ts.form('/oauth/token', { grant_type: 'client_credentials', client_id: billing.id, client_secret: 'wrong-secret' })
    assertOAuthError(r, 401, 'invalid_client')
  })

  test('no client authentication at all is 401 invalid_client', async () => {
    assertOAuthError(await ts.form('/oauth/token', { grant_type: 'client_credentials' }), 401, 'invalid_client')
    assertOAuthError(await ts.form('/oauth/token', { grant_type: 'client_credentials', client_id: billing.id }), 401, 'invalid_client')
  })

  test("a user's password is not a client secret", async () => {
    assertOAuthError(await ts.form('/oauth/token', { grant_type: 'client_credentials' }, basic('alice')), 401, 'invalid_client')
  })

  const invalidRequest: [string, [string, string][], Record<string, string>][] = [
    ['Basic and body credentials together', [['grant_type', 'client_credentials'], ['client_id', billing.id], ['client_secret', billing.secret]], good],
    ['Basic and a body client_id together', [['grant_type', 'client_credentials'], ['client_id', billing.id]], good],
    ['no grant_type', [['scope', 'users:r']], good],
    ['grant_type twice', [['grant_type', 'client_credentials'], ['grant_type', 'client_credentials']], good],
    ['scope twice', [['grant_type', 'client_credentials'], ['scope', 'users:r'], ['scope', 'users:r']], good],
    ['client_id twice', [['grant_type', 'client_credentials'], ['client_id', billing.id], ['client_id', billing.id], ['client_secret', billing.secret]], {}],
  ]
  for (const [what, fields, headers] of invalidRequest) {
    test(`${what} is 400 invalid_request`, async () => {
      assertOAuthError(await ts.form('/oauth/token', fields, headers), 400, 'invalid_request')
    })
  }

  for (const grant of ['password', 'authorization_code', 'refresh_token', 'Client_Credentials']) {
    test(`grant_type=${grant} is 400 unsupported_grant_type`, async () => {
      assertOAuthError(await ts.form('/oauth/token', { grant_type: grant, username: 'alice', password: 'x' }, good), 400, 'unsupported_grant_type')
    })
  }

  for (const scope of ['users:rw', 'billing:r', 'users:r sessions:rw', 'users', 'users:admin']) {
    test(`scope "${scope}" (beyond the client, or not api:level) is 400 invalid_scope`, async () => {
      assertOAuthError(await ts.form('/oauth/token', { grant_type: 'client_credentials', scope }, good), 400, 'invalid_scope')
    })
  }

  test('GET, even with everything in the query, is 405 with Allow: POST, and issues nothing', async () => {
    const q = new URLSearchParams({ grant_type: 'client_credentials', client_id: billing.id, client_secret: billing.secret })
    const r = await ts.service('GET', `/oauth/token?${q}`)
    assert.equal(r.status, 405, r.text)
    assert.equal(r.headers.get('allow'), 'POST')
    assert.equal(r.json?.access_token, undefined)
    assert.equal(r.json?.error, 'invalid_request')
  })

  test('a JSON body is 400 invalid_request', async () => {
    const r = await ts.postJson('/oauth/token', { grant_type: 'client_credentials', client_id: billing.id, client_secret: billing.secret })
    assertOAuthError(r, 400, 'invalid_request')
  })

  test('a form sent as text/plain is 400 invalid_request, at /oauth/token and /oauth/introspect', async () => {
    const headers = { 'content-type': 'text/plain', ...good }
    assertOAuthError(await ts.service('POST', '/oauth/token', { headers, body: 'grant_type=client_credentials' }), 400, 'invalid_request')
    assertOAuthError(await ts.service('POST', '/oauth/introspect', { headers, body: 'token=abc' }), 400, 'invalid_request')
  })
})

describe("the client's permissions now cap its tokens (SPEC §3.7)", () => {
  test('lowering the client in the clients file lowers its existing token at the proxy', { timeout: 10_000 }, async () => {
    const r = await ts.form('/oauth/token', { grant_type: 'client_credentials' }, clientBasic(reporting.id, reporting.secret))
    const token = r.json.access_token as string
    assert.equal((await useToken(token, 'POST')).status, 200)

    const lowered = (await defaultClients()).map((c) => (c.clientId === reporting.id ? { ...c, permissions: { users: 'r' as const } } : c))
    await ts.writeClients(lowered)
    assert.equal(await ts.th.gh.reload(), true)
    assert.equal((await useToken(token, 'POST')).status, 403, 'write refused at once after the reload')
    const read = await useToken(token)
    assert.equal(read.status, 200, 'reading still allowed')
    assert.equal(read.seen?.['x-auth-permissions'], 'users:r')

    // A client removed from the file keeps nothing: its token is no longer valid (issue 12).
    await ts.writeClients((await defaultClients()).filter((c) => c.clientId !== reporting.id))
    assert.equal(await ts.th.gh.reload(), true)
    assert.equal((await useToken(token)).status, 401)
    await ts.writeClients(await defaultClients())
    assert.equal(await ts.th.gh.reload(), true)
  })
})
