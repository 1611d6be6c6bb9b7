// SPEC §4 and attack #56–#58: identity headers the caller sends never
// reach the upstream, whatever their case, spelling or trickery.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startFixture, type Fixture } from '../support/fixture.js'
import { rawRequest } from '../support/raw-http.js'

let f: Fixture
let port: number
before(async () => {
  f = await startFixture()
  port = Number(new URL(f.gh.url.replace('[::]', '127.0.0.1')).port)
})
after(() => f.close())

async function send(path: string, extraHeaders: string, withToken = true): Promise<Record<string, string | string[] | undefined>> {
  const auth = withToken ? `Authorization: Bearer ${await f.token({ permissions: { users: 'r' } })}\r\n` : ''
  const before = f.upstream.requests.length
  const r = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: test\r\n${auth}${extraHeaders}Connection: close\r\n\r\n`)
  assert.equal(r.status, 200, r.body)
  assert.equal(f.upstream.requests.length, before + 1)
  return f.upstream.requests.at(-1)!.headers
}

const spoofs = [
  'X-Auth-User: admin\r\n',
  'x-auth-user: admin\r\n',
  'X-AUTH-PERMISSIONS: users:rw admin:rw\r\n',
  'X_Auth_User: admin\r\n',
  'X-Auth_User: admin\r\n',
  'x_auth_permissions: admin:rw\r\n',
  'X-Auth-User: admin\r\nX-Auth-User: root\r\n',
  'X-Auth-Actor: admin\r\nX-Auth-Method: apikey\r\nX-Auth-Issuer: gatehouse\r\n',
]

for (const spoof of spoofs) {
  test(`${JSON.stringify(spoof.trim())} is replaced by the real identity`, async () => {
    const h = await send('/api/v1/users', spoof)
    assert.equal(h['x-auth-user'], 'alice')
    assert.equal(h['x-auth-permissions'], 'users:r')
    assert.equal(h['x-auth-actor'], undefined)
    assert.equal(h['x-auth-method'], 'jwt')
    for (const name of Object.keys(h)) assert.ok(!/^x[-_]auth[-_]/i.test(name) || !name.includes('_'), `leaked ${name}`)
  })

  test(`${JSON.stringify(spoof.trim())} on a public API arrives as no identity at all`, async () => {
    const h = await send('/api/v1/version', spoof, false)
    assert.deepEqual(
      Object.keys(h).filter((n) => /^x[-_]auth[-_]/i.test(n)),
      [],
    )
  })
}

test('Connection cannot name our headers away (strip before set)', async () => {
  const h = await send('/api/v1/users', 'Connection: X-Auth-User, X-Auth-Permissions, X-Forwarded-For\r\nX-Auth-User: admin\r\n')
  assert.equal(h['x-auth-user'], 'alice')
  assert.equal(h['x-auth-permissions'], 'users:r')
  assert.ok(typeof h['x-forwarded-for'] === 'string' && h['x-forwarded-for'].length > 0)
})

test('Connection split over two lines and mixed case is honoured for client headers only', async () => {
  const h = await send('/api/v1/users', 'Connection: keep-alive, X-Custom-Hop\r\nconnection: x-auth-user\r\nX-Custom-Hop: 1\r\nX-Kept: 2\r\n')
  assert.equal(h['x-custom-hop'], undefined)
  assert.equal(h['x-kept'], '2')
  assert.equal(h['x-auth-user'], 'alice')
})

test('client-supplied forwarding headers are rebuilt, not trusted', async () => {
  const h = await send('/api/v1/users', 'X-Real-IP: 10.9.9.9\r\nForwarded: for=10.9.9.9\r\nTrue-Client-IP: 10.9.9.9\r\nX-Forwarded-Host: evil.example\r\n')
  assert.equal(h['x-real-ip'], undefined)
  assert.equal(h.forwarded, undefined)
  assert.equal(h['true-client-ip'], undefined)
  assert.equal(h['x-forwarded-host'], 'test')
  assert.equal(h['x-forwarded-for'], '127.0.0.1')
})
