// README "Admin port": failed logins are logged (who, why, from where,
// the request id; never the secret) and counted, throttled logins are counted, and
// credentials issued are counted by kind, all with bounded labels (never a name).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { apiKey, basic, CLIENTS, startTokenService, type TokenServiceFixture } from '../support/token-service.js'
import { generateApiKey } from '../../src/credentials/api-key.js'

let ts: TokenServiceFixture
before(async () => {
  ts = await startTokenService()
})
after(() => ts.close())

async function scrape(): Promise<string> {
  return (await fetch(`${ts.th.adminUrl}/metrics`)).text()
}

/** The value of one series (0 when absent), read from the Prometheus text format. */
async function sample(series: string): Promise<number> {
  const line = (await scrape()).split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

const failures = (account: string, reason: string) => `gatehouse_token_service_login_failures_total{account="${account}",reason="${reason}"}`
const lineFor = (reqId: string | null) => ts.th.logs().find((l) => l.reqId === reqId && typeof l.event === 'string' && String(l.event).startsWith('login_'))

describe('failed logins are logged and counted', () => {
  test('a wrong password: user, reason, client IP and request id; never the password', async () => {
    const before = await sample(failures('user', 'wrong_secret'))
    const password = 'not-bobs-password-at-all-123'
    const r = await ts.postJson('/v1/auth/jwt', { permissions: {} }, { ...basic('bob', password), 'x-forwarded-for': '203.0.113.5' })
    assert.equal(r.status, 401)
    assert.equal(await sample(failures('user', 'wrong_secret')), before + 1)
    const line = lineFor(r.headers.get('x-request-id'))
    assert.ok(line, 'a login_failed line with the answer\'s request id')
    assert.equal(line.event, 'login_failed')
    assert.equal(line.account, 'user')
    assert.equal(line.user, 'bob')
    assert.equal(line.reason, 'wrong_secret')
    assert.equal(line.clientIp, '203.0.113.5')
    const text = ts.th.logText()
    assert.ok(!text.includes(password) && !text.includes(Buffer.from(`bob:${password}`).toString('base64')), 'no password in the log')
  })

  test('an unknown user: reason unknown_account; the name is logged but never a label', async () => {
    const before = await sample(failures('user', 'unknown_account'))
    const r = await ts.postJson('/v1/auth/jwt', { permissions: {} }, { ...basic('mallory-unknown', 'whatever-pass-1'), 'x-forwarded-for': '203.0.113.6' })
    assert.equal(r.status, 401)
    assert.equal(await sample(failures('user', 'unknown_account')), before + 1)
    assert.equal(lineFor(r.headers.get('x-request-id'))?.user, 'mallory-unknown')
    assert.ok(!(await scrape()).includes('mallory-unknown'), 'no user name in any metric')
  })

  test('an OAuth client with a wrong secret: client id and reason; never the secret', async () => {
    const before = await sample(failures('client', 'wrong_secret'))
    const secret = 'not-the-billing-secret-42'
    const r = await ts.form('/oauth/token', { grant_type: 'client_credentials', client_id: CLIENTS.billing.id, client_secret: secret }, { 'x-forwarded-for': '203.0.113.7' })
    assert.equal(r.status, 401)
    assert.equal(await sample(failures('client', 'wrong_secret')), before + 1)
    const line = lineFor(r.headers.get('x-request-id'))
    assert.equal(line?.clientId, CLIENTS.billing.id)
    assert.equal(line?.clientIp, '203.0.113.7')
    assert.ok(!ts.th.logText().includes(secret))
    assert.ok(!(await scrape()).includes(CLIENTS.billing.id), 'no client id in any metric')
  })

  test('unreadable Basic credentials: counted as malformed, without a name', async () => {
    const before = await sample(failures('user', 'malformed'))
    const r = await ts.postJson('/v1/auth/jwt', { permissions: {} }, { authorization: 'Basic %%%not-base64', 'x-forwarded-for': '203.0.113.8' })
    assert.equal(r.status, 401)
    assert.equal(await sample(failures('user', 'malformed')), before + 1)
    assert.equal(lineFor(r.headers.get('x-request-id'))?.reason, 'malformed')
  })

  test('an unknown API key: account api_key, reason key_unknown, its id but never the key', async () => {
    const before = await sample(failures('api_key', 'key_unknown'))
    const unknown = generateApiKey()
    const r = await ts.postJson('/v1/auth/jwt', { permissions: {} }, { ...apiKey(unknown.key), 'x-forwarded-for': '203.0.113.9' })
    assert.equal(r.status, 401)
    assert.equal(await sample(failures('api_key', 'key_unknown')), before + 1)
    const line = lineFor(r.headers.get('x-request-id'))
    assert.equal(line?.credentialId, unknown.id)
    assert.ok(!ts.th.logText().includes(unknown.key))
  })
})

describe('throttled logins are logged and counted', () => {
  test('past the per-account limit from one address: 429, login_throttled, the counter', async () => {
    const series = 'gatehouse_token_service_logins_throttled_total{account="user"}'
    const before = await sample(series)
    const ip = '198.18.7.1'
    let status = 0
    let reqId: string | null = null
    // The throttle locks a name at one address after 5 failures (README "The life of a credential"); 10 bounds the loop.
    for (let i = 0; i < 10 && status !== 429; i++) {
      const r = await ts.postJson('/v1/auth/jwt', { permissions: {} }, { ...basic('carol', `guess-${i}`), 'x-forwarded-for': ip })
      status = r.status
      reqId = r.headers.get('x-request-id')
    }
    assert.equal(status, 429)
    assert.equal(await sample(series), before + 1)
    const line = lineFor(reqId)
    assert.equal(line?.event, 'login_throttled')
    assert.equal(line?.user, 'carol')
    assert.equal(line?.clientIp, ip)
    assert.ok(Number(line?.retryAfter) >= 1)
  })
})

describe('credentials issued are counted by kind', () => {
  test('a JWT, an API key and a client-credentials token each count once under their kind', async () => {
    const issued = (kind: string) => sample(`gatehouse_token_service_credentials_issued_total{kind="${kind}"}`)
    const [jwt, key, client] = await Promise.all([issued('jwt'), issued('api_key'), issued('client_token')])
    await ts.issueJwt('alice')
    assert.equal(await issued('jwt'), jwt + 1)
    await ts.createKey('alice')
    assert.equal(await issued('api_key'), key + 1)
    const r = await ts.form('/oauth/token', { grant_type: 'client_credentials' }, { authorization: `Basic ${Buffer.from(`${CLIENTS.reporting.id}:${CLIENTS.reporting.secret}`).toString('base64')}` })
    assert.equal(r.status, 200)
    assert.equal(await issued('client_token'), client + 1)
    assert.equal(await issued('jwt'), jwt + 1, 'a client token is not counted as a login JWT')
  })
})
