// The token service as standard OAuth2 client libraries see it (SPEC §11, §12):
// openid-client discovers it, gets client-credentials tokens with form-encoded Basic,
// and introspects; oauth4webapi's RFC 9068 validator accepts its client-credentials
// and password-login tokens. The libraries are the oracle: nothing here restates
// what the service answers except what SPEC §11/§12 fixes.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import * as oauth from 'oauth4webapi'
import * as client from 'openid-client'
import { hashPassword } from '../../src/accounts/password-hash.js'
import { CLIENTS, defaultClients, PASSWORDS, PREFIX, startTokenService, type TokenServiceFixture } from '../support/token-service.js'

// A secret with every character RFC 6749 §2.3.1 form-encoding changes.
const ODD = { id: 'odd-secret', secret: 'p@ss:w%rd+ ü&=/?' }
const RESOURCE_SERVER = { id: 'legacy-api-rs', secret: 'rs-secret-5f2e8a1c9b7d' }

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

let f: TokenServiceFixture
let issuer: string
before(async () => {
  const port = await freePort()
  issuer = `http://127.0.0.1:${port}${PREFIX}`
  f = await startTokenService({
    config: { listen: `127.0.0.1:${port}` },
    issuer: { name: issuer },
    clients: [
      ...(await defaultClients()),
      { clientId: ODD.id, secretHash: await hashPassword(ODD.secret), permissions: { users: 'r' } },
      { clientId: RESOURCE_SERVER.id, secretHash: await hashPassword(RESOURCE_SERVER.secret), permissions: {}, canIntrospect: true },
    ],
  })
})
after(() => f.close())

async function discover(id: string, secret: string): Promise<client.Configuration> {
  return client.discovery(new URL(issuer), id, undefined, client.ClientSecretBasic(secret), { execute: [client.allowInsecureRequests] })
}

describe('metadata documents (RFC 8414, OpenID discovery)', () => {
  test('both documents describe the service with URLs built from issuer.name, and no invented endpoint', async () => {
    for (const doc of ['oauth-authorization-server', 'openid-configuration']) {
      const res = await f.service('GET', `/.well-known/${doc}`)
      assert.equal(res.status, 200)
      const m = res.json
      assert.equal(m.issuer, issuer)
      assert.equal(m.token_endpoint, `${issuer}/oauth/token`)
      assert.equal(m.introspection_endpoint, `${issuer}/oauth/introspect`)
      assert.equal(m.jwks_uri, `${issuer}/.well-known/jwks.json`)
      assert.deepEqual(m.grant_types_supported, ['client_credentials'])
      assert.ok(m.token_endpoint_auth_methods_supported.includes('client_secret_basic'))
      assert.equal(m.authorization_endpoint, undefined)
    }
  })

  test('oauth4webapi processes the RFC 8414 document', async () => {
    const url = new URL(issuer)
    const res = await oauth.discoveryRequest(url, { algorithm: 'oidc', [oauth.allowInsecureRequests]: true })
    const as = await oauth.processDiscoveryResponse(url, res)
    assert.equal(as.issuer, issuer)
  })
})

describe('openid-client', () => {
  test('discovers, gets a client-credentials token with form-encoded Basic, and introspects it', async () => {
    const config = await discover(CLIENTS.billing.id, CLIENTS.billing.secret)
    const tokens = await client.clientCredentialsGrant(config, { scope: 'users:r' })
    assert.equal(tokens.token_type.toLowerCase(), 'bearer')
    assert.equal(tokens.scope, 'users:r')
    // The token works at the proxy.
    assert.equal((await f.proxy('/api/v1/users', { headers: { authorization: `Bearer ${tokens.access_token}` } })).status, 200)
    const info = await client.tokenIntrospection(config, tokens.access_token)
    assert.equal(info.active, true)
    assert.equal(info.client_id, CLIENTS.billing.id)
    assert.equal(info.scope, 'users:r')
  })

  test('a secret with characters form-encoding changes works through the library and raw', async () => {
    const config = await discover(ODD.id, ODD.secret)
    const tokens = await client.clientCredentialsGrant(config)
    assert.equal(tokens.scope, 'users:r')
    // A raw Basic secret holding `%` (as curl -u sends it) still works.
    const raw = await f.form('/oauth/token', { grant_type: 'client_credentials' }, {
      authorization: `Basic ${Buffer.from(`${ODD.id}:${ODD.secret}`).toString('base64')}`,
    })
    assert.equal(raw.status, 200)
    const wrong = await f.form('/oauth/token', { grant_type: 'client_credentials' }, {
      authorization: `Basic ${Buffer.from(`${ODD.id}:${encodeURIComponent('p@ss:w%rd+ ü&=/')}`).toString('base64')}`,
    })
    assert.equal(wrong.status, 401)
  })

  test('a user introspects with form-encoded Basic (as libraries send it)', async () => {
    const token = await f.issueJwt('bob', { permissions: { users: 'r' } })
    const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+')
    const res = await f.form('/oauth/introspect', { token }, {
      authorization: `Basic ${Buffer.from(`${enc('bob')}:${enc(PASSWORDS.bob as string)}`).toString('base64')}`,
    })
    assert.equal(res.status, 200)
    assert.equal(res.json.active, true)
    assert.equal(res.json.client_id, 'gatehouse')
  })

  test('a canIntrospect resource server introspects any token; another client gets {"active": false} only', async () => {
    const userToken = await f.issueJwt('bob', { permissions: { users: 'r' } })
    const rs = await discover(RESOURCE_SERVER.id, RESOURCE_SERVER.secret)
    const info = await client.tokenIntrospection(rs, userToken)
    assert.equal(info.active, true)
    assert.equal(info.sub, 'bob')
    const other = await discover(CLIENTS.reporting.id, CLIENTS.reporting.secret)
    const refused = await client.tokenIntrospection(other, userToken)
    assert.deepEqual({ ...refused }, { active: false })
  })

  test('token responses carry Cache-Control: no-store', async () => {
    const res = await f.form('/oauth/token', { grant_type: 'client_credentials' }, {
      authorization: `Basic ${Buffer.from(`${CLIENTS.billing.id}:${CLIENTS.billing.secret}`).toString('base64')}`,
    })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('cache-control'), 'no-store')
  })
})

describe("oauth4webapi's RFC 9068 validator", () => {
  let as: oauth.AuthorizationServer
  before(async () => {
    const url = new URL(issuer)
    as = await oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, { algorithm: 'oidc', [oauth.allowInsecureRequests]: true }))
  })

  async function validate(token: string) {
    const request = new Request(`${f.base}/api/v1/users`, { headers: { authorization: `Bearer ${token}` } })
    // The service's audience is its name unless a jwt.issuers entry gives another.
    return oauth.validateJwtAccessToken(as, request, issuer, { [oauth.allowInsecureRequests]: true })
  }

  test('accepts a client-credentials token: client_id is the client, scope beside permissions', async () => {
    const config = await discover(CLIENTS.reporting.id, CLIENTS.reporting.secret)
    const tokens = await client.clientCredentialsGrant(config)
    const claims = await validate(tokens.access_token)
    assert.equal(claims.client_id, CLIENTS.reporting.id)
    assert.equal(claims.sub, CLIENTS.reporting.id)
    assert.equal(claims.scope, 'users:rw')
    assert.deepEqual(claims.permissions, { users: 'rw' })
  })

  test('accepts a password-login token: client_id gatehouse, scope sorted without none', async () => {
    const token = await f.issueJwt('alice', { permissions: { users: 'rw', sessions: 'r' } })
    const claims = await validate(token)
    assert.equal(claims.client_id, 'gatehouse')
    assert.equal(claims.sub, 'alice')
    assert.equal(claims.scope, 'sessions:r users:rw')
    assert.equal(typeof claims.jti, 'string')
  })
})
