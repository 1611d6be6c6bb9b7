// authenticate() (SPEC §3.5) with the verified-credential cache and the failure
// throttle switched on, which decide's tests keep off: a cached credential is
// answered from the cache (and still refused once its jti is revoked, SPEC §6), a
// client address whose credentials failed limits.authFailuresPerMinute times gets
// 429 credential_throttled for credentials not already verified (README "Limits",
// attack #76) while cached ones still pass, a header credential beside an
// access_token in the query is ambiguous (RFC 6750 §2, attack #34). A runtime
// compiled by runtime/compile.ts from a real config, a real ES256 key, a real file
// key store and an injected clock.
import { strict as assert } from 'node:assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createVerifiedCache } from '../../../src/credentials/verified-cache.js'
import { newKeyRecord } from '../../../src/keystore/new-key-record.js'
import type { KeyStore } from '../../../src/keystore/key-store.js'
import { authenticate } from '../../../src/pipeline/authenticate.js'
import type { Runtime } from '../../../src/runtime/compile.js'
import { makeKeyPair, mintJwt, type TestKey } from '../../support/mint.js'
import { compileUnitRuntime } from '../../support/unit-runtime.js'

// Ahead of the wall clock: the file store forgets a revoked jti once its end has passed in real time.
const NOW_MS = Date.UTC(2030, 0, 15, 12, 0, 0)
const NOW = NOW_MS / 1000
const FAILURES = 2 // limits.authFailuresPerMinute

describe('authenticate with the cache and the failure throttle on', () => {
  let dir = ''
  let store: KeyStore
  let rt: Runtime
  let idp: TestKey
  const cacheHits: boolean[] = []
  let aliceKey = ''
  let n = 0
  /** A fresh client address per test, so the throttle's counts never leak between tests. */
  const freshIp = () => `192.0.2.${++n}`
  const jwtFor = (jti: string) => mintJwt({ iss: 'test-idp', sub: 'alice', iat: NOW - 60, exp: NOW + 600, jti, permissions: { users: 'rw' } }, idp)
  const auth = (headers: string[], ip: string, query = '') => authenticate(headers, rt.credentials, NOW_MS, query, ip)
  /** A valid credential never verified before (a new jti), so never in the cache: what the throttle holds back. */
  const unverified = async () => ['Authorization', `Bearer ${await jwtFor(`probe-${++n}`)}`]

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-authenticate-'))
    idp = await makeKeyPair('ES256', 'idp-1')
    await writeFile(path.join(dir, 'idp.pub'), idp.publicPem)
    ;({ runtime: rt, store } = await compileUnitRuntime(
      dir,
      {
        apis: [{ name: 'users', prefixes: ['/api/v1/users'] }],
        jwt: { issuers: [{ issuer: 'test-idp', publicKeyFile: './idp.pub', algorithms: ['ES256'] }] },
        limits: { authFailuresPerMinute: FAILURES },
      },
      { nowMs: NOW_MS, cache: createVerifiedCache(100, 300), onCache: (hit) => cacheHits.push(hit) },
    ))
    const made = newKeyRecord({ user: 'alice', permissions: { users: 'rw' } }, NOW - 100)
    await store.create(made.record)
    aliceKey = made.key
  })

  after(async () => {
    rt?.close()
    await store?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('verifies once, then answers from the cache (onCache: miss, then hit)', async () => {
    const token = await jwtFor('jti-cache')
    cacheHits.length = 0
    const first = await auth(['Authorization', `Bearer ${token}`], freshIp())
    const second = await auth(['Authorization', `Bearer ${token}`], freshIp())
    assert.ok(first.ok && second.ok)
    assert.equal(second.identity.user, 'alice')
    assert.equal(second.identity.credentialId, 'jti-cache')
    assert.deepEqual(cacheHits, [false, true])
  })

  it('a revoked jti is refused whether its token is cached or not (SPEC §6)', async () => {
    const token = await jwtFor('jti-revoked')
    assert.ok((await auth(['Authorization', `Bearer ${token}`], freshIp())).ok)
    await store.revokeJwt('jti-revoked', NOW + 600)
    assert.deepEqual(await auth(['Authorization', `Bearer ${token}`], freshIp()), { ok: false, reason: 'token_invalid', detail: 'token revoked' })
    const fresh = await jwtFor('jti-revoked') // same jti, never cached (a new signature)
    assert.notEqual(fresh, token)
    assert.deepEqual(await auth(['Authorization', `Bearer ${fresh}`], freshIp()), { ok: false, reason: 'token_invalid', detail: 'token revoked' })
  })

  it(`after ${FAILURES} failed credentials an address waits (429); other addresses and cached credentials do not`, async () => {
    const ip = freshIp()
    const cachedToken = await jwtFor('jti-cached-before')
    assert.ok((await auth(['Authorization', `Bearer ${cachedToken}`], ip)).ok)
    for (let i = 0; i < FAILURES; i++) assert.equal((await auth(['Authorization', 'Bearer not.a.jwt'], ip)).ok, false)
    const throttled = await auth(['X-API-Key', aliceKey], ip)
    assert.deepEqual(throttled, { ok: false, reason: 'credential_throttled', detail: 'too many failed credentials; try again later' })
    assert.deepEqual(await auth(await unverified(), ip), throttled)
    assert.ok((await auth(await unverified(), freshIp())).ok, 'another address')
    assert.ok((await auth(['Authorization', `Bearer ${cachedToken}`], ip)).ok, 'already verified')
  })

  it('every kind of failed credential counts; a missing one does not', async () => {
    const kinds: [string, string[]][] = [
      ['unknown key', ['X-API-Key', newKeyRecord({ user: 'alice', permissions: {} }, NOW).key]],
      ['malformed key', ['X-API-Key', 'nonsense']],
      ['malformed Authorization', ['Authorization', 'Token abc']],
      ['two credentials', ['Authorization', 'Bearer a.b.c', 'X-API-Key', 'k']],
      ['bad token', ['Authorization', 'Bearer a.b.c']],
    ]
    for (const [name, headers] of kinds) {
      const ip = freshIp()
      for (let i = 0; i < FAILURES; i++) assert.equal((await auth(headers, ip)).ok, false, name)
      assert.equal((await auth(await unverified(), ip)).ok, false, `${name}: throttled after ${FAILURES}`)
    }
    const ip = freshIp()
    for (let i = 0; i < FAILURES + 3; i++) assert.deepEqual(await auth([], ip), { ok: false, reason: 'credential_missing' })
    assert.ok((await auth(await unverified(), ip)).ok, 'no credential is no failed credential')
  })

  it('an API key: its expiry read in seconds; a use answered from the cache still counts as its last use', async () => {
    const made = newKeyRecord({ user: 'alice', permissions: { users: 'rw' }, expiresAt: NOW + 3600 }, NOW - 100)
    await store.create(made.record)
    const at = (ms: number) => authenticate(['X-API-Key', made.key], rt.credentials, ms, '', '192.0.2.250')
    assert.ok((await at(NOW_MS)).ok)
    assert.equal((await store.get(made.record.id))?.lastUsedAt, NOW)
    cacheHits.length = 0
    assert.ok((await at(NOW_MS + 5000)).ok)
    assert.deepEqual(cacheHits, [true])
    assert.equal((await store.get(made.record.id))?.lastUsedAt, NOW + 5)
    // A revoked JWT jti that happens to equal the key's id says nothing about the key.
    await store.revokeJwt(made.record.id, NOW + 600)
    assert.ok((await at(NOW_MS + 6000)).ok)
  })

  it('a refused token says why', async () => {
    const r = await auth(['Authorization', 'Bearer a.b.c'], freshIp())
    assert.ok(!r.ok)
    assert.ok((r.detail ?? '').length > 0, JSON.stringify(r))
  })

  it('a malformed API key answers like an unknown one, without detail (attack #75); a malformed Authorization says why', async () => {
    const key = await auth(['X-API-Key', 'nonsense'], freshIp())
    assert.ok(!key.ok)
    assert.equal(key.reason, 'key_malformed')
    assert.equal(key.detail, undefined)
    const r = await auth(['Authorization', 'Token abc'], freshIp())
    assert.ok(!r.ok)
    assert.equal(r.reason, 'credential_malformed')
    assert.ok((r.detail ?? '').length > 0)
  })

  it('a header credential beside an access_token in the query is ambiguous (RFC 6750 §2)', async () => {
    const token = await jwtFor('jti-query')
    for (const headers of [['Authorization', `Bearer ${token}`], ['X-API-Key', aliceKey]]) {
      const r = await auth(headers, freshIp(), '?access_token=x')
      assert.ok(!r.ok)
      assert.equal(r.reason, 'credential_ambiguous')
      assert.match(r.detail ?? '', /access_token/)
      assert.ok((await auth(headers, freshIp(), '?')).ok, 'an empty query')
      assert.ok((await auth(headers, freshIp(), '?q=access_token')).ok, 'access_token as a value')
    }
    // A token only in the query is no credential at all here.
    assert.deepEqual(await auth([], freshIp(), '?access_token=x'), { ok: false, reason: 'credential_missing' })
    // And it counts as a failure of that address.
    const ip = freshIp()
    for (let i = 0; i < FAILURES; i++) await auth(['X-API-Key', aliceKey], ip, '?access_token=x')
    assert.equal((await auth(await unverified(), ip)).ok, false)
  })
})
