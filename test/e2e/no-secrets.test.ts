// SPEC §8: the logs of a full run — good and bad JWTs (one in the query string), good,
// unknown, mistyped and revoked API keys, Basic credentials, websocket attempts and
// upstream failures — hold no token, key, key secret, password or their base64, and
// every request produced exactly one JSON line with its id, method, status and duration.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { createKey } from '../support/api-keys.js'
import { bearer, call, HS_SECRET, startFixture, type Fixture } from '../support/fixture.js'
import { tamperSignature } from '../support/mint.js'
import { rawRequest } from '../support/raw-http.js'
import { generateApiKey } from '../../src/credentials/api-key.js'

let f: Fixture
before(async () => {
  f = await startFixture()
})
after(() => f.close())

/** One request we sent, and how to find its log line. */
interface Sent {
  readonly what: string
  readonly method: string
  readonly status: number
  /** From the response's x-request-id (problem answers carry one). */
  readonly reqId?: string
  /** The unique normalised path (allowed requests log it). */
  readonly path?: string
  /** For allowed requests: who the log line must name. */
  readonly user?: string
  readonly credentialId?: string
}

const port = () => Number(new URL(f.gh.url.replace('[::]', '127.0.0.1')).port)

test('a full run logs one JSON line per request and not one secret', { timeout: 30_000 }, async () => {
  const secrets: Record<string, string> = {}
  const sent: Sent[] = []
  let n = 0
  const unique = () => `/api/v1/users/no-secrets-${++n}`

  /** Sends through `call`, records what we expect to find in the log. */
  async function send(
    what: string,
    init: Parameters<typeof call>[2] & { query?: string },
    expect: { status: number; user?: string; credentialId?: string },
  ): Promise<void> {
    const p = unique()
    const res = await call(f, p + (init.query ?? ''), init)
    assert.equal(res.status, expect.status, what)
    const reqId = res.headers.get('x-request-id') ?? undefined
    sent.push({ what, method: init.method ?? 'GET', status: expect.status, path: p, ...(reqId ? { reqId } : {}), user: expect.user, credentialId: expect.credentialId })
  }

  // JWTs: good (RS256 and HS256), tampered, expired, only in the query, and a good one with another in the query.
  const jti = 'jti-no-secrets-1'
  const good = await f.token({ jti })
  const hs = await f.hsToken({ jti: 'jti-no-secrets-hs' })
  const tampered = tamperSignature(await f.token())
  const expired = await f.token({ iat: f.now() - 3600, exp: f.now() - 600 })
  const inQuery = await f.token({ jti: 'jti-in-query' })
  Object.assign(secrets, { good, hs, tampered, expired, inQuery, hsSecret: HS_SECRET })
  for (const [name, t] of Object.entries({ good, hs, tampered, expired, inQuery })) secrets[`${name}.signature`] = t.split('.')[2] as string

  await send('good JWT', { headers: bearer(good) }, { status: 200, user: 'alice', credentialId: jti })
  await send('HS256 JWT', { headers: bearer(hs) }, { status: 200, user: 'alice', credentialId: 'jti-no-secrets-hs' })
  await send('tampered JWT', { headers: bearer(tampered) }, { status: 401 })
  await send('expired JWT', { headers: bearer(expired) }, { status: 401 })
  await send('JWT only in the query', { query: `?access_token=${inQuery}` }, { status: 401 })
  // Two methods at once (RFC 6750 §2; attack #34): refused, and still logged without either token.
  await send('good JWT, another in the query', { headers: bearer(good), query: `?access_token=${inQuery}&x=1` }, { status: 400 })
  await send('JWT short of rw', { method: 'POST', headers: bearer(await f.token({ permissions: { users: 'r' } })), body: '{}' }, { status: 403 })

  // API keys: good (both header forms), unknown, mistyped, revoked.
  const { key, record } = await createKey(f.gh.gh.store, { user: 'carol', permissions: { users: 'rw' } })
  const revoked = await createKey(f.gh.gh.store, { user: 'dan', permissions: { users: 'r' } })
  const unknown = generateApiKey()
  const mistyped = `${key.slice(0, 20)}${key[20] === 'x' ? 'y' : 'x'}${key.slice(21)}`
  Object.assign(secrets, {
    key,
    keySecret: key.split('_')[2]?.slice(0, 32) as string,
    keyHash: record.secretHash,
    revokedKey: revoked.key,
    revokedHash: revoked.record.secretHash,
    unknownKey: unknown.key,
    unknownSecret: unknown.key.split('_')[2]?.slice(0, 32) as string,
    mistyped,
  })
  await send('good API key header', { headers: { 'x-api-key': key } }, { status: 200, user: 'carol', credentialId: record.id })
  await send('good ApiKey authorization', { headers: { authorization: `ApiKey ${key}` } }, { status: 200, user: 'carol', credentialId: record.id })
  await send('good key in the query only', { query: `?api_key=${key}` }, { status: 401 })
  await send('unknown API key', { headers: { 'x-api-key': unknown.key } }, { status: 401 })
  await send('mistyped API key', { headers: { 'x-api-key': mistyped } }, { status: 401 })
  await send('key before revoke', { headers: { 'x-api-key': revoked.key } }, { status: 200, user: 'dan', credentialId: revoked.record.id })
  await f.gh.gh.store.revoke([revoked.record.id])
  await send('revoked API key', { headers: { 'x-api-key': revoked.key } }, { status: 401 })

  // Basic credentials with a password.
  const password = 'S3cret-Passw0rd!-no-secrets'
  const basic = Buffer.from(`alice:${password}`).toString('base64')
  Object.assign(secrets, { password, basic, passwordBase64: Buffer.from(password).toString('base64') })
  await send('Basic credentials', { headers: { authorization: `Basic ${basic}` } }, { status: 401 })

  // Websocket attempts: refused with a bad token; allowed with a key (the upstream has no websocket, and hangs up).
  const wsBad = await rawRequest(
    port(),
    `GET ${unique()} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${tampered}\r\n\r\n`,
  )
  assert.equal(wsBad.status, 401)
  sent.push({ what: 'websocket with a bad token', method: 'GET', status: 401, reqId: /\r\nx-request-id: (\S+)/i.exec(wsBad.head)?.[1] as string })
  const wsPath = unique()
  const wsKey = await rawRequest(
    port(),
    // `token=`, not `access_token=` beside a key: that pair is refused (attack #34).
    `GET ${wsPath}?token=${inQuery} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-API-Key: ${key}\r\n\r\n`,
    1500,
  )
  // This upstream is no websocket server: it answers 200, which is relayed (and logged) as it is;
  // only a 101 would have made a tunnel (attack #59).
  assert.equal(wsKey.status, 200)
  sent.push({ what: 'websocket with a key', method: 'GET', status: 200, path: wsPath, user: 'carol', credentialId: record.id })

  // Upstream failures: silent past timeoutMs (504) with a JWT, and with a key.
  f.upstream.behave({ kind: 'silent' })
  try {
    await Promise.all([
      send('upstream silent, JWT', { headers: bearer(good), query: `?token=${inQuery}` }, { status: 504 }),
      send('upstream silent, key', { headers: { 'x-api-key': key } }, { status: 504 }),
    ])
  } finally {
    f.upstream.behave({ kind: 'echo' })
  }

  // Every request has exactly one line. Allowed lines are written when the response ends: wait for them, bounded.
  const requestLines = () => f.gh.logs().filter((l) => l.msg === 'request')
  for (let i = 0; i < 40 && requestLines().length < sent.length; i++) await new Promise((r) => setTimeout(r, 50))
  const lines = requestLines()
  assert.equal(lines.length, sent.length, 'one line per request, no more, no fewer')
  assert.equal(new Set(lines.map((l) => l.reqId)).size, lines.length, 'request ids are unique')
  for (const s of sent) {
    const mine = lines.filter((l) => (s.reqId ? l.reqId === s.reqId : l.path === s.path))
    assert.equal(mine.length, 1, `exactly one log line for "${s.what}"`)
    const line = mine[0] as Record<string, unknown>
    assert.equal(typeof line.reqId, 'string', s.what)
    assert.equal(line.method, s.method, s.what)
    assert.equal(line.status, s.status, s.what)
    assert.equal(typeof line.durationMs, 'number', s.what)
    assert.ok((line.durationMs as number) >= 0, s.what)
    if (s.user) {
      assert.equal(line.user, s.user, s.what)
      assert.equal(line.credentialId, s.credentialId, s.what)
    }
    if (s.status === 401 || s.status === 403) assert.equal(typeof line.reason, 'string', `a refusal says why: ${s.what}`)
  }

  // And nothing secret anywhere in the log text, in any encoding a logger might use.
  const text = f.gh.logText()
  assert.ok(text.length > 0)
  for (const [name, value] of Object.entries(secrets)) {
    assert.ok(value.length >= 16, `secret ${name} is long enough to search for`)
    for (const form of new Set([value, encodeURIComponent(value), Buffer.from(value).toString('base64'), JSON.stringify(value).slice(1, -1)])) {
      assert.ok(!text.includes(form), `the log contains ${name}`)
    }
  }
  assert.doesNotMatch(text, /access_token=|api_key=|Bearer |ApiKey |Basic /, 'no query credential or Authorization value')
})
