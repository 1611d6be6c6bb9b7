// What a refusal records (issue 19, mutation testing: decide's no_api and
// credential_ip_denied refusals had fields no test read). SPEC §8: every request,
// refused ones included, gets one log line with its client IP, path, api, user and
// credential id — so each Denied carries exactly what was known at the step that
// refused it: nothing before the path is normalised, the path and client address
// once known, the API once matched, the credential once verified. A runtime
// compiled by runtime/compile.ts from a real config, a real file key store and a
// frozen clock; expected values from the SPEC's order of steps (§3).
import { strict as assert } from 'node:assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { stringify } from 'yaml'
import { hashPassword } from '../../../src/accounts/password-hash.js'
import { newKeyRecord, type NewKeyFields } from '../../../src/keystore/new-key-record.js'
import type { KeyStore } from '../../../src/keystore/key-store.js'
import { decide, type RequestFacts } from '../../../src/pipeline/decide.js'
import type { Decision } from '../../../src/pipeline/decision.js'
import type { Runtime } from '../../../src/runtime/compile.js'
import { compileUnitRuntime } from '../../support/unit-runtime.js'

const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0)
const NOW = NOW_MS / 1000
const PEER = '192.0.2.10'
const DENIED = '198.51.100.7'
const APP = 'https://app.example'

/** The fields of a refusal the log line and metrics read, flattened for one deepEqual. */
function recorded(d: Decision) {
  assert.equal(d.ok, false, JSON.stringify(d))
  assert.ok(!d.ok)
  return {
    reason: d.reason,
    path: d.path,
    clientIp: d.clientIp,
    api: d.api === null ? null : d.api.name,
    user: d.identity === null ? null : d.identity.user,
    credentialId: d.identity === null ? null : (d.identity.credentialId ?? null),
    cors: d.cors ?? null,
  }
}

describe('decide(): what each refusal records (SPEC §8 log line)', () => {
  let dir = ''
  let store: KeyStore
  let rt: Runtime
  const keys: Record<string, { key: string; id: string }> = {}

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-decide-facts-'))
    await writeFile(path.join(dir, 'users.yaml'), stringify({ users: [{ name: 'alice', passwordHash: await hashPassword('not-used-here'), permissions: { users: 'rw' } }] }))
    ;({ runtime: rt, store } = await compileUnitRuntime(
      dir,
      {
        ipFilter: { deny: ['198.51.100.0/24'] },
        unmatched: 'deny',
        apis: [
          { name: 'users', prefixes: ['/api/v1/users'] },
          { name: 'admin', prefixes: ['/api/v1/users/admin'] },
          { name: 'web', prefixes: ['/web'], cors: { origins: [APP], headers: ['Authorization'] } },
          { name: 'pubweb', prefixes: ['/pubweb'], public: true, cors: { origins: ['*'] } },
        ],
        issuer: { name: 'gatehouse', usersFile: './users.yaml' },
        cache: { maxEntries: 0 },
        limits: { authFailuresPerMinute: 0, maxBodyBytes: 100 },
      },
      { nowMs: NOW_MS },
    ))
    const key = async (name: string, fields: Partial<NewKeyFields>) => {
      const made = newKeyRecord({ user: 'alice', permissions: { users: 'rw' }, ...fields }, NOW - 100)
      await store.create(made.record)
      keys[name] = { key: made.key, id: made.record.id }
    }
    await key('alice', {})
    await key('reader', { permissions: { users: 'r' } })
    await key('net', { ipFilter: ['10.0.0.0/8'] })
  })

  after(async () => {
    rt?.close()
    await store?.close()
    await rm(dir, { recursive: true, force: true })
  })

  const req = (rawTarget: string, rawHeaders: string[] = [], more: Partial<RequestFacts> = {}): RequestFacts => ({ method: 'GET', rawTarget, rawHeaders, peerIp: PEER, ...more })
  const withKey = (name: string, headers: string[] = []) => ['X-API-Key', (keys[name] as { key: string }).key, ...headers]
  const none = { path: null, clientIp: null, api: null, user: null, credentialId: null, cors: null }

  it('before the path is normalised: nothing but the reason', async () => {
    assert.deepEqual(recorded(await decide(req('/api/v1/users', [], { method: 'TRACE' }), rt)), { ...none, reason: 'method_not_allowed' })
    assert.deepEqual(recorded(await decide(req('/api/v1/users/%2f'), rt)), { ...none, reason: 'path_invalid' })
  })

  it('a malformed Host: the path, not yet the client address', async () => {
    assert.deepEqual(recorded(await decide(req('/api/v1/./users', ['Host', 'a b']), rt)), { ...none, reason: 'request_malformed', path: '/api/v1/users' })
  })

  it('ip_denied and no_api: the path and the client address, no API', async () => {
    assert.deepEqual(recorded(await decide(req('/api/v1/users', [], { peerIp: DENIED }), rt)), { ...none, reason: 'ip_denied', path: '/api/v1/users', clientIp: DENIED })
    assert.deepEqual(recorded(await decide(req('/elsewhere/./x', withKey('alice')), rt)), { ...none, reason: 'no_api', path: '/elsewhere/x', clientIp: PEER })
  })

  it('before the credential: the path, the client address and the API', async () => {
    const at = { ...none, path: '/api/v1/users', clientIp: PEER, api: 'users' }
    assert.deepEqual(recorded(await decide(req('/api/v1/users'), rt)), { ...at, reason: 'credential_missing' })
    assert.deepEqual(recorded(await decide(req('/api/v1/users/admin.', withKey('alice')), rt)), { ...at, path: '/api/v1/users/admin.', reason: 'path_ambiguous' })
  })

  it('after the credential: whose it was too (credential_ip_denied, permission, body size)', async () => {
    const at = { ...none, path: '/api/v1/users/7', clientIp: PEER, api: 'users', user: 'alice' }
    assert.deepEqual(recorded(await decide(req('/api/v1/users/7', withKey('net')), rt)), { ...at, reason: 'credential_ip_denied', credentialId: keys.net?.id })
    assert.deepEqual(recorded(await decide(req('/api/v1/users/7', withKey('reader'), { method: 'PUT' }), rt)), { ...at, reason: 'permission_insufficient', credentialId: keys.reader?.id })
    assert.deepEqual(recorded(await decide(req('/api/v1/users/7', withKey('alice', ['Content-Length', '101'])), rt)), { ...at, reason: 'body_too_large', credentialId: keys.alice?.id })
  })

  describe('apis[].cors through decide (Fetch §3.2)', () => {
    const ask = ['origin', APP, 'ACCESS-CONTROL-REQUEST-METHOD', 'PUT']
    it('a preflight to an API with a cors policy is answered, never authenticated; its path and API are known', async () => {
      const d = await decide(req('/web/./x', [...ask, 'Access-Control-Request-Headers', 'authorization']), rt)
      const pre = await decide({ ...req('/web/./x', [...ask, 'Access-Control-Request-Headers', 'authorization']), method: 'OPTIONS' }, rt)
      assert.equal(d.ok, false, 'a GET is no preflight')
      assert.ok(pre.ok && pre.route === 'preflight', JSON.stringify(pre))
      assert.equal(pre.allowed, true)
      assert.equal(pre.api.name, 'web')
      assert.equal(pre.path, '/web/x')
      assert.equal(pre.clientIp, PEER)
      assert.equal(pre.cors['access-control-allow-origin'], APP)
      const refused = await decide({ ...req('/web', [...ask, 'Access-Control-Request-Headers', 'x-other']), method: 'OPTIONS' }, rt)
      assert.ok(refused.ok && refused.route === 'preflight')
      assert.equal(refused.allowed, false)
      assert.match(refused.detail, /cors\.headers/)
    })
    it('only Origin and the two Access-Control-Request-* headers are read as such, not others of their length', async () => {
      // Accept has Origin's length; these two names Access-Control-Request-Method's (29) and -Headers' (30).
      const others = ['Accept', '*/*', 'X-Padding-Header-Of-Length-29', 'BREW', 'X-Padding-Header-Of-Length-030', 'x-other']
      assert.equal(others[2]?.length, 29)
      assert.equal(others[4]?.length, 30)
      const pre = await decide({ ...req('/web', [...ask, 'Access-Control-Request-Headers', 'authorization', ...others]), method: 'OPTIONS' }, rt)
      assert.ok(pre.ok && pre.route === 'preflight')
      assert.equal(pre.allowed, true, pre.detail)
      assert.equal(recorded(await decide(req('/web', ['Origin', APP, ...others]), rt)).cors?.['access-control-allow-origin'], APP)
    })
    it('a refusal on such an API carries its CORS headers, so the page can read it', async () => {
      assert.deepEqual(recorded(await decide(req('/web', ['Origin', APP]), rt)), {
        ...none,
        reason: 'credential_missing',
        path: '/web',
        clientIp: PEER,
        api: 'web',
        cors: { vary: 'Origin', 'access-control-allow-origin': APP },
      })
    })
    it('a public API with a cors policy forwards with its headers', async () => {
      const d = await decide(req('/pubweb', ['Origin', 'https://anyone.example']), rt)
      assert.ok(d.ok && d.route === 'upstream')
      assert.deepEqual({ ...d.cors }, { 'access-control-allow-origin': '*' })
    })
    it('without a cors policy an OPTIONS with preflight headers is an ordinary request', async () => {
      assert.deepEqual(recorded(await decide({ ...req('/api/v1/users', ask), method: 'OPTIONS' }, rt)), { ...none, reason: 'credential_missing', path: '/api/v1/users', clientIp: PEER, api: 'users' })
    })
  })
})
