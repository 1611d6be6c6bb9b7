// POST /v1/auth/jwt (SPEC §6) over real sockets: the token it issues and what the
// proxy makes of it, every refusal (attack #80, #81, #84, #89), and the
// login throttle.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import bcrypt from 'bcryptjs'
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose'
import { recordScrypt } from '../support/crypto-calls.js'
import { rawRequest } from '../support/raw-http.js'
import {
  apiKey,
  basic,
  bearer,
  dave,
  defaultUsers,
  startTokenService,
  type TokenServiceFixture,
} from '../support/token-service.js'
import type { Reply } from '../support/http.js'

// erin's password is longer than the 72 bytes bcrypt reads (attack #82).
const ERIN_PASSWORD = `${'E'.repeat(72)}-the-tail-bcrypt-ignores`

let ts: TokenServiceFixture
before(async () => {
  const erin = { name: 'erin', passwordHash: await bcrypt.hash(ERIN_PASSWORD, 4), permissions: { users: 'r' as const } }
  ts = await startTokenService({ users: [...(await defaultUsers()), await dave(), erin] })
})
after(() => ts.close())

const PROBLEM = 'https://gatehouse.dev/problems/'
const nowSeconds = () => Math.floor(Date.now() / 1000)

function assertProblem(r: Reply, status: number, code: string): void {
  assert.equal(r.status, status, r.text)
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/)
  assert.equal(r.json?.type, PROBLEM + code, r.text)
  assert.equal(r.json?.status, status)
  assert.equal(typeof r.json?.detail, 'string')
  assert.equal(r.json?.token, undefined, 'a refusal carries no token')
}

/** Calls the users API through the proxy with the token; returns the status and what the upstream saw. */
async function useToken(headers: Record<string, string>, method = 'GET', path = '/api/v1/users/7') {
  const before = ts.upstream.requests.length
  const r = await ts.proxy(path, { method, headers })
  const seen = ts.upstream.requests.slice(before)
  return { status: r.status, seen: seen[0]?.headers, count: seen.length }
}

const issuedLogs = () => ts.th.logs().filter((l) => l.event === 'jwt_issued').length

describe('a JWT issued after Basic auth', () => {
  let token: string
  let reply: Reply
  before(async () => {
    reply = await ts.postJson('/v1/auth/jwt', { permissions: { users: 'rw', sessions: 'r' } }, basic('alice'))
    assert.equal(reply.status, 200, reply.text)
    token = reply.json.token
  })

  test('is accepted by the proxy, which sends the upstream who, how and which credential', async () => {
    const { status, seen } = await useToken(bearer(token), 'POST')
    assert.equal(status, 200)
    const claims = decodeJwt(token)
    assert.equal(seen?.['x-auth-user'], 'alice')
    assert.equal(seen?.['x-auth-issuer'], 'gatehouse')
    assert.equal(seen?.['x-auth-method'], 'jwt')
    assert.equal(seen?.['x-auth-credential-id'], claims.jti)
    assert.equal(seen?.['x-auth-permissions'], 'sessions:r users:rw')
    assert.equal(seen?.['x-auth-expires'], String(claims.exp))
    assert.equal(seen?.['x-auth-actor'], undefined, 'no actor without impersonation')
  })

  test('carries typ at+jwt and the kid of a key in the JWKS, and verifies against that JWKS', async () => {
    const header = decodeProtectedHeader(token)
    assert.equal(header.typ, 'at+jwt')
    const jwks = await ts.service('GET', '/.well-known/jwks.json')
    assert.ok(
      jwks.json.keys.some((k: { kid: string }) => k.kid === header.kid),
      'the kid is published',
    )
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks.json), { issuer: 'gatehouse', audience: 'gatehouse', typ: 'at+jwt' })
    assert.equal(payload.sub, 'alice')
  })

  test('carries iss, sub, aud, iat, exp, jti and permissions, and the default lifetime jwtDefaultTtl (PT30M)', () => {
    const c = decodeJwt(token) as JWTPayload & { permissions?: unknown }
    assert.equal(c.iss, 'gatehouse')
    assert.equal(c.sub, 'alice')
    assert.equal(c.aud, 'gatehouse')
    assert.ok(Math.abs((c.iat as number) - nowSeconds()) <= 5, 'iat is now')
    assert.equal((c.exp as number) - (c.iat as number), 1800)
    assert.match(c.jti as string, /^[0-9a-f-]{36}$/)
    assert.deepEqual(c.permissions, { users: 'rw', sessions: 'r' })
    assert.equal(c.act, undefined)
    assert.equal(reply.json.expiresAt, new Date((c.exp as number) * 1000).toISOString())
    assert.equal(reply.json.expiresIn, 1800)
  })

  test('gets 403 where its permissions are short, without reaching the upstream', async () => {
    const { status, count } = await useToken(bearer(token), 'POST', '/api/v1/sessions')
    assert.equal(status, 403)
    assert.equal(count, 0)
  })

  test('is refused at the token service itself: a JWT never mints a JWT (403, nothing issued; #84)', async () => {
    const issued = issuedLogs()
    const r = await ts.postJson('/v1/auth/jwt', { permissions: { users: 'r' } }, bearer(token))
    assertProblem(r, 403, 'jwt_not_accepted')
    const key = await ts.postJson('/v1/auth/apikeys', { permissions: { users: 'r' } }, bearer(token))
    assertProblem(key, 403, 'jwt_not_accepted')
    assert.equal(issuedLogs(), issued, 'no JWT was issued')
  })

  test('is refused as a Basic password, and so is an API key (401; #84)', async () => {
    const { key } = await ts.createKey('alice', { permissions: { users: 'r' } })
    for (const password of [token, key]) {
      const issued = issuedLogs()
      const r = await ts.postJson('/v1/auth/jwt', { permissions: {} }, { ...basic('alice', password), 'x-forwarded-for': '192.0.2.5' })
      assertProblem(r, 401, 'unauthenticated')
      assert.equal(issuedLogs(), issued)
    }
    await ts.issueJwt('alice') // clears alice's failure count
  })
})

describe('an API key as the caller', () => {
  test('mints a JWT for its user, with Authorization: ApiKey or X-API-Key', async () => {
    const { key } = await ts.createKey('alice', { permissions: { users: 'rw' } })
    for (const headers of [apiKey(key), { authorization: `ApiKey ${key}` }]) {
      const r = await ts.postJson('/v1/auth/jwt', { permissions: { users: 'r' } }, headers)
      assert.equal(r.status, 200, r.text)
      const { status, seen } = await useToken(bearer(r.json.token))
      assert.equal(status, 200)
      assert.equal(seen?.['x-auth-user'], 'alice')
      assert.equal(seen?.['x-auth-permissions'], 'users:r')
    }
  })

  test('mints nothing beyond its own permissions, though its user holds more (403; #80)', async () => {
    const { key } = await ts.createKey('alice', { permissions: { users: 'r' } })
    const r = await ts.postJson('/v1/auth/jwt', { permissions: { users: 'rw' } }, apiKey(key))
    assertProblem(r, 403, 'permission_exceeds_user')
  })

  test('mints nothing that outlives it: the JWT expires no later than the key (#80)', async () => {
    const { key, id } = await ts.createKey('alice', { permissions: { users: 'r' }, expires: 'PT2M' })
    const keyExpiry = Date.parse(
      (await ts.service('GET', '/v1/auth/apikeys', { headers: basic('alice') })).json.keys.find((k: { id: string }) => k.id === id).expiresAt,
    )
    const r = await ts.postJson('/v1/auth/jwt', { permissions: { users: 'r' }, expires: 'PT6H' }, apiKey(key))
    assert.equal(r.status, 200, r.text)
    const exp = decodeJwt(r.json.token).exp as number
    assert.ok(exp * 1000 <= keyExpiry, `JWT exp ${exp} must not be after the key's ${keyExpiry / 1000}`)
    assert.ok(r.json.expiresIn <= 120)
  })

  test('is held to its own ipFilter at the token service too (403)', async () => {
    const { key } = await ts.createKey('alice', { permissions: { users: 'r' }, ipFilter: ['10.0.0.0/8'] })
    assertProblem(await ts.postJson('/v1/auth/jwt', { permissions: {} }, { ...apiKey(key), 'x-forwarded-for': '192.0.2.50' }), 403, 'forbidden')
    assert.equal((await ts.postJson('/v1/auth/jwt', { permissions: {} }, { ...apiKey(key), 'x-forwarded-for': '10.9.8.7' })).status, 200)
  })

  test('once revoked, mints nothing (401; #78)', async () => {
    const { key, id } = await ts.createKey('alice', { permissions: { users: 'r' } })
    const del = await ts.postJson('/v1/auth/apikeys/delete', [id], basic('alice'))
    assert.deepEqual(del.json.revoked, [id])
    assertProblem(await ts.postJson('/v1/auth/jwt', { permissions: {} }, apiKey(key)), 401, 'unauthenticated')
  })
})

describe('expires', () => {
  const refused: [string, RegExp][] = [
    ['P1Y', /years, months or weeks/],
    ['P1M', /years, months or weeks/],
    ['P1W', /years, months or weeks/],
    ['-PT1H', /sign/],
    ['PT0S', /zero/],
    ['PT1.5H', /fraction/],
    ['garbage', /PnDTnHnMnS/],
    ['PT12H1S', /at most 43200 seconds/],
    ['P1D', /at most 43200 seconds/],
  ]
  for (const [expires, says] of refused) {
    test(`"${expires}" is 400 with a message saying what is allowed`, async () => {
      const r = await ts.postJson('/v1/auth/jwt', { permissions: {}, expires }, basic('bob'))
      assertProblem(r, 400, 'invalid_body')
      assert.match(r.json.detail, /^expires: /)
      assert.match(r.json.detail, says)
      assert.match(r.json.detail, /PnDTnHnMnS|at most/, 'the message says what is allowed')
    })
  }

  for (const [expires, seconds] of [
    ['PT5M', 300],
    ['PT1H30M', 5400],
    ['PT12H', 43200],
  ] as const) {
    test(`"${expires}" gives a token of ${seconds} s`, async () => {
      const token = await ts.issueJwt('bob', { permissions: { users: 'r' }, expires })
      const c = decodeJwt(token)
      assert.equal((c.exp as number) - (c.iat as number), seconds)
    })
  }
})

describe('permissions asked for', () => {
  test('beyond what the user holds are refused (403), not silently cut', async () => {
    for (const permissions of [{ users: 'rw' }, { sessions: 'r' }, { users: 'r', billing: 'r' }]) {
      const r = await ts.postJson('/v1/auth/jwt', { permissions }, basic('bob'))
      assertProblem(r, 403, 'permission_exceeds_user')
    }
  })

  test('"none" entries grant nothing and are left out of the token', async () => {
    const token = await ts.issueJwt('bob', { permissions: { users: 'r', sessions: 'none' } })
    assert.deepEqual((decodeJwt(token) as { permissions: unknown }).permissions, { users: 'r' })
  })
})

describe('request bodies', () => {
  const cases: [string, unknown, RegExp][] = [
    ['an unknown field', { permissions: {}, role: 'admin' }, /unknown field "role"/],
    ['permissions as a string', { permissions: 'users:rw' }, /permissions/],
    ['an unknown level', { permissions: { users: 'admin' } }, /^body\/permissions\/users /], // names the field (in Ajv's anyOf wording)
    ['expires as a number', { permissions: {}, expires: 3600 }, /expires/],
    ['no permissions', {}, /permissions/],
    ['a JSON array', [], /^body must be object$/],
  ]
  for (const [what, body, says] of cases) {
    test(`with ${what} is 400 with a clear message`, async () => {
      const r = await ts.postJson('/v1/auth/jwt', body, basic('bob'))
      assertProblem(r, 400, 'invalid_body')
      assert.match(r.json.detail, says)
    })
  }

  test('that is not JSON is 400', async () => {
    assertProblem(await ts.postJson('/v1/auth/jwt', '{"permissions":', basic('bob')), 400, 'invalid_body')
  })

  test('over the body limit is 413', async () => {
    const r = await ts.postJson('/v1/auth/jwt', { permissions: {}, pad: 'x'.repeat(100 * 1024) }, basic('bob'))
    assertProblem(r, 413, 'body_too_large')
  })
})

describe('Basic authentication', () => {
  test('a wrong password and an unknown user are the same 401, body and challenge alike (#81)', async () => {
    const wrong = await ts.postJson('/v1/auth/jwt', { permissions: {} }, { ...basic('bob', 'not-his-password'), 'x-forwarded-for': '192.0.2.11' })
    const unknown = await ts.postJson('/v1/auth/jwt', { permissions: {} }, { ...basic('mallory', 'whatever'), 'x-forwarded-for': '192.0.2.12' })
    assertProblem(wrong, 401, 'unauthenticated')
    assert.equal(unknown.status, wrong.status)
    assert.equal(unknown.text, wrong.text)
    assert.equal(unknown.headers.get('www-authenticate'), wrong.headers.get('www-authenticate'))
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic /)
  })

  test('an unknown user costs the same hash work as a wrong password (#81)', async () => {
    // Counted, not timed: every scrypt call the service makes, with its cost.
    const scrypt = recordScrypt()
    const calls = scrypt.calls
    const work = async (user: string, pw: string, ip: string) => {
      const before = calls.length
      const r = await ts.postJson('/v1/auth/jwt', { permissions: {} }, { ...basic(user, pw), 'x-forwarded-for': ip })
      assert.equal(r.status, 401)
      return calls.slice(before)
    }
    try {
      for (const [i, user] of ['alice', 'bob'].entries()) {
        const wrong = await work(user, `wrong-${i}`, `192.0.2.${20 + i}`)
        const unknown = await work(`nobody-${i}`, `wrong-${i}`, `192.0.2.${30 + i}`)
        assert.equal(wrong.length, 1, 'a wrong password is one scrypt')
        // Skipping the work for unknown names would make them ~1 ms instead of ~50: a user-name oracle.
        assert.deepEqual(unknown, wrong, 'an unknown name gets the same scrypt, at the same cost')
      }
    } finally {
      scrypt.restore()
    }
    // The right passwords clear the accounts' counts, so the other tests are not throttled.
    for (const user of ['alice', 'bob']) await ts.issueJwt(user)
  })

  const malformed: [string, string][] = [
    ['no credentials after the scheme', 'Basic'],
    ['padding only', 'Basic ==='],
    ['non-base64', 'Basic !!!!'],
    ['no colon', `Basic ${Buffer.from('alice').toString('base64')}`],
    ['an empty user', `Basic ${Buffer.from(':pw').toString('base64')}`],
    ['a NUL in the user', `Basic ${Buffer.from('ali\0ce:pw').toString('base64')}`],
  ]
  for (const [what, authorization] of malformed) {
    test(`Basic with ${what} is 401, never 500 (#82)`, async () => {
      assertProblem(await ts.postJson('/v1/auth/jwt', { permissions: {} }, { authorization, 'x-forwarded-for': '192.0.2.40' }), 401, 'unauthenticated')
    })
  }

  test('a password over 4 KB is 401, refused before any hashing (#82)', async () => {
    const t0 = performance.now()
    const r = await ts.postJson('/v1/auth/jwt', { permissions: {} }, { ...basic('alice', 'p'.repeat(5000)), 'x-forwarded-for': '192.0.2.41' })
    assertProblem(r, 401, 'unauthenticated')
    assert.ok(performance.now() - t0 < 2000)
  })

  test('bcrypt never compares only the first 72 bytes: a password sharing them is refused (#82)', async () => {
    const impostor = `${'E'.repeat(72)}-another-tail`
    const r = await ts.postJson('/v1/auth/jwt', { permissions: {} }, { ...basic('erin', impostor), 'x-forwarded-for': '192.0.2.42' })
    assertProblem(r, 401, 'unauthenticated')
  })

  test('a 100 KB Authorization header is refused with 431, never 500 (#82)', async () => {
    const port = Number(new URL(ts.base).port)
    const body = '{"permissions":{}}'
    const r = await rawRequest(
      port,
      `POST /_gatehouse/v1/auth/jwt HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
        `Authorization: Basic ${'A'.repeat(100 * 1024)}\r\nConnection: close\r\n\r\n${body}`,
    )
    assert.equal(r.status, 431)
  })

  test('no credentials at all is 401 with a Basic challenge', async () => {
    const r = await ts.postJson('/v1/auth/jwt', { permissions: {} })
    assertProblem(r, 401, 'unauthenticated')
    assert.match(r.headers.get('www-authenticate') ?? '', /^Basic realm="gatehouse"/)
  })
})

describe('repeated failures (#81)', () => {
  let fresh: TokenServiceFixture
  // A Gatehouse of its own, so the lock-outs here do not leak into the other tests.
  before(async () => {
    fresh = await startTokenService()
  })
  after(() => fresh.close())

  const attempt = (user: string, pw: string, ip: string) =>
    fresh.postJson('/v1/auth/jwt', { permissions: {} }, { ...basic(user, pw), 'x-forwarded-for': ip })

  test('lock the account from the guessing address: 429 with Retry-After, even for the right password, and alike for unknown names', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await attempt('alice', `guess-${i}`, '203.0.113.1')).status, 401)
    const locked = await attempt('alice', 'alice-correct-horse-battery', '203.0.113.1')
    assertProblem(locked, 429, 'too_many_attempts')
    const retryAfter = Number(locked.headers.get('retry-after'))
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${locked.headers.get('retry-after')}`)

    for (let i = 0; i < 5; i++) assert.equal((await attempt('nobody', `guess-${i}`, '203.0.113.2')).status, 401)
    assert.equal((await attempt('nobody', 'guess-x', '203.0.113.2')).status, 429, 'an unknown name locks like a known one')

    // Issue 12: the lock is the guesser's, never the account's.
    assert.equal((await attempt('alice', 'alice-correct-horse-battery', '203.0.113.100')).status, 200, 'alice elsewhere is not locked out')
    const other = await attempt('bob', 'bob-staple-orange-kettle', '203.0.113.101')
    assert.equal(other.status, 200, 'another account is not affected')
  })

  test('lock the client address after failures across many names: 429, while other addresses still log in', async () => {
    for (let i = 0; i < 20; i++) assert.equal((await attempt(`spray-${i}`, 'password1', '198.18.0.1')).status, 401)
    const locked = await attempt('carol', 'carol-lantern-seven-rivers', '198.18.0.1')
    assertProblem(locked, 429, 'too_many_attempts')
    assert.ok(Number(locked.headers.get('retry-after')) >= 1)
    assert.equal((await attempt('carol', 'carol-lantern-seven-rivers', '198.18.0.2')).status, 200)
  })
})

describe('targetUser (#89)', () => {
  test('without canImpersonate is 403', async () => {
    const r = await ts.postJson('/v1/auth/jwt', { permissions: {}, targetUser: 'dave' }, basic('bob'))
    assertProblem(r, 403, 'forbidden')
  })

  test('with canImpersonate gives sub = target, act.sub = the real user; the upstream gets both', async () => {
    const r = await ts.postJson('/v1/auth/jwt', { permissions: { users: 'r' }, targetUser: 'bob' }, basic('alice'))
    assert.equal(r.status, 200, r.text)
    const c = decodeJwt(r.json.token) as JWTPayload & { act?: { sub?: string } }
    assert.equal(c.sub, 'bob')
    assert.deepEqual(c.act, { sub: 'alice' })
    const { status, seen } = await useToken(bearer(r.json.token))
    assert.equal(status, 200)
    assert.equal(seen?.['x-auth-user'], 'bob')
    assert.equal(seen?.['x-auth-actor'], 'alice')
    assert.equal(seen?.['x-auth-permissions'], 'users:r')
  })

  test("is held to the target's permissions, not the impersonator's (403)", async () => {
    const r = await ts.postJson('/v1/auth/jwt', { permissions: { users: 'rw' }, targetUser: 'bob' }, basic('alice'))
    assertProblem(r, 403, 'permission_exceeds_user')
  })

  test('naming an admin is 403', async () => {
    assertProblem(await ts.postJson('/v1/auth/jwt', { permissions: {}, targetUser: 'carol' }, basic('alice')), 403, 'forbidden')
  })

  for (const [name, status] of [
    ['nobody', 404],
    ['Bob', 404],
    ['bob ', 400],
    ['bob\u0000', 400],
    ['', 400],
  ] as const) {
    test(`naming ${JSON.stringify(name)} is ${status}`, async () => {
      const r = await ts.postJson('/v1/auth/jwt', { permissions: {}, targetUser: name }, basic('alice'))
      assertProblem(r, status, status === 404 ? 'not_found' : 'invalid_body')
    })
  }

  test('a key minted by impersonation cannot impersonate again, nor mint keys', async () => {
    // dave may impersonate with his own password: the refusal below is about the chain.
    assert.equal((await ts.postJson('/v1/auth/jwt', { permissions: {}, targetUser: 'bob' }, basic('dave'))).status, 200)
    const made = await ts.postJson('/v1/auth/apikeys', { permissions: { users: 'r' }, targetUser: 'dave' }, basic('alice'))
    assert.equal(made.status, 201, made.text)
    assert.equal(made.json.user, 'dave')
    assert.equal(made.json.actor, 'alice')
    const key = made.json.key as string

    const again = await ts.postJson('/v1/auth/jwt', { permissions: {}, targetUser: 'bob' }, apiKey(key))
    assertProblem(again, 403, 'forbidden')
    assertProblem(await ts.postJson('/v1/auth/apikeys', { permissions: {} }, apiKey(key)), 403, 'forbidden')

    // For itself it still works, and the token keeps naming the real actor.
    const own = await ts.postJson('/v1/auth/jwt', { permissions: { users: 'r' } }, apiKey(key))
    assert.equal(own.status, 200, own.text)
    const c = decodeJwt(own.json.token) as JWTPayload & { act?: { sub?: string } }
    assert.equal(c.sub, 'dave')
    assert.deepEqual(c.act, { sub: 'alice' })
  })
})
