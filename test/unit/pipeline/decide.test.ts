// decide() without sockets: every row of SPEC §3, against a Runtime compiled by
// runtime/compile.ts from a real config, a real file key store, real keys and
// signatures, and a frozen clock. Expected statuses and reasons are SPEC §3's
// (statuses as numbers, read from the SPEC, not from the reason table).
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
import { OUTCOMES, type DenyReason } from '../../../src/outcome/catalogue.js'
import { decide, type RequestFacts } from '../../../src/pipeline/decide.js'
import type { Decision } from '../../../src/pipeline/decision.js'
import { compileRuntime, type Runtime } from '../../../src/runtime/compile.js'
import { makeKeyPair, mintJwt, tamperSignature, type TestKey } from '../../support/mint.js'

const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0)
const NOW = NOW_MS / 1000
const PEER = '192.0.2.10' // TEST-NET-1: allowed, not a trusted proxy
const PROXY = '10.9.9.9' // the one trusted proxy
const DENIED = '198.51.100.7' // in the global deny list

type Expect =
  | { status: number; reason: DenyReason; bearerError?: 'invalid_token' | 'invalid_request' | 'insufficient_scope' }
  | { forward: string; api: string | null; user: string | null; clientIp?: string }
  | { service: string }

interface Row {
  readonly name: string
  readonly method?: string
  readonly target: string
  /** Raw header lines, name then value; `$jwt`-style placeholders are replaced by the credentials made in before(). */
  readonly headers?: readonly string[]
  readonly peer?: string
  readonly expect: Expect
}

// SPEC §3, step by step. Each row is one sentence of the SPEC.
const ROWS: Readonly<Record<string, readonly Row[]>> = {
  '§3.1 normalise the path once': [
    { name: 'an encoded slash is 400', target: '/api/v1/users%2F7', headers: ['Authorization', 'Bearer $rw'], expect: { status: 400, reason: 'path_invalid' } },
    { name: 'an encoded backslash is 400', target: '/api/v1/users%5C7', headers: ['Authorization', 'Bearer $rw'], expect: { status: 400, reason: 'path_invalid' } },
    { name: '`..` above the root is 400', target: '/api/../../etc/passwd', expect: { status: 400, reason: 'path_invalid' } },
    { name: 'an encoded NUL is 400', target: '/api/v1/users/%00', expect: { status: 400, reason: 'path_invalid' } },
    { name: 'invalid percent-encoding is 400', target: '/api/v1/users/%zz', expect: { status: 400, reason: 'path_invalid' } },
    {
      name: 'dot segments and duplicate slashes are resolved, and that path is the one forwarded',
      target: '/api/v1/./sessions/..//users//7',
      headers: ['Authorization', 'Bearer $rw'],
      expect: { forward: '/api/v1/users/7', api: 'users', user: 'alice' },
    },
    {
      name: 'percent-encoded unreserved characters are decoded before matching',
      target: '/api/v1/%75sers/7?q=1',
      headers: ['Authorization', 'Bearer $rw'],
      expect: { forward: '/api/v1/users/7?q=1', api: 'users', user: 'alice' },
    },
  ],
  '§3.2 client IP': [
    {
      name: 'is the socket address when the peer is not a trusted proxy (its X-Forwarded-For is ignored)',
      target: '/api/v1/version',
      headers: ['X-Forwarded-For', DENIED],
      expect: { forward: '/api/v1/version', api: 'version', user: null, clientIp: PEER },
    },
    {
      name: 'is the right-most untrusted X-Forwarded-For address behind a trusted proxy',
      target: '/api/v1/version',
      peer: PROXY,
      headers: ['X-Forwarded-For', `${DENIED}, 203.0.113.5`],
      expect: { forward: '/api/v1/version', api: 'version', user: null, clientIp: '203.0.113.5' },
    },
  ],
  '§3.3 global IP filter': [
    { name: 'a denied socket address is 403 before any credential is looked at', target: '/api/v1/users', peer: DENIED, expect: { status: 403, reason: 'ip_denied' } },
    {
      name: 'a denied address named by a trusted proxy is 403',
      target: '/api/v1/version',
      peer: PROXY,
      headers: ['X-Forwarded-For', `203.0.113.5, ${DENIED}`],
      expect: { status: 403, reason: 'ip_denied' },
    },
    { name: 'applies to the token service too', target: '/_gatehouse/v1/auth/jwt', method: 'POST', peer: DENIED, expect: { status: 403, reason: 'ip_denied' } },
  ],
  '§3.4 match the API': [
    { name: 'the longest prefix wins', target: '/api/v1/users/admin/7', headers: ['Authorization', 'Bearer $rw'], expect: { forward: '/api/v1/users/admin/7', api: 'admin', user: 'alice' } },
    { name: 'a prefix matches on segment boundaries only (/api/v1/usersX is no API)', target: '/api/v1/usersX', headers: ['Authorization', 'Bearer $rw'], expect: { status: 403, reason: 'no_api' } },
    { name: 'a public API is forwarded without a credential', target: '/api/v1/version', expect: { forward: '/api/v1/version', api: 'version', user: null } },
    { name: 'a public API is forwarded without looking at a credential', target: '/api/v1/version', headers: ['Authorization', 'Bearer not.a.jwt'], expect: { forward: '/api/v1/version', api: 'version', user: null } },
    { name: 'no API with unmatched: deny is 403 before any credential is looked at', target: '/elsewhere', headers: ['Authorization', 'Bearer $tampered'], expect: { status: 403, reason: 'no_api' } },
    { name: 'the token service is routed before any credential is read', target: '/_gatehouse/v1/auth/jwt', method: 'POST', headers: ['Authorization', 'Bearer $tampered'], expect: { service: '/_gatehouse/v1/auth/jwt' } },
  ],
  '§3.5 exactly one credential': [
    { name: 'none is 401', target: '/api/v1/users', expect: { status: 401, reason: 'credential_missing' } },
    { name: 'a malformed one is 401', target: '/api/v1/users', headers: ['Authorization', 'Token abc'], expect: { status: 401, reason: 'credential_malformed', bearerError: 'invalid_token' } },
    { name: 'a bad signature is 401 invalid_token', target: '/api/v1/users', headers: ['Authorization', 'Bearer $tampered'], expect: { status: 401, reason: 'token_invalid', bearerError: 'invalid_token' } },
    { name: 'an expired JWT is 401 invalid_token', target: '/api/v1/users', headers: ['Authorization', 'Bearer $expired'], expect: { status: 401, reason: 'token_expired', bearerError: 'invalid_token' } },
    { name: 'an unknown key is 401', target: '/api/v1/users', headers: ['X-API-Key', '$unknownKey'], expect: { status: 401, reason: 'key_unknown', bearerError: 'invalid_token' } },
    { name: 'a disabled key is 401', target: '/api/v1/users', headers: ['X-API-Key', '$disabledKey'], expect: { status: 401, reason: 'key_disabled', bearerError: 'invalid_token' } },
    { name: 'an expired key is 401', target: '/api/v1/users', headers: ['X-API-Key', '$expiredKey'], expect: { status: 401, reason: 'key_expired', bearerError: 'invalid_token' } },
    {
      name: 'two Authorization headers are 400 invalid_request',
      target: '/api/v1/users',
      headers: ['Authorization', 'Bearer $rw', 'Authorization', 'Bearer $rw'],
      expect: { status: 400, reason: 'credential_ambiguous', bearerError: 'invalid_request' },
    },
    {
      name: 'a JWT and a key are 400 invalid_request',
      target: '/api/v1/users',
      headers: ['Authorization', 'Bearer $rw', 'X-API-Key', '$aliceKey'],
      expect: { status: 400, reason: 'credential_ambiguous', bearerError: 'invalid_request' },
    },
    { name: 'a valid JWT is forwarded as its user', target: '/api/v1/users', headers: ['Authorization', 'Bearer $rw'], expect: { forward: '/api/v1/users', api: 'users', user: 'alice' } },
    { name: 'a valid key is forwarded as its user', target: '/api/v1/users', headers: ['X-API-Key', '$aliceKey'], expect: { forward: '/api/v1/users', api: 'users', user: 'alice' } },
  ],
  '§3.6 credential IP filter': [
    { name: "a key's own CIDR list refuses other addresses with 403", target: '/api/v1/users', headers: ['X-API-Key', '$netKey'], expect: { status: 403, reason: 'credential_ip_denied' } },
    { name: "a key's own CIDR list lets its addresses through", target: '/api/v1/users', peer: '10.1.2.3', headers: ['X-API-Key', '$netKey'], expect: { forward: '/api/v1/users', api: 'users', user: 'alice' } },
  ],
  '§3.7 permission': [
    ...['GET', 'HEAD', 'OPTIONS'].map((method) => ({
      name: `${method} needs r`,
      method,
      target: '/api/v1/users',
      headers: ['Authorization', 'Bearer $r'],
      expect: { forward: '/api/v1/users', api: 'users', user: 'alice' },
    })),
    ...['POST', 'PUT', 'PATCH', 'DELETE'].map((method) => ({
      name: `${method} needs rw: 403 with r`,
      method,
      target: '/api/v1/users',
      headers: ['Authorization', 'Bearer $r'],
      expect: { status: 403, reason: 'permission_insufficient' as const, bearerError: 'insufficient_scope' as const },
    })),
    { name: 'no grant for the API at all is 403', target: '/api/v1/sessions', headers: ['Authorization', 'Bearer $r'], expect: { status: 403, reason: 'permission_insufficient' } },
    { name: 'a key is capped by what its user holds now: reads pass', target: '/api/v1/users', headers: ['X-API-Key', '$bobKey'], expect: { forward: '/api/v1/users', api: 'users', user: 'bob' } },
    { name: 'a key is capped by what its user holds now: rw on the key, r for the user, a write is 403', method: 'PUT', target: '/api/v1/users/7', headers: ['X-API-Key', '$bobKey'], expect: { status: 403, reason: 'permission_insufficient' } },
  ],
  '§3.8 forward': [
    { name: 'TRACE is 405', method: 'TRACE', target: '/api/v1/version', expect: { status: 405, reason: 'method_not_allowed' } },
    { name: 'CONNECT is 405', method: 'CONNECT', target: '/api/v1/version', expect: { status: 405, reason: 'method_not_allowed' } },
  ],
}

describe('decide() follows SPEC §3 row by row', () => {
  let dir = ''
  let store: KeyStore
  let runtime: Runtime
  const credentials: Record<string, string> = {}

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-decide-'))
    const idp: TestKey = await makeKeyPair('RS256', 'idp-1')
    await writeFile(path.join(dir, 'idp.pub'), idp.publicPem)
    const hash = await hashPassword('not-used-here')
    await writeFile(
      path.join(dir, 'users.yaml'),
      stringify({
        users: [
          { name: 'alice', passwordHash: hash, permissions: { users: 'rw', admin: 'rw', sessions: 'rw' } },
          { name: 'bob', passwordHash: hash, permissions: { users: 'r' } },
        ],
      }),
    )
    const config = {
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      upstream: { url: 'http://127.0.0.1:9' },
      store: { type: 'file', path: path.join(dir, 'apikeys.json') },
      trustedProxies: [`${PROXY}/32`],
      ipFilter: { deny: ['198.51.100.0/24'] },
      unmatched: 'deny',
      apis: [
        { name: 'users', prefixes: ['/api/v1/users'] },
        { name: 'admin', prefixes: ['/api/v1/users/admin'] },
        { name: 'sessions', prefixes: ['/api/v1/sessions'] },
        { name: 'version', prefixes: ['/api/v1/version'], public: true },
      ],
      jwt: { issuers: [{ issuer: 'test-idp', audience: 'legacy-api', publicKeyFile: './idp.pub', algorithms: ['RS256'] }] },
      issuer: { name: 'gatehouse', usersFile: './users.yaml' },
      cache: { maxEntries: 0 },
      limits: { authFailuresPerMinute: 0 },
    }
    const loaded = parseConfigText(stringify(config), path.join(dir, 'gatehouse.yaml'))
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems))
    store = await openKeyStore(loaded.value.config.store)
    const compiled = await compileRuntime(loaded.value, {
      store,
      cache: createVerifiedCache(0, 0),
      onCache: () => {},
      now: () => NOW_MS,
    })
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems))
    runtime = compiled.value

    const claims = { iss: 'test-idp', aud: 'legacy-api', sub: 'alice', iat: NOW - 60, exp: NOW + 600 }
    credentials.rw = await mintJwt({ ...claims, permissions: { users: 'rw', admin: 'rw' } }, idp)
    credentials.r = await mintJwt({ ...claims, permissions: { users: 'r' } }, idp)
    credentials.expired = await mintJwt({ ...claims, iat: NOW - 7200, exp: NOW - 3600, permissions: { users: 'rw' } }, idp)
    credentials.tampered = tamperSignature(credentials.rw)
    const key = async (fields: Partial<NewKeyFields>) => {
      const made = newKeyRecord({ user: 'alice', permissions: { users: 'rw' }, ...fields }, NOW - 100)
      await store.create(made.record)
      return made.key
    }
    credentials.aliceKey = await key({})
    credentials.disabledKey = await key({ enabled: false })
    credentials.expiredKey = await key({ expiresAt: NOW - 10 })
    credentials.netKey = await key({ ipFilter: ['10.0.0.0/8'] })
    credentials.bobKey = await key({ user: 'bob', permissions: { users: 'rw' } })
    // A key in the right format that the store never saw.
    credentials.unknownKey = newKeyRecord({ user: 'alice', permissions: { users: 'rw' } }, NOW).key
  })

  after(async () => {
    runtime?.close()
    await store?.close()
    await rm(dir, { recursive: true, force: true })
  })

  const facts = (row: Row): RequestFacts => ({
    method: row.method ?? 'GET',
    rawTarget: row.target,
    rawHeaders: ['Host', 'api.example', ...(row.headers ?? []).map((v) => v.replace(/^(Bearer )?\$(\w+)$/, (_, b = '', k) => b + (credentials[k] ?? `missing ${k}`)))],
    peerIp: row.peer ?? PEER,
  })

  for (const [step, rows] of Object.entries(ROWS)) {
    describe(step, () => {
      for (const row of rows) {
        it(row.name, async () => {
          const d: Decision = await decide(facts(row), runtime)
          const e = row.expect
          if ('status' in e) {
            assert.equal(d.ok, false, `expected a ${e.status} refusal, got ${JSON.stringify(d)}`)
            if (d.ok) return
            assert.equal(d.reason, e.reason)
            const row = OUTCOMES[d.reason]
            assert.equal(row.status, e.status, `the status of ${d.reason}`)
            // RFC 9110 §15.5.2: every 401 challenges; RFC 6750 §3.1: with the error code where the SPEC names one,
            // without one when no credential was sent.
            const challenge = row.wwwAuthenticate ?? ''
            if (e.bearerError) assert.match(challenge, new RegExp(`^Bearer realm="gatehouse", error="${e.bearerError}"`))
            else if (e.status === 401) assert.ok(challenge.startsWith('Bearer ') && !challenge.includes('error='), challenge)
          } else if ('service' in e) {
            assert.ok(d.ok && d.route === 'service', JSON.stringify(d))
            assert.equal(d.target, e.service)
          } else {
            assert.ok(d.ok && d.route === 'upstream', JSON.stringify(d))
            assert.equal(d.target, e.forward)
            assert.equal(d.api?.name ?? null, e.api)
            assert.equal(d.identity?.user ?? null, e.user)
            if (e.clientIp) assert.equal(d.clientIp, e.clientIp)
          }
        })
      }
    })
  }
})
