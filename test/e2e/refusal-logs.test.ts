// README "Operations": a refusal's log line carries what was known when the request
// was refused: the normalised path, the API once matched, the user and credential
// id once the credential was verified (never for one that failed), and the reason.
// Never the credential itself; and nothing refused reaches the upstream.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createKey } from '../support/api-keys.js'
import { bearer, call, startFixture, type Fixture } from '../support/fixture.js'
import { tamperSignature } from '../support/mint.js'
import { startTestGatehouse } from '../support/gatehouse.js'

let f: Fixture
before(async () => {
  f = await startFixture()
})
after(() => f.close())

/** Sends, checks status and that the upstream saw nothing, and returns the request's log line. */
async function refusedLine(path: string, init: Parameters<typeof call>[2], status: number): Promise<Record<string, unknown>> {
  const seen = f.upstream.requests.length
  const res = await call(f, path, init)
  assert.equal(res.status, status)
  assert.equal(f.upstream.requests.length, seen, 'nothing refused reaches the upstream')
  const id = res.headers.get('x-request-id')
  assert.ok(id, 'a refusal carries its request id')
  const line = f.gh.logs().find((l) => l.msg === 'request' && l.reqId === id)
  assert.ok(line, `a log line for ${id}`)
  return line
}

describe('refusal log lines (README "Operations")', () => {
  test('before any API matched: the normalised path and the reason, no api, no user', async () => {
    const line = await refusedLine('/nowhere/./a//b', {}, 403)
    assert.equal(line.reason, 'no_api')
    assert.equal(line.path, '/nowhere/a/b')
    assert.equal(line.api, undefined)
    assert.equal(line.user, undefined)
    assert.equal(line.status, 403)
    assert.equal(line.outcome, 'denied')
    assert.equal(line.level, 'info', 'levels are names by default (log.levelFormat)')
  })

  test('a credential that failed: path and api, but no user or credential id', async () => {
    const t = tamperSignature(await f.token({ jti: 'jti-tampered-log' }))
    const line = await refusedLine('/api/v1/users/7?q=secret-in-query', { headers: bearer(t) }, 401)
    assert.equal(line.reason, 'token_invalid')
    assert.equal(line.path, '/api/v1/users/7', 'the path, never the query string')
    assert.equal(line.api, 'users')
    assert.equal(line.user, undefined, 'an unverified token names nobody')
    assert.equal(line.credentialId, undefined)
    assert.ok(!f.gh.logText().includes(t.split('.')[2] as string), 'no token in the log')
    assert.ok(!f.gh.logText().includes('secret-in-query'), 'no query string in the log')
  })

  test('a verified JWT short of permission: user and credential id (the jti) too', async () => {
    const t = await f.token({ jti: 'jti-short-of-rw', permissions: { users: 'r' } })
    const line = await refusedLine('/api/v1/users/8', { method: 'POST', headers: bearer(t), body: '{}' }, 403)
    assert.equal(line.reason, 'permission_insufficient')
    assert.equal(line.path, '/api/v1/users/8')
    assert.equal(line.api, 'users')
    assert.equal(line.user, 'alice')
    assert.equal(line.credentialId, 'jti-short-of-rw')
    assert.equal(line.method, 'POST')
  })

  test("a verified API key from outside its own CIDR list: the key's user and id", async () => {
    const made = await createKey(f.gh.gh.store, { user: 'erin', ipFilter: ['10.1.0.0/16'] })
    const line = await refusedLine('/api/v1/sessions/1', { headers: { 'x-api-key': made.key }, clientIp: '10.2.0.1' }, 403)
    assert.equal(line.reason, 'credential_ip_denied')
    assert.equal(line.api, 'sessions')
    assert.equal(line.user, 'erin')
    assert.equal(line.credentialId, made.record.id)
    assert.equal(line.clientIp, '10.2.0.1')
    assert.ok(!f.gh.logText().includes(made.key), 'no key in the log')
  })
})

test('log.levelFormat: number gives pino\'s numbers instead', async () => {
  const gh = await startTestGatehouse({ upstream: { url: f.upstream.url }, apis: [{ name: 'users', prefixes: ['/api'] }], log: { level: 'info', levelFormat: 'number' } })
  try {
    const listening = gh.logs().find((l) => l.msg === 'gatehouse listening')
    assert.equal(listening?.level, 30)
  } finally {
    await gh.close()
  }
})
