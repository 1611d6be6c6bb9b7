// Attack catalogue §5 (SECURITY.md) (token-issuing endpoints): the rows' inputs that the
// issuer-*.test.ts suites do not already send (those carry the ids in their names:
// #81 #82 #84 in issuer-jwt, #85 #86 in issuer-oauth, #89 in issuer-jwt, #90 #91 in
// issuer-introspect, #92 in issuer-jwks), against the catalogue's world.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { bearer, PASSWORDS, SERVICE, startWorld, type World } from '../support/security-fixture.js'

let w: World
before(async () => {
  w = await startWorld({ config: { trustedProxies: ['127.0.0.1/32'] } })
})
after(() => w.close())

const basic = (user: string, pw: string): [string, string] => ['Authorization', `Basic ${Buffer.from(`${user}:${pw}`, 'utf8').toString('base64')}`]
const json: [string, string] = ['Content-Type', 'application/json']
const form: [string, string] = ['Content-Type', 'application/x-www-form-urlencoded']

describe('attack catalogue §5 token-issuing endpoints', () => {
  test('#82 Basic parsing: an empty password, a Unicode or unknown user are 401; a 1 MB password is 431; never 500', async () => {
    for (const [what, header, status] of [
      ['alice: (empty password)', basic('alice', ''), 401],
      ['a Unicode user', basic('ålice\u200d', 'pw'), 401],
      ['a user with a colon-free password of 4 KB + 1', basic('alice', 'p'.repeat(4097)), 401],
      ['a 1 MB password', basic('alice', 'p'.repeat(1 << 20)), 431],
    ] as const) {
      const r = await w.request(`${SERVICE}/v1/auth/jwt`, [header, json, ['X-Forwarded-For', '192.0.2.82']], 'POST', '{"permissions":{}}')
      assert.equal(r.status, status, what)
    }
  })

  test('#89 impersonation by an admin: sub is the target, act the admin; U gets both; the issue is in the audit log', async () => {
    const r = await w.request(`${SERVICE}/v1/auth/jwt`, [basic('carol', PASSWORDS.carol as string), json], 'POST', JSON.stringify({ permissions: { api: 'r' }, targetUser: 'bob' }))
    assert.equal(r.status, 200, r.body)
    const token = (JSON.parse(r.body) as { token: string }).token
    assert.equal((await w.request('/api/x', [bearer(token)])).status, 200)
    assert.equal(w.lastSeen().headers['x-auth-user'], 'bob')
    assert.equal(w.lastSeen().headers['x-auth-actor'], 'carol')
    assert.equal(w.lastSeen().headers['x-auth-permissions'], 'api:r')
    assert.ok(w.P.logs().some((l) => l.event === 'jwt_issued' && l.user === 'bob' && l.actor === 'carol'), 'audit entry')
    // Beyond bob's own permissions: refused, though carol holds them.
    const beyond = await w.request(`${SERVICE}/v1/auth/jwt`, [basic('carol', PASSWORDS.carol as string), json], 'POST', JSON.stringify({ permissions: { api: 'rw' }, targetUser: 'bob' }))
    assert.equal(beyond.status, 403)
  })

  test('#91 introspection of garbage is {"active":false} every time; the caller must authenticate and its failures are throttled (429)', async () => {
    const caller = basic('carol', PASSWORDS.carol as string)
    for (let i = 0; i < 30; i++) {
      const r = await w.request(`${SERVICE}/oauth/introspect`, [caller, form], 'POST', `token=gh_${'x'.repeat(i)}&token_type_hint=refresh_token`)
      assert.equal(r.status, 200)
      assert.equal(r.body, '{"active":false}')
    }
    let last = 0
    for (let i = 0; i < 25 && last !== 429; i++) {
      last = (await w.request(`${SERVICE}/oauth/introspect`, [basic(`nobody-${i}`, 'guess'), form, ['X-Forwarded-For', '198.51.100.91']], 'POST', 'token=abc')).status
    }
    assert.equal(last, 429)
  })
})
