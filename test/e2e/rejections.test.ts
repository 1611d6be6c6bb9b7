// Every SPEC §3 rejection: the right status, a problem+json body that never echoes
// the credential, a challenge on 401, and an upstream that saw nothing.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { exportSPKI } from 'jose'
import { createHmac } from 'node:crypto'
import { createKey } from '../support/api-keys.js'
import { bearer, call, startFixture, type Fixture } from '../support/fixture.js'
import { makeKeyPair, mintJwt, tamperSignature, unsignedJwt, base64urlJson } from '../support/mint.js'
import type { Reply } from '../support/http.js'
import { rawRequest } from '../support/raw-http.js'

let f: Fixture
before(async () => {
  f = await startFixture()
})
after(() => f.close())

interface Expect {
  status: number
  reason: string
  /** Text that must not appear in the response (the credential). */
  secret?: string
}

/** Sends the request and checks status, body shape and that the upstream saw nothing. */
async function refused(send: () => Promise<Reply>, e: Expect): Promise<Record<string, unknown>> {
  const before = f.upstream.requests.length
  const res = await send()
  const text = res.text
  assert.equal(res.status, e.status, `status for ${e.reason}: ${text}`)
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/)
  const body = JSON.parse(text) as Record<string, unknown>
  assert.equal(body.status, e.status)
  assert.equal(body.type, `https://gatehouse.dev/problems/${e.reason}`)
  assert.equal(typeof body.title, 'string')
  assert.equal(typeof body.detail, 'string')
  if (e.status === 401) assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="gatehouse"/)
  if (e.secret) assert.ok(!text.includes(e.secret) && !JSON.stringify([...res.headers]).includes(e.secret), 'credential echoed')
  assert.equal(f.upstream.requests.length, before, 'the upstream must see nothing')
  return body
}

describe('credential checks (SPEC §3.5)', () => {
  test('no credential is 401 credential_missing with a bare challenge', async () => {
    const before = f.upstream.requests.length
    const res = await call(f, '/api/v1/users')
    assert.equal(res.status, 401)
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="gatehouse", ApiKey realm="gatehouse"')
    assert.equal((res.json as { type: string }).type, 'https://gatehouse.dev/problems/credential_missing')
    assert.equal(f.upstream.requests.length, before)
  })

  test('two Authorization headers are 400 credential_ambiguous', async () => {
    const [a, b] = [await f.token(), await f.token()]
    const before = f.upstream.requests.length
    const r = await rawRequest(
      portOf(f),
      `GET /api/v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${a}\r\nAuthorization: Bearer ${b}\r\nConnection: close\r\n\r\n`,
    )
    assert.equal(r.status, 400)
    assert.match(r.head, /www-authenticate: Bearer realm="gatehouse", error="invalid_request"/i)
    assert.equal(JSON.parse(r.body).type, 'https://gatehouse.dev/problems/credential_ambiguous')
    assert.equal(f.upstream.requests.length, before)
  })

  test('a JWT and an API key together are 400 credential_ambiguous', async () => {
    const { key } = await createKey(f.gh.gh.store)
    const token = await f.token()
    await refused(() => call(f, '/api/v1/users', { headers: { ...bearer(token), 'x-api-key': key } }), {
      status: 400,
      reason: 'credential_ambiguous',
      secret: key,
    })
  })

  test('garbage in place of a JWT is 401', async () => {
    await refused(() => call(f, '/api/v1/users', { headers: bearer('not-a-jwt') }), { status: 401, reason: 'credential_malformed' })
    await refused(() => call(f, '/api/v1/users', { headers: bearer('a.b.c') }), { status: 401, reason: 'credential_malformed' })
  })

  test('an unsupported Authorization scheme is 401', async () => {
    await refused(() => call(f, '/api/v1/users', { headers: { authorization: 'Basic YWxpY2U6cHc=' } }), {
      status: 401,
      reason: 'credential_malformed',
    })
  })

  test('a bad signature is 401 token_invalid', async () => {
    const t = tamperSignature(await f.token())
    await refused(() => call(f, '/api/v1/users', { headers: bearer(t) }), { status: 401, reason: 'token_invalid', secret: t })
  })

  test('a token signed by another key is 401', async () => {
    const other = await makeKeyPair('RS256', 'rsa-1')
    const t = await mintJwt({ iss: 'test-idp', aud: 'legacy-api', sub: 'alice', exp: f.now() + 600, permissions: { users: 'rw' } }, other)
    await refused(() => call(f, '/api/v1/users', { headers: bearer(t) }), { status: 401, reason: 'token_invalid', secret: t })
  })

  test('alg none is 401', async () => {
    const t = unsignedJwt({ alg: 'none', typ: 'JWT' }, { iss: 'test-idp', aud: 'legacy-api', sub: 'alice', exp: f.now() + 600, permissions: { users: 'rw' } })
    await refused(() => call(f, '/api/v1/users', { headers: bearer(t) }), { status: 401, reason: 'token_invalid' })
  })

  test('HS256 signed with the RSA public key is 401 (algorithm confusion)', async () => {
    const pem = await exportSPKI(f.rsa.publicKey)
    const input = `${base64urlJson({ alg: 'HS256', typ: 'JWT' })}.${base64urlJson({ iss: 'test-idp', aud: 'legacy-api', sub: 'alice', exp: f.now() + 600, permissions: { users: 'rw' } })}`
    const t = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`
    await refused(() => call(f, '/api/v1/users', { headers: bearer(t) }), { status: 401, reason: 'token_invalid' })
  })

  test('an unknown kid at a JWKS issuer is 401', async () => {
    const t = await f.ecToken({}, { kid: 'no-such-kid' })
    await refused(() => call(f, '/api/v1/users', { headers: bearer(t) }), { status: 401, reason: 'token_invalid' })
  })

  test('a key of one issuer never verifies a token naming another', async () => {
    // Signed by the JWKS issuer's key, but claiming to come from test-idp.
    const t = await mintJwt({ iss: 'test-idp', aud: 'legacy-api', sub: 'alice', exp: f.now() + 600, permissions: { users: 'rw' } }, f.ec)
    await refused(() => call(f, '/api/v1/users', { headers: bearer(t) }), { status: 401, reason: 'token_invalid' })
  })

  test('a wrong or unknown iss is 401', async () => {
    const t = await f.token({ iss: 'evil-idp' })
    await refused(() => call(f, '/api/v1/users', { headers: bearer(t) }), { status: 401, reason: 'token_invalid' })
  })

  test('a wrong aud is 401', async () => {
    const t = await f.token({ aud: 'another-api' })
    await refused(() => call(f, '/api/v1/users', { headers: bearer(t) }), { status: 401, reason: 'token_invalid' })
  })

  test('expired beyond the leeway is 401 token_expired', async () => {
    const t = await f.token({ iat: f.now() - 600, exp: f.now() - 31 - 5 })
    await refused(() => call(f, '/api/v1/users', { headers: bearer(t) }), { status: 401, reason: 'token_expired' })
  })

  test('expired within the leeway is still accepted', async () => {
    const t = await f.token({ iat: f.now() - 600, exp: f.now() - 10 })
    const res = await call(f, '/api/v1/users', { headers: bearer(t) })
    assert.equal(res.status, 200)
  })

  test('nbf in the future beyond the leeway is 401', async () => {
    const t = await f.token({ nbf: f.now() + 120 })
    await refused(() => call(f, '/api/v1/users', { headers: bearer(t) }), { status: 401, reason: 'token_invalid' })
  })

  test('a token without exp is 401', async () => {
    const t = await f.token({ exp: undefined })
    await refused(() => call(f, '/api/v1/users', { headers: bearer(t) }), { status: 401, reason: 'token_invalid' })
  })

  test('a JWT in the query string is never accepted', async () => {
    const t = await f.token()
    await refused(() => call(f, `/api/v1/users?access_token=${t}`), { status: 401, reason: 'credential_missing' })
  })
})

describe('API keys (SPEC §3.5, §5)', () => {
  test('unknown, disabled, expired and mistyped keys are 401 with one identical body', async () => {
    const store = f.gh.gh.store
    const good = await createKey(store)
    const disabled = await createKey(store, { enabled: false })
    const expired = await createKey(store, { expiresAt: f.now() - 1 })
    const unknown = await createKey(store)
    await store.revoke([unknown.record.id])
    const i = good.key.length - 3
    const mistyped = good.key.slice(0, i) + (good.key[i] === 'a' ? 'b' : 'a') + good.key.slice(i + 1)
    const bodies = new Set<string>()
    for (const key of [unknown.key, disabled.key, expired.key, mistyped, 'gh_short']) {
      const body = await refused(() => call(f, '/api/v1/users', { headers: { 'x-api-key': key } }), {
        status: 401,
        reason: 'key_invalid',
        secret: key,
      })
      bodies.add(JSON.stringify({ ...body, instance: undefined }))
    }
    assert.equal(bodies.size, 1, 'no oracle for which keys exist')
    // The good key still works, and through "Authorization: ApiKey" too.
    assert.equal((await call(f, '/api/v1/users', { headers: { 'x-api-key': good.key } })).status, 200)
    assert.equal((await call(f, '/api/v1/users', { headers: { authorization: `ApiKey ${good.key}` } })).status, 200)
  })

  test('the failure reasons stay precise in metrics', async () => {
    const metrics = await (await fetch(`${f.gh.adminUrl}/metrics`)).text()
    for (const reason of ['key_unknown', 'key_disabled', 'key_expired', 'key_malformed']) {
      assert.match(metrics, new RegExp(`gatehouse_auth_failures_total\\{reason="${reason}"\\} [1-9]`))
    }
  })
})

describe('address filters (SPEC §3.2, §3.3, §3.6)', () => {
  test('the global deny list refuses IPv4, IPv6 and IPv4-mapped clients before credentials', async () => {
    const t = await f.token()
    for (const ip of ['198.51.100.7', '2001:db8:bad::1', '::ffff:198.51.100.9']) {
      await refused(() => call(f, '/api/v1/users', { headers: bearer(t), clientIp: ip }), { status: 403, reason: 'ip_denied' })
    }
    // Denied even with no credential at all: the filter comes first.
    await refused(() => call(f, '/api/v1/users', { clientIp: '198.51.100.7' }), { status: 403, reason: 'ip_denied' })
  })

  test('the right-most untrusted X-Forwarded-For hop is the client', async () => {
    const t = await f.token()
    // The attacker puts an allowed address first; the trusted proxy appended the real one.
    await refused(() => call(f, '/api/v1/users', { headers: bearer(t), clientIp: '10.0.0.1, 198.51.100.7' }), {
      status: 403,
      reason: 'ip_denied',
    })
  })

  test("a key's own CIDR list refuses other addresses (IPv4 and IPv6)", async () => {
    const v4 = await createKey(f.gh.gh.store, { ipFilter: ['10.1.0.0/16'] })
    await refused(() => call(f, '/api/v1/users', { headers: { 'x-api-key': v4.key }, clientIp: '10.2.0.1' }), {
      status: 403,
      reason: 'credential_ip_denied',
    })
    assert.equal((await call(f, '/api/v1/users', { headers: { 'x-api-key': v4.key }, clientIp: '10.1.2.3' })).status, 200)
    assert.equal((await call(f, '/api/v1/users', { headers: { 'x-api-key': v4.key }, clientIp: '::ffff:10.1.2.3' })).status, 200)

    const v6 = await createKey(f.gh.gh.store, { ipFilter: ['2001:db8:1::/48'] })
    await refused(() => call(f, '/api/v1/users', { headers: { 'x-api-key': v6.key }, clientIp: '2001:db8:2::1' }), {
      status: 403,
      reason: 'credential_ip_denied',
    })
    assert.equal((await call(f, '/api/v1/users', { headers: { 'x-api-key': v6.key }, clientIp: '2001:db8:1::5' })).status, 200)
  })
})

describe('X-Forwarded-For from an untrusted peer', () => {
  test('is ignored: the socket address decides', async () => {
    // A Gatehouse that trusts no proxy and allows only 10.0.0.0/8.
    const g = await startFixture({ trustedProxies: [], ipFilter: { allow: ['10.0.0.0/8'], deny: [] } })
    try {
      const t = await g.token()
      const before = g.upstream.requests.length
      const res = await call(g, '/api/v1/users', { headers: { ...bearer(t), 'x-real-ip': '10.0.0.1', forwarded: 'for=10.0.0.1' }, clientIp: '10.0.0.1' })
      assert.equal(res.status, 403)
      assert.equal((res.json as { type: string }).type, 'https://gatehouse.dev/problems/ip_denied')
      assert.equal(g.upstream.requests.length, before)
    } finally {
      await g.close()
    }
  })
})

describe('permissions (SPEC §3.7)', () => {
  test('r may GET, HEAD and OPTIONS but not POST, PUT, PATCH or DELETE', async () => {
    const t = await f.token({ permissions: { users: 'r' } })
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      assert.equal((await call(f, '/api/v1/users/7', { method, headers: bearer(t) })).status, 200, method)
    }
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND']) {
      await refused(() => call(f, '/api/v1/users/7', { method, headers: bearer(t), body: method === 'PROPFIND' ? undefined : '{}' }), {
        status: 403,
        reason: 'permission_insufficient',
      })
    }
  })

  test('permission for another API is 403', async () => {
    const t = await f.token({ permissions: { sessions: 'rw' } })
    await refused(() => call(f, '/api/v1/roles', { headers: bearer(t) }), { status: 403, reason: 'permission_insufficient' })
  })

  test('scopes map to permissions only through scopeMap; an unmapped scope grants nothing', async () => {
    const t = await f.token({ permissions: undefined, scope: 'users.write admin' })
    await refused(() => call(f, '/api/v1/users', { headers: bearer(t) }), { status: 403, reason: 'permission_insufficient' })
  })

  test('an unmatched path is 403 under unmatched: deny, before any credential is looked at', async () => {
    await refused(() => call(f, '/internal/admin'), { status: 403, reason: 'no_api' })
    await refused(() => call(f, '/api/v1/usersX', { headers: bearer('garbage') }), { status: 403, reason: 'no_api' })
  })
})

describe('requests refused outright', () => {
  test('TRACE is 405', async () => {
    const before = f.upstream.requests.length
    const r = await rawRequest(portOf(f), 'TRACE /api/v1/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    assert.equal(r.status, 405)
    assert.equal(JSON.parse(r.body).type, 'https://gatehouse.dev/problems/method_not_allowed')
    assert.equal(f.upstream.requests.length, before)
  })

  test('a path that cannot be normalised safely is 400', async () => {
    for (const target of ['/api/v1/users%2f..', '/../etc/passwd', '/api/v1/version/%00', '/api/v1/%zz']) {
      const before = f.upstream.requests.length
      const r = await rawRequest(portOf(f), `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
      assert.equal(r.status, 400, target)
      assert.equal(JSON.parse(r.body).type, 'https://gatehouse.dev/problems/path_invalid', target)
      assert.equal(f.upstream.requests.length, before, target)
    }
  })

  test('two Host headers are 400', async () => {
    const before = f.upstream.requests.length
    const r = await rawRequest(portOf(f), 'GET /api/v1/version HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n')
    assert.equal(r.status, 400)
    assert.equal(f.upstream.requests.length, before)
  })

  test('a refused request with a large body is answered without reading it, and the connection closed', async () => {
    const before = f.upstream.requests.length
    const r = await rawRequest(
      portOf(f),
      `POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n${'x'.repeat(1024)}`,
    )
    assert.equal(r.status, 401)
    assert.match(r.head, /connection: close/i)
    assert.equal(f.upstream.requests.length, before)
  })
})

function portOf(x: Fixture): number {
  return Number(new URL(x.gh.url.replace('[::]', '127.0.0.1')).port)
}
