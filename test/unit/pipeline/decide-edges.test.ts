// decide() at the edges decide.test.ts does not reach (issue 19, mutation testing):
// the header-count and body limits at their exact bounds, the Host grammar, the
// client address behind and without a trusted proxy, the token service's prefix on
// segment boundaries, `unmatched: authenticated`, removed query parameters, an
// ambiguous path, and a key minted from a key. A runtime compiled by
// runtime/compile.ts from a real config, a real file key store and a frozen clock;
// expected values from the SPEC, the config schema's documented limits and the RFCs
// named at each case, not from the code under test.
import { strict as assert } from 'node:assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { stringify } from 'yaml'
import { hashPassword } from '../../../src/accounts/password-hash.js'
import { parseConfigText } from '../../../src/config/load.js'
import { createVerifiedCache } from '../../../src/credentials/verified-cache.js'
import { newKeyRecord, type NewKeyFields } from '../../../src/keystore/new-key-record.js'
import type { KeyStore } from '../../../src/keystore/key-store.js'
import { openKeyStore } from '../../../src/keystore/open-key-store.js'
import { decide, type RequestFacts } from '../../../src/pipeline/decide.js'
import type { Decision, Denied } from '../../../src/pipeline/decision.js'
import { compileRuntime, type Runtime } from '../../../src/runtime/compile.js'

const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0)
const NOW = NOW_MS / 1000
const PEER = '192.0.2.10'
const PROXY = '10.9.9.9'
const MAX_HEADER_LINES = 8 // limits.maxHeaderCount (its schema minimum)
const MAX_BODY = 1000 // limits.maxBodyBytes
const UPLOAD_MAX = 10 // apis[upload].maxBodyBytes
const PUBLIC_MAX = 5 // apis[pub].maxBodyBytes

async function compile(dir: string, config: Record<string, unknown>): Promise<{ runtime: Runtime; store: KeyStore }> {
  const loaded = parseConfigText(stringify(config), path.join(dir, 'gatehouse.yaml'))
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems))
  const store = await openKeyStore(loaded.value.config.store)
  const compiled = await compileRuntime(loaded.value, { store, cache: createVerifiedCache(0, 0), onCache: () => {}, now: () => NOW_MS })
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems))
  return { runtime: compiled.value, store }
}

function refused(d: Decision, reason: string): Denied {
  assert.equal(d.ok, false, `expected ${reason}, got ${JSON.stringify(d)}`)
  assert.ok(!d.ok)
  assert.equal(d.reason, reason, JSON.stringify(d))
  return d
}
describe('decide() at its edges', () => {
  let dir = ''
  let store: KeyStore
  let bare: { runtime: Runtime; store: KeyStore }
  let rt: Runtime
  const keys: Record<string, string> = {}

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-decide-edges-'))
    const hash = await hashPassword('not-used-here')
    await writeFile(path.join(dir, 'users.yaml'), stringify({ users: [{ name: 'alice', passwordHash: hash, permissions: { users: 'rw', upload: 'rw', admin: 'rw' } }] }))
    const base = {
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      upstream: { url: 'http://127.0.0.1:9', removeQueryParams: ['session_id'] },
      trustedProxies: [`${PROXY}/32`],
      ipFilter: { deny: ['198.51.100.0/24'] },
      unmatched: 'authenticated',
      apis: [
        { name: 'users', prefixes: ['/api/v1/users'] },
        { name: 'admin', prefixes: ['/api/v1/users/admin'] },
        { name: 'upload', prefixes: ['/upload'], maxBodyBytes: UPLOAD_MAX },
        { name: 'pub', prefixes: ['/pub'], public: true, maxBodyBytes: PUBLIC_MAX },
      ],
      cache: { maxEntries: 0 },
      limits: { authFailuresPerMinute: 0, maxHeaderCount: MAX_HEADER_LINES, maxBodyBytes: MAX_BODY },
    }
    ;({ runtime: rt, store } = await compile(dir, {
      ...base,
      store: { type: 'file', path: path.join(dir, 'apikeys.json') },
      issuer: { name: 'gatehouse', usersFile: './users.yaml' },
    }))
    // The same, without a token service and without trusted proxies.
    bare = await compile(dir, { ...base, trustedProxies: [], store: { type: 'file', path: path.join(dir, 'bare-keys.json') } })
    const key = async (fields: Partial<NewKeyFields>, at: KeyStore = store) => {
      const made = newKeyRecord({ user: 'alice', permissions: { users: 'rw', upload: 'rw' }, ...fields }, NOW - 100)
      await at.create(made.record)
      return made
    }
    const parent = await key({ expiresAt: NOW + 3600 })
    keys.alice = parent.key
    keys.child = (await key({ parentKeyId: parent.record.id, permissions: { users: 'r' } })).key
    const expiredParent = await key({ expiresAt: NOW - 1 })
    keys.orphan = (await key({ parentKeyId: expiredParent.record.id })).key
    keys.bare = (await key({}, bare.store)).key
  })

  after(async () => {
    rt?.close()
    bare?.runtime.close()
    await store?.close()
    await bare?.store.close()
    await rm(dir, { recursive: true, force: true })
  })

  const req = (target: string, headers: string[] = [], more: Partial<RequestFacts> = {}): RequestFacts => ({
    method: 'GET',
    rawTarget: target,
    rawHeaders: headers,
    peerIp: PEER,
    ...more,
  })
  const withKey = (name: string, headers: string[] = []) => ['X-API-Key', keys[name] as string, ...headers]

  describe('limits.maxHeaderCount (-> 431)', () => {
    const lines = (n: number) => Array.from({ length: n }, (_, i) => [`X-Filler-${i}`, 'x']).flat()
    it('takes exactly maxHeaderCount header lines', async () => {
      const d = await decide(req('/pub', lines(MAX_HEADER_LINES)), rt)
      assert.ok(d.ok, JSON.stringify(d))
    })
    it('refuses one more before anything else is looked at', async () => {
      refused(await decide(req('/%2e%2e/x', lines(MAX_HEADER_LINES + 1)), rt), 'headers_too_large')
    })
  })

  describe('Host (RFC 9112 §3.2, RFC 3986 §3.2.2)', () => {
    const good = ['api.example', 'api.example:8080', 'API.Example:', '127.0.0.1:80', '[::1]', '[::1]:443', '[2001:DB8::ffff:192.0.2.1]', '[::A:F:a:f]', 'h:90', "a-b_c~%41!$&'()*+,;=.x"]
    for (const host of good) {
      it(`takes ${JSON.stringify(host)}`, async () => {
        const d = await decide(req('/pub', ['Host', host]), rt)
        assert.ok(d.ok, JSON.stringify(d))
      })
    }
    it('takes a request without Host (HTTP/1.0)', async () => {
      assert.ok((await decide(req('/pub'), rt)).ok)
    })
    const bad = ['', ':80', 'a@evil.example', 'a b', 'a/b', 'a\\b', 'a?b', 'a#b', 'a"b', 'a<b', 'a|b', 'ex\u00e4mple', 'a:8o', 'a:-1', 'a:8/', 'a:80:90', '[]', '[::1', '[::g]', '[::1]x', '[::1]:8a', '[ ::1]', '[::1/]', '[::1@]', 'a\u0000b', 'a\u007fb']
    for (const host of bad) {
      it(`refuses ${JSON.stringify(host)} with 400`, async () => {
        const d = refused(await decide(req('/pub', ['Host', host]), rt), 'request_malformed')
        assert.match(d.detail ?? '', /Host/)
      })
    }
    it('refuses two Host lines, in any case', async () => {
      const d = refused(await decide(req('/pub', ['Host', 'a.example', 'HOST', 'a.example']), rt), 'request_malformed')
      assert.match(d.detail ?? '', /Host/)
    })
    it('counts only a header named exactly Host', async () => {
      assert.ok((await decide(req('/pub', ['Host', 'a.example', 'Hosts', 'a b', 'X-Host', 'a b', 'Hos', 'a b', 'From', 'a b']), rt)).ok)
    })
  })

  describe('client address (SPEC §3.2)', () => {
    it('is the trusted proxy itself when it sends no X-Forwarded-For', async () => {
      const d = await decide(req('/pub', [], { peerIp: PROXY }), rt)
      assert.ok(d.ok && d.route === 'upstream')
      assert.equal(d.clientIp, PROXY)
      assert.equal(d.peerTrusted, true)
    })
    it('is not trusted from any other peer', async () => {
      const d = await decide(req('/pub', ['X-Forwarded-For', '203.0.113.5'], { peerIp: PEER }), rt)
      assert.ok(d.ok && d.route === 'upstream')
      assert.equal(d.clientIp, PEER)
      assert.equal(d.peerTrusted, false)
    })
    it('reads X-Forwarded-For in any case and across lines', async () => {
      const d = await decide(req('/pub', ['x-forwarded-for', '203.0.113.9', 'X-FORWARDED-FOR', '203.0.113.5', 'Accept-Language', 'de'], { peerIp: PROXY }), rt)
      assert.ok(d.ok)
      assert.equal(d.clientIp, '203.0.113.5')
    })
    it('refuses a right-most untrusted entry that is no address', async () => {
      const d = refused(await decide(req('/pub', ['X-Forwarded-For', '203.0.113.5, not-an-ip'], { peerIp: PROXY }), rt), 'client_address_invalid')
      assert.match(d.detail ?? '', /X-Forwarded-For/)
    })
    it('is an IPv4-mapped IPv6 peer written as IPv4, and filtered as such', async () => {
      const d = await decide(req('/pub', [], { peerIp: '::ffff:192.0.2.10' }), rt)
      assert.ok(d.ok)
      assert.equal(d.clientIp, '192.0.2.10')
      const denied = refused(await decide(req('/pub', [], { peerIp: '::ffff:198.51.100.7' }), rt), 'ip_denied')
      assert.equal(denied.clientIp, '198.51.100.7')
    })
    it('no trusted proxies: X-Forwarded-For is never read', async () => {
      const d = await decide(req('/pub', ['X-Forwarded-For', '198.51.100.7'], { peerIp: PROXY }), bare.runtime)
      assert.ok(d.ok)
      assert.equal(d.clientIp, PROXY)
      assert.equal(d.peerTrusted, false)
    })
  })

  describe('the token service prefix (SPEC §6)', () => {
    for (const target of ['/_gatehouse', '/_gatehouse/', '/_gatehouse/v1/auth/jwt?x=1']) {
      it(`routes ${target} to the service, query verbatim`, async () => {
        const d = await decide(req(target, ['X-API-Key', 'garbage']), rt)
        assert.ok(d.ok && d.route === 'service', JSON.stringify(d))
        assert.equal(d.target, target)
        assert.equal(d.api, null)
        assert.equal(d.clientIp, PEER)
      })
    }
    for (const target of ['/_gatehouseX', '/_gatehouse.x', '/_gatehous', '/x/_gatehouse']) {
      it(`does not route ${target} there (segment boundary)`, async () => {
        refused(await decide(req(target), rt), 'credential_missing')
      })
    }
    it('is no route at all when the token service is off', async () => {
      refused(await decide(req('/_gatehouse/v1/auth/jwt'), bare.runtime), 'credential_missing')
    })
  })

  describe('unmatched: authenticated (SPEC §2)', () => {
    it('needs a credential on a path in no API', async () => {
      refused(await decide(req('/elsewhere'), rt), 'credential_missing')
    })
    it('forwards a path in no API with any valid credential, as no API', async () => {
      const d = await decide(req('/elsewhere/x', withKey('alice')), rt)
      assert.ok(d.ok && d.route === 'upstream', JSON.stringify(d))
      assert.equal(d.api, null)
      assert.equal(d.identity?.user, 'alice')
      assert.deepEqual({ ...d.permissions }, { users: 'rw', upload: 'rw' })
      assert.equal(d.subjectType, 'user')
    })
  })

  describe('Content-Length against the body limits (-> 413)', () => {
    const cl = (n: number, name = 'Content-Length') => [name, String(n)]
    it('a public API: its own maxBodyBytes, exactly', async () => {
      assert.ok((await decide(req('/pub', [...cl(PUBLIC_MAX), 'Accept-Charset', '99', 'X-Other', '99']), rt)).ok)
      const d = refused(await decide(req('/pub', cl(PUBLIC_MAX + 1, 'content-length')), rt), 'body_too_large')
      assert.equal(d.api?.name, 'pub')
      assert.equal(d.clientIp, PEER)
    })
    it('an API with its own maxBodyBytes, after the credential', async () => {
      assert.ok((await decide(req('/upload', withKey('alice', cl(UPLOAD_MAX))), rt)).ok)
      const d = refused(await decide(req('/upload', withKey('alice', cl(UPLOAD_MAX + 1, 'CONTENT-LENGTH'))), rt), 'body_too_large')
      assert.equal(d.api?.name, 'upload')
      refused(await decide(req('/upload', cl(UPLOAD_MAX + 1)), rt), 'credential_missing')
    })
    it('a path in no API: limits.maxBodyBytes, exactly', async () => {
      assert.ok((await decide(req('/elsewhere', withKey('alice', cl(MAX_BODY))), rt)).ok)
      const d = refused(await decide(req('/elsewhere', withKey('alice', cl(MAX_BODY + 1))), rt), 'body_too_large')
      assert.equal(d.api, null)
    })
    it('an API without its own: limits.maxBodyBytes', async () => {
      assert.ok((await decide(req('/api/v1/users', withKey('alice', cl(MAX_BODY))), rt)).ok)
      refused(await decide(req('/api/v1/users', withKey('alice', cl(MAX_BODY + 1))), rt), 'body_too_large')
    })
  })

  it('forwards the query without upstream.removeQueryParams, the path normalised', async () => {
    const d = await decide(req('/api/v1/./users?session_id=x&q=1', withKey('alice')), rt)
    assert.ok(d.ok && d.route === 'upstream', JSON.stringify(d))
    assert.equal(d.path, '/api/v1/users')
    assert.equal(d.target, '/api/v1/users?q=1')
    assert.equal(d.api?.name, 'users')
  })

  it('refuses a path another reading sends to another API (issue 13), naming the reading', async () => {
    const d = refused(await decide(req('/api/v1/users/admin.', withKey('alice')), rt), 'path_ambiguous')
    assert.equal(d.api?.name, 'users')
    assert.match(d.detail ?? '', /trailingDotsSpaces/)
  })

  it('names the API and the level a refused method needs', async () => {
    const d = refused(await decide(req('/api/v1/users/7', withKey('child'), { method: 'DELETE' }), rt), 'permission_insufficient')
    assert.equal(d.api?.name, 'users')
    assert.equal(d.clientIp, PEER)
    assert.match(d.detail ?? '', /\brw\b/)
    assert.match(d.detail ?? '', /\busers\b/)
  })

  describe('a key minted from a key (issue 12)', () => {
    it('lives while its parent lives, capped by it', async () => {
      const d = await decide(req('/api/v1/users', withKey('child')), rt)
      assert.ok(d.ok && d.route === 'upstream', JSON.stringify(d))
      assert.deepEqual({ ...d.permissions }, { users: 'r' })
    })
    it('is refused once its parent expired, naming why', async () => {
      const d = refused(await decide(req('/api/v1/users', withKey('orphan')), rt), 'authority_revoked')
      assert.equal(d.api?.name, 'users')
      assert.match(d.detail ?? '', /expired/)
    })
  })

  it('carries the credential failure detail and the API', async () => {
    const d = refused(await decide(req('/api/v1/users', ['Authorization', 'Token abc']), rt), 'credential_malformed')
    assert.equal(d.api?.name, 'users')
    assert.ok((d.detail ?? '').length > 0)
  })

  it('refuses a path that cannot be normalised with its reason', async () => {
    const d = refused(await decide(req('/a/%2f'), rt), 'path_invalid')
    assert.ok((d.detail ?? '').length > 0)
    assert.equal(d.clientIp, null)
  })

  it('works without a users file: the key store alone', async () => {
    const d = await decide(req('/api/v1/users', withKey('bare')), bare.runtime)
    assert.ok(d.ok && d.route === 'upstream', JSON.stringify(d))
    assert.equal(d.identity?.user, 'alice')
  })
})
