// The API-key endpoints of SPEC §6 over real sockets: create (shown once, stored
// hashed), list, PATCH, delete by ids, and what the proxy does with the key on the
// very next request (attack #78, #80); 200 concurrent creations lose none.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { apiKey, basic, startTokenService, type TokenServiceFixture } from '../support/token-service.js'
import type { Reply } from '../support/http.js'

let ts: TokenServiceFixture
before(async () => {
  ts = await startTokenService({ issuer: { maxKeysPerUser: 1000 } }) // the burst below makes 200 keys for one user
})
after(() => ts.close())

const PROBLEM = 'https://gatehouse.dev/problems/'

function assertProblem(r: Reply, status: number, code?: string): void {
  assert.equal(r.status, status, r.text)
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/)
  if (code) assert.equal(r.json?.type, PROBLEM + code, r.text)
  assert.equal(r.json?.key, undefined)
}

/** GET /api/v1/users through the proxy with the key: the status, and whether the upstream saw it. */
async function useKey(key: string, init: { method?: string; ip?: string; path?: string } = {}) {
  const before = ts.upstream.requests.length
  const headers: Record<string, string> = { ...apiKey(key), ...(init.ip ? { 'x-forwarded-for': init.ip } : {}) }
  const r = await ts.proxy(init.path ?? '/api/v1/users/1', { method: init.method ?? 'GET', headers })
  const seen = ts.upstream.requests.slice(before)
  assert.equal(seen.length, r.status === 200 ? 1 : 0, 'the upstream sees exactly the allowed requests')
  return { status: r.status, seen: seen[0]?.headers }
}

const list = async (user: string) => {
  const r = await ts.service('GET', '/v1/auth/apikeys', { headers: basic(user) })
  assert.equal(r.status, 200, r.text)
  return r
}
const patch = (id: string, body: unknown, user = 'alice') =>
  ts.service('PATCH', `/v1/auth/apikeys/${id}`, { headers: { ...basic(user), 'content-type': 'application/json' }, body: JSON.stringify(body) })
const storeText = () => readFile(path.join(ts.th.dir, 'apikeys.json'), 'utf8')
const storedCount = async () => (JSON.parse(await storeText()) as { keys: unknown[] }).keys.length

describe('creating a key', () => {
  let created: Reply
  before(async () => {
    created = await ts.postJson(
      '/v1/auth/apikeys',
      { permissions: { users: 'rw', sessions: 'r' }, description: 'deploy bot', ipFilter: ['127.0.0.1/32', '::1/128', '192.0.2.0/24'] },
      basic('alice'),
    )
    assert.equal(created.status, 201, created.text)
  })

  test('returns the key once, with its metadata, not cacheable', () => {
    const k = created.json
    assert.match(k.key, /^gh_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$/)
    assert.equal(k.key.slice(3, 15), k.id)
    assert.equal(k.user, 'alice')
    assert.equal(k.description, 'deploy bot')
    assert.deepEqual(k.permissions, { users: 'rw', sessions: 'r' })
    assert.deepEqual(k.ipFilter, ['127.0.0.1/32', '::1/128', '192.0.2.0/24'])
    assert.equal(k.expiresAt, null)
    assert.equal(k.enabled, true)
    assert.ok(Math.abs(Date.parse(k.createdAt) - Date.now()) < 10_000)
    assert.equal(k.lastUsedAt, null)
    assert.equal(k.secretHash, undefined)
    assert.equal(created.headers.get('cache-control'), 'no-store')
  })

  test('works at the proxy, which names the key to the upstream', async () => {
    const { status, seen } = await useKey(created.json.key, { method: 'DELETE' })
    assert.equal(status, 200)
    assert.equal(seen?.['x-auth-user'], 'alice')
    assert.equal(seen?.['x-auth-method'], 'apikey')
    assert.equal(seen?.['x-auth-credential-id'], created.json.id)
    assert.equal(seen?.['x-auth-issuer'], 'gatehouse')
    assert.equal(seen?.['x-auth-permissions'], 'sessions:r users:rw')
    assert.equal(seen?.['x-auth-expires'], undefined)
  })

  test('is stored hashed: the store file holds neither the key nor its secret', async () => {
    const text = await storeText()
    const key = created.json.key as string
    const secret = key.slice(16, 48)
    assert.ok(text.includes(created.json.id), 'the record is in the file')
    assert.ok(!text.includes(key) && !text.includes(secret), 'no key secret in the store file')
    const record = (JSON.parse(text) as { keys: { id: string; secretHash: string }[] }).keys.find((r) => r.id === created.json.id)
    assert.match(record?.secretHash ?? '', /^sha256:/)
  })

  test('is never shown again: the list has no key, secret or hash', async () => {
    const r = await list('alice')
    const mine = r.json.keys.find((k: { id: string }) => k.id === created.json.id)
    assert.ok(mine)
    assert.equal(mine.key, undefined)
    assert.ok(!r.text.includes(created.json.key.slice(16, 48)))
    assert.ok(!/secretHash|sha256:/.test(r.text), 'no hash in the list')
  })

  test('created disabled, it is 401 until enabled', async () => {
    const { key, id } = await ts.createKey('bob', { permissions: { users: 'r' }, enabled: false })
    assert.equal((await useKey(key)).status, 401)
    assert.equal((await patch(id, { enabled: true }, 'bob')).status, 200)
    assert.equal((await useKey(key)).status, 200)
  })

  test('for another user (targetUser) names both to the upstream', async () => {
    const r = await ts.postJson('/v1/auth/apikeys', { permissions: { users: 'r' }, targetUser: 'bob' }, basic('alice'))
    assert.equal(r.status, 201, r.text)
    assert.equal(r.json.user, 'bob')
    assert.equal(r.json.actor, 'alice')
    const { seen } = await useKey(r.json.key)
    assert.equal(seen?.['x-auth-user'], 'bob')
    assert.equal(seen?.['x-auth-actor'], 'alice')
  })

  const refused: [string, unknown, number, string][] = [
    ['permissions beyond the user', { permissions: { users: 'rw' } }, 403, 'permission_exceeds_user'],
    ['a bad CIDR', { permissions: {}, ipFilter: ['10.0.0.0/33'] }, 400, 'invalid_body'],
    ['expires in weeks', { permissions: {}, expires: 'P2W' }, 400, 'invalid_body'],
    ['an unknown field', { permissions: {}, secret: 'mine' }, 400, 'invalid_body'],
    ['enabled as a string', { permissions: {}, enabled: 'yes' }, 400, 'invalid_body'],
    ['targetUser without canImpersonate', { permissions: {}, targetUser: 'carol' }, 403, 'forbidden'],
  ]
  for (const [what, body, status, code] of refused) {
    test(`with ${what} is ${status}, and nothing is stored`, async () => {
      const before = await storedCount()
      assertProblem(await ts.postJson('/v1/auth/apikeys', body, basic('bob')), status, code)
      assert.equal(await storedCount(), before)
    })
  }

  test('a JSON body over the limit is 413', async () => {
    assertProblem(await ts.postJson('/v1/auth/apikeys', { permissions: {}, description: 'x'.repeat(70 * 1024) }, basic('bob')), 413)
  })
})

describe('listing keys', () => {
  let bobs: string
  let carols: string
  before(async () => {
    bobs = (await ts.createKey('bob', { permissions: { users: 'r' } })).id
    carols = (await ts.createKey('carol', { permissions: { users: 'r' } })).id
  })

  test("shows a user only their own keys", async () => {
    const keys = (await list('bob')).json.keys as { id: string; user: string }[]
    assert.ok(keys.some((k) => k.id === bobs))
    assert.ok(keys.every((k) => k.user === 'bob'), JSON.stringify(keys.map((k) => k.user)))
  })

  test('shows an admin every key', async () => {
    const ids = ((await list('alice')).json.keys as { id: string }[]).map((k) => k.id)
    assert.ok(ids.includes(bobs) && ids.includes(carols))
  })

  test('needs Basic: an API key or nothing is refused', async () => {
    const { key } = await ts.createKey('alice', { permissions: {} })
    assertProblem(await ts.service('GET', '/v1/auth/apikeys', { headers: apiKey(key) }), 403, 'forbidden')
    assertProblem(await ts.service('GET', '/v1/auth/apikeys'), 401, 'unauthenticated')
  })
})

describe('PATCH /v1/auth/apikeys/{id}', () => {
  test('enabled:false makes the key 401 on the very next request; enabled:true brings it back', async () => {
    const { key, id } = await ts.createKey('bob', { permissions: { users: 'r' } })
    assert.equal((await useKey(key)).status, 200) // now cached as verified
    const r = await patch(id, { enabled: false }, 'bob')
    assert.equal(r.status, 200, r.text)
    assert.equal(r.json.enabled, false)
    assert.equal((await useKey(key)).status, 401)
    assert.equal((await patch(id, { enabled: true }, 'bob')).status, 200)
    assert.equal((await useKey(key)).status, 200)
  })

  test('ipFilter confines the key to those addresses at once', async () => {
    const { key, id } = await ts.createKey('bob', { permissions: { users: 'r' } })
    assert.equal((await useKey(key, { ip: '203.0.113.5' })).status, 200)
    const r = await patch(id, { ipFilter: ['10.0.0.0/8', '2001:db8::/32'] }, 'bob')
    assert.equal(r.status, 200, r.text)
    assert.deepEqual(r.json.ipFilter, ['10.0.0.0/8', '2001:db8::/32'])
    assert.equal((await useKey(key, { ip: '203.0.113.5' })).status, 403)
    assert.equal((await useKey(key, { ip: '10.1.2.3' })).status, 200)
    assert.equal((await useKey(key, { ip: '2001:db8::7' })).status, 200)
    assert.equal((await patch(id, { ipFilter: [] }, 'bob')).status, 200)
    assert.equal((await useKey(key, { ip: '203.0.113.5' })).status, 200)
  })

  test('description changes what the list shows', async () => {
    const { id } = await ts.createKey('bob', { permissions: {} })
    assert.equal((await patch(id, { description: 'renamed' }, 'bob')).json.description, 'renamed')
    assert.equal((await list('bob')).json.keys.find((k: { id: string }) => k.id === id).description, 'renamed')
  })

  test('expires sets a lifetime from now: the key is 401 once it has passed; null removes it', { timeout: 10_000 }, async () => {
    const { key, id } = await ts.createKey('bob', { permissions: { users: 'r' } })
    const long = await patch(id, { expires: 'PT1H' }, 'bob')
    assert.ok(Math.abs(Date.parse(long.json.expiresAt) - (Date.now() + 3600_000)) < 10_000)
    assert.equal((await patch(id, { expires: null }, 'bob')).json.expiresAt, null)

    const short = await patch(id, { expires: 'PT3S' }, 'bob')
    assert.equal(short.status, 200)
    const expiresAt = Date.parse(short.json.expiresAt)
    const { status, seen } = await useKey(key)
    assert.equal(status, 200, 'still valid for at least two seconds')
    assert.equal(Number(seen?.['x-auth-expires']) * 1000, expiresAt)
    await new Promise((r) => setTimeout(r, expiresAt - Date.now() + 50))
    assert.equal((await useKey(key)).status, 401)
  })

  test("another user's key answers 404 and is left unchanged; an admin may change it", async () => {
    const { key, id } = await ts.createKey('carol', { permissions: { users: 'r' } })
    assertProblem(await patch(id, { enabled: false }, 'bob'), 404, 'not_found')
    assert.equal((await useKey(key)).status, 200)
    assert.equal((await patch(id, { description: 'seen by an admin' }, 'alice')).status, 200)
  })

  const bad: [string, unknown][] = [
    ['an empty body', {}],
    ['an unknown field', { permissions: { users: 'rw' } }],
    ['expires in months', { expires: 'P1M' }],
    ['a bad CIDR', { ipFilter: ['not-an-ip'] }],
    ['enabled as a number', { enabled: 0 }],
  ]
  for (const [what, body] of bad) {
    test(`with ${what} is 400`, async () => {
      const { id } = await ts.createKey('bob', { permissions: {} })
      assertProblem(await patch(id, body, 'bob'), 400, 'invalid_body')
    })
  }

  test('of an unknown id is 404', async () => {
    assertProblem(await patch('AAAAAAAAAAAA', { enabled: false }), 404, 'not_found')
  })
})

describe('POST /v1/auth/apikeys/delete', () => {
  test('revokes the keys: the next request with them is 401, and they leave the list', async () => {
    const a = await ts.createKey('bob', { permissions: { users: 'r' } })
    const b = await ts.createKey('bob', { permissions: { users: 'r' } })
    assert.equal((await useKey(a.key)).status, 200)
    const r = await ts.postJson('/v1/auth/apikeys/delete', [a.id, b.id], basic('bob'))
    assert.equal(r.status, 200, r.text)
    assert.deepEqual([...r.json.revoked].sort(), [a.id, b.id].sort())
    assert.deepEqual(r.json.notFound, [])
    assert.equal((await useKey(a.key)).status, 401)
    assert.equal((await useKey(b.key)).status, 401)
    const ids = ((await list('bob')).json.keys as { id: string }[]).map((k) => k.id)
    assert.ok(!ids.includes(a.id) && !ids.includes(b.id))
  })

  test("another user's id is reported notFound and not revoked", async () => {
    const mine = await ts.createKey('bob', { permissions: { users: 'r' } })
    const theirs = await ts.createKey('carol', { permissions: { users: 'r' } })
    const r = await ts.postJson('/v1/auth/apikeys/delete', [mine.id, theirs.id, 'ZZZZZZZZZZZZ'], basic('bob'))
    assert.deepEqual(r.json.revoked, [mine.id])
    assert.deepEqual([...r.json.notFound].sort(), [theirs.id, 'ZZZZZZZZZZZZ'].sort())
    assert.equal((await useKey(theirs.key)).status, 200, "carol's key still works")
  })

  test('an admin may revoke any key', async () => {
    const theirs = await ts.createKey('bob', { permissions: { users: 'r' } })
    const r = await ts.postJson('/v1/auth/apikeys/delete', [theirs.id], basic('carol'))
    assert.deepEqual(r.json.revoked, [theirs.id])
    assert.equal((await useKey(theirs.key)).status, 401)
  })

  for (const [what, body] of [
    ['an object', { ids: ['AAAAAAAAAAAA'] }],
    ['an empty list', []],
    ['a malformed id', ['../etc']],
    ['a repeated id', ['AAAAAAAAAAAA', 'AAAAAAAAAAAA']],
  ] as const) {
    test(`with ${what} is 400`, async () => {
      assertProblem(await ts.postJson('/v1/auth/apikeys/delete', body, basic('bob')), 400, 'invalid_body')
    })
  }
})

describe('keys that mint keys (#80)', () => {
  test("an admin's API key may create keys; a non-admin's may not (403)", async () => {
    const admin = await ts.createKey('alice', { permissions: { users: 'rw' } })
    const r = await ts.postJson('/v1/auth/apikeys', { permissions: { users: 'r' } }, apiKey(admin.key))
    assert.equal(r.status, 201, r.text)
    assert.equal((await useKey(r.json.key)).status, 200)

    const plain = await ts.createKey('bob', { permissions: { users: 'r' } })
    assertProblem(await ts.postJson('/v1/auth/apikeys', { permissions: { users: 'r' } }, apiKey(plain.key)), 403, 'forbidden')
  })

  test("a key made by a key stays within that key's permissions, though the user holds more", async () => {
    const parent = await ts.createKey('alice', { permissions: { users: 'r' } })
    assertProblem(await ts.postJson('/v1/auth/apikeys', { permissions: { users: 'rw' } }, apiKey(parent.key)), 403, 'permission_exceeds_user')
    assertProblem(await ts.postJson('/v1/auth/apikeys', { permissions: { sessions: 'r' } }, apiKey(parent.key)), 403, 'permission_exceeds_user')
  })

  test("a key made by a key never outlives it", async () => {
    const parent = await ts.createKey('alice', { permissions: { users: 'r' }, expires: 'PT5M' })
    const parentExpiry = Date.now() + 300_000
    for (const body of [{ permissions: { users: 'r' } }, { permissions: { users: 'r' }, expires: 'P30D' }]) {
      const r = await ts.postJson('/v1/auth/apikeys', body, apiKey(parent.key))
      assert.equal(r.status, 201, r.text)
      assert.notEqual(r.json.expiresAt, null, 'a child of an expiring key expires too')
      assert.ok(Date.parse(r.json.expiresAt) <= parentExpiry + 5000, `${r.json.expiresAt} is after the parent's expiry`)
    }
  })

  test('a revoked key creates nothing (401; #78)', async () => {
    const admin = await ts.createKey('alice', { permissions: { users: 'r' } })
    await ts.postJson('/v1/auth/apikeys/delete', [admin.id], basic('alice'))
    assertProblem(await ts.postJson('/v1/auth/apikeys', { permissions: {} }, apiKey(admin.key)), 401, 'unauthenticated')
  })
})

test('200 concurrent creations over HTTP lose none', { timeout: 25_000 }, async () => {
  const { key } = await ts.createKey('carol', { permissions: { users: 'r' } })
  const before = (await list('carol')).json.keys.length
  const replies = await Promise.all(
    Array.from({ length: 200 }, (_, i) => ts.postJson('/v1/auth/apikeys', { permissions: { users: 'r' }, description: `burst ${i}` }, apiKey(key))),
  )
  const statuses = replies.map((r) => r.status)
  assert.deepEqual([...new Set(statuses)], [201], `statuses: ${JSON.stringify(replies.find((r) => r.status !== 201)?.text)}`)
  const ids = new Set(replies.map((r) => r.json.id as string))
  assert.equal(ids.size, 200)

  const listed = (await list('carol')).json.keys as { id: string }[]
  assert.equal(listed.length, before + 200)
  const file = JSON.parse(await storeText()) as { keys: { id: string }[] }
  const stored = new Set(file.keys.map((k) => k.id))
  for (const id of ids) assert.ok(stored.has(id), `key ${id} is in the store file`)
  // And each of them works.
  const sample = replies.slice(0, 5)
  for (const r of sample) assert.equal((await useKey(r.json.key)).status, 200)
})
