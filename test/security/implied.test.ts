// Cases the catalogue's categories imply but do not list, found by attacking the parts
// we wrote ourselves: the path normaliser, header stripping and identity values, the
// API-key format, the file store, the config loader and the token endpoints.
import assert from 'node:assert/strict'
import { chmod, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { lstatSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { parseConfigText } from '../../src/config/load.js'
import { openFileKeyStore } from '../../src/keystore/file-key-store.js'
import { newKeyRecord } from '../../src/keystore/new-key-record.js'
import { withChecksum } from '../support/api-keys.js'
import { startTestGatehouse } from '../support/gatehouse.js'
import { apiKey, bearer, handMint, problemType, SERVICE, signers, startWorld, type World } from '../support/security-fixture.js'
import { PASSWORDS } from '../support/token-service.js'
import { waitFor } from '../support/wait.js'

let w: World
before(async () => {
  w = await startWorld()
})
after(() => w.close())

const INVALID_FILE = 'key file changed but is invalid'
/** How often serve has logged that it re-read the key file and refused it. */
const invalidFileWarnings = (world: World) => world.P.logText().split(INVALID_FILE).length - 1
const FILE = '/tmp/x/gatehouse.yaml'
const BASE = 'upstream:\n  url: http://127.0.0.1:3000\n'

describe('implied: the path normaliser', () => {
  test('double-encoded dots and slashes (%252e, %25%32%65, %252f, %255c) are 400: an upstream that decodes twice would climb', async () => {
    for (const t of ['/pub/%252e%252e/api/admin', '/pub/%25%32%65%25%32%65/api/admin', '/pub%252f..%252fapi/admin', '/pub/..%255capi']) {
      const before = w.seen()
      const r = await w.request(t, [apiKey(w.K1)])
      assert.equal(r.status, 400, t)
      assert.equal(problemType(r), 'path_invalid')
      assert.equal(w.seen(), before)
    }
  })

  test('the token service is reached only by its exact prefix: case, ; and dot-segment look-alikes never reach U', async () => {
    for (const t of [`/_GATEHOUSE/v1/auth/jwt`, `${SERVICE};x/v1/auth/jwt`, `${SERVICE}x/v1/auth/jwt`]) {
      const before = w.seen()
      const r = await w.request(t, [['Content-Type', 'application/json']], 'POST', '{"permissions":{}}')
      assert.equal(r.status, 403, t)
      assert.equal(w.seen(), before)
    }
    const climb = await w.request(`${SERVICE}/../api/admin`)
    assert.equal(climb.status, 401, 'normalised to /api/admin, which needs a credential')
  })
})

describe('implied: header stripping and identity values', () => {
  test('identity headers sent as request trailers never reach U', async () => {
    const before = w.seen()
    const r = await w.send(
      `POST /api/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${w.T1()}\r\nTransfer-Encoding: chunked\r\nTrailer: X-Auth-User\r\nConnection: close\r\n\r\n` +
        '5\r\nhello\r\n0\r\nX-Auth-User: admin\r\nX-Auth-Permissions: admin:rw\r\n\r\n',
    )
    assert.equal(r.status, 200)
    assert.equal(w.seen(), before + 1)
    assert.equal(w.lastSeen().headers['x-auth-user'], 'alice')
    assert.equal(w.lastSeen().headers.trailer, undefined)
  })

  test('a subject with CR/LF, surrounding spaces or non-ASCII reaches U as one percent-encoded X-Auth-User, never a second header', async () => {
    for (const [sub, sent] of [
      ['bob\r\nX-Auth-User: admin', 'bob%0D%0AX-Auth-User: admin'],
      [' admin', '%20admin'],
      ['admin ', 'admin%20'],
      ['ädmin', '%C3%A4dmin'],
      ['a%0Ab', 'a%250Ab'],
    ]) {
      const t = handMint({ alg: 'HS256' }, { iss: 'hs-app', sub, exp: w.now() + 300, permissions: { api: 'r' } }, signers.hs256('the-catalogue-hs256-secret-is-32-bytes-or-more!'))
      assert.equal((await w.request('/api/x', [bearer(t)])).status, 200, JSON.stringify(sub))
      const seen = w.lastSeen()
      assert.equal(seen.headers['x-auth-user'], sent)
      assert.equal(seen.rawHeaders.filter((n, i) => i % 2 === 0 && n.toLowerCase() === 'x-auth-user').length, 1)
    }
  })
})

describe('implied: the API-key format', () => {
  test('a forged well-formed key (valid checksum) for a real id, a swapped secret and a case-folded prefix are 401 with the one key body', async () => {
    const other = newKeyRecord({ user: 'bob', permissions: { api: 'r' } }, w.now())
    await w.P.gh.store.create(other.record)
    const body = (k: string) => k.slice(0, -6)
    const id = (k: string) => k.slice(3, 15)
    const secret = (k: string) => k.slice(16, 48)
    // The format's checksum (src/credentials/api-key.ts) is no secret: anyone can make a well-formed key.
    const forged = withChecksum(`gh_${id(w.K1)}_${'A'.repeat(32)}`)
    const swapped = withChecksum(`gh_${id(w.K1)}_${secret(other.key)}`)
    const folded = `GH_${w.K1.slice(3)}`
    assert.notEqual(body(forged), body(w.K1))
    for (const key of [forged, swapped, folded]) {
      const before = w.seen()
      const r = await w.request('/api/x', [apiKey(key)])
      assert.equal(r.status, 401)
      assert.equal(problemType(r), 'key_invalid')
      assert.equal(w.seen(), before)
    }
    assert.equal((await w.request('/api/x', [['X-API-Key', `  ${w.K1}  `]])).status, 200, 'optional whitespace around the value is not part of it')
  })
})

describe('implied: the file store', () => {
  test('a world-writable key file is refused at start (exit 2) and by a running serve, which keeps its keys', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-ww-'))
    try {
      const file = path.join(dir, 'apikeys.json')
      await writeFile(file, JSON.stringify({ version: 1, keys: [] }))
      await chmod(file, 0o666)
      await assert.rejects(
        startTestGatehouse({ upstream: { url: w.U.url }, store: { type: 'file', path: file } }),
        (err: Error & { exitCode?: number }) => err.exitCode === 2 && /writable by every user/.test(err.message),
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
    // A running serve: the file turns world-writable with a new key in it.
    const file = path.join(w.P.dir, 'apikeys.json')
    const text = JSON.parse(await readFile(file, 'utf8')) as { version: number; keys: unknown[] }
    const planted = newKeyRecord({ user: 'alice', permissions: { api: 'rw', admin: 'rw' } }, w.now())
    await chmod(file, 0o666)
    const rejections = invalidFileWarnings(w)
    await writeFile(file, JSON.stringify({ version: 1, keys: [...text.keys, planted.record] }))
    // Wait until serve has re-read the file and refused it; then the planted key is tried.
    await waitFor(() => invalidFileWarnings(w) > rejections, 10_000, 'serve to re-read and refuse the key file')
    try {
      assert.equal((await w.request('/api/x', [apiKey(planted.key)])).status, 401, 'the planted key never works')
      assert.equal((await w.request('/api/x', [apiKey(w.K1)])).status, 200, 'the old keys stay')
      assert.ok(w.P.logText().includes('writable by every user'))
    } finally {
      await chmod(file, 0o600)
    }
  })

  test('a record whose user carries CR/LF makes the edited file invalid: the old keys stay, the planted key never works', async () => {
    const file = path.join(w.P.dir, 'apikeys.json')
    const text = JSON.parse(await readFile(file, 'utf8')) as { version: number; keys: Record<string, unknown>[] }
    const planted = newKeyRecord({ user: 'alice', permissions: { api: 'rw', admin: 'rw' } }, w.now())
    const rejections = invalidFileWarnings(w)
    await writeFile(file, JSON.stringify({ version: 1, keys: [...text.keys, { ...planted.record, user: 'alice\r\nX-Auth-User: admin' }] }), { mode: 0o600 })
    await waitFor(() => invalidFileWarnings(w) > rejections, 10_000, 'serve to re-read and refuse the key file')
    assert.match(w.P.logText().split('\n').filter((l) => l.includes(INVALID_FILE)).at(-1) ?? '', /keys\[\d+\]\.user/, 'refused for the user field')
    assert.equal((await w.request('/api/x', [apiKey(planted.key)])).status, 401)
    assert.equal((await w.request('/api/x', [apiKey(w.K1)])).status, 200)
    await writeFile(file, JSON.stringify({ version: 1, keys: text.keys }), { mode: 0o600 })
  })

  test('a key file symlinked to a secret that is not JSON is refused without quoting it; writes replace the link, never the target', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-link-'))
    try {
      const secret = path.join(dir, 'shadow')
      await writeFile(secret, 'root:$6$very-secret-hash:19000:0:99999:7:::\n')
      const link = path.join(dir, 'apikeys.json')
      await symlink(secret, link)
      await assert.rejects(startTestGatehouse({ upstream: { url: w.U.url }, store: { type: 'file', path: link } }), (err: Error) => {
        assert.ok(!err.message.includes('very-secret-hash'), err.message)
        return /not valid JSON/.test(err.message)
      })
      // A link to a valid key file: read through it; a write swaps in a regular file and leaves the target alone.
      const target = path.join(dir, 'real.json')
      await writeFile(target, JSON.stringify({ version: 1, keys: [] }), { mode: 0o600 })
      const link2 = path.join(dir, 'keys-link.json')
      await symlink(target, link2)
      const store = await openFileKeyStore(link2, { watch: false })
      await store.create(newKeyRecord({ user: 'alice', permissions: { api: 'r' } }, w.now()).record)
      await store.close()
      assert.equal(JSON.parse(await readFile(target, 'utf8')).keys.length, 0, 'the target is untouched')
      assert.ok(lstatSync(link2).isFile() && !lstatSync(link2).isSymbolicLink())
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('implied: the config loader', () => {
  const problems = (text: string, env: NodeJS.ProcessEnv = {}) => {
    const r = parseConfigText(text, FILE, env)
    return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`)
  }

  test('a __proto__ key is an unknown field, never the prototype other fields are read from', () => {
    assert.deepEqual(problems(`${BASE}__proto__:\n  unmatched: authenticated\n`), ['__proto__: unknown field'])
    assert.deepEqual(problems(`${BASE}apis:\n  - name: a\n    prefixes: [/a]\n    __proto__: { public: true }\n`), ['apis[0].__proto__: unknown field'])
  })

  test('an alias bomb is a problem, not an exception or a gigabyte', () => {
    const bomb = `${BASE}a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n`
    const p = problems(bomb)
    assert.equal(p.length, 1)
    assert.match(p[0] as string, /alias/i)
  })

  test('${ENV} is expanded once, in values only: a value holding ${OTHER}, YAML or a newline cannot add keys; $${ keeps a literal', () => {
    assert.deepEqual(
      problems(`${BASE}log:\n  level: \${LEVEL}\nidentityHeaders:\n  prefix: \${PREFIX}\n`, { LEVEL: 'info', PREFIX: '${SECRET}' }),
      ["identityHeaders.prefix: must be an HTTP header name: letters, digits and !#$%&'*+.^_`|~- (e.g. X-Api-Key)"],
      'the prefix ${SECRET} stays a literal (not expanded again) and fails its pattern; LEVEL=info is fine',
    )
    assert.deepEqual(problems(`${BASE}log:\n  level: \${LEVEL}\n`, { LEVEL: 'info\nunmatched: authenticated' }), ['log.level: must be "fatal", "error", "warn", "info", "debug", "trace" or "silent"'])
    const ok = parseConfigText(`${BASE}apis:\n  - name: a\n    prefixes: ["/$\${literal}"]\n`, FILE, {})
    assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.problems))
    assert.equal(ok.value.config.apis[0]?.prefixes[0], '/${literal}')
    assert.deepEqual(problems(`${BASE}\${KEY}: 1\n`, { KEY: 'unmatched' }), ['${KEY}: unknown field'])
  })

  test('duplicate keys, merge keys and language tags are problems, never last-wins or code', () => {
    assert.deepEqual(problems(`${BASE}unmatched: deny\nunmatched: authenticated\n`), ['line 4, column 1: YAML: Map keys must be unique'])
    assert.ok(problems(`${BASE}x: &x { level: debug }\nlog:\n  <<: *x\n`).includes('log.<<: unknown field'))
    // On a field where the string itself would be valid, so only the tag can be the reason.
    assert.deepEqual(problems(`${BASE}log:\n  level: !!js/function "info"\n`), ['line 4, column 10: YAML: Unresolved tag: tag:yaml.org,2002:js/function'])
    assert.deepEqual(problems(`${BASE}log:\n  level: !custom "info"\n`).map((p) => p.replace(/^line \d+, column \d+: /, '')), ['YAML: Unresolved tag: !custom'])
    assert.deepEqual(problems(`${BASE}log:\n  level: !!str "info"\n`), [], 'a core-schema tag is fine')
    assert.ok(problems(`${BASE}limits:\n  maxBodyBytes: 1e400\n`).some((p) => p.startsWith('limits.maxBodyBytes')))
  })
})

describe('implied: the token endpoints', () => {
  const basic: [string, string] = ['Authorization', `Basic ${Buffer.from(`alice:${PASSWORDS.alice}`).toString('base64')}`]
  const json: [string, string] = ['Content-Type', 'application/json']

  test('JSON bodies with __proto__ or constructor.prototype are 400 and issue nothing', async () => {
    for (const body of [
      '{"permissions":{},"__proto__":{"admin":true}}',
      '{"permissions":{"__proto__":"rw"}}',
      '{"permissions":{},"constructor":{"prototype":{"admin":true}}}',
    ]) {
      const r = await w.request(`${SERVICE}/v1/auth/jwt`, [basic, json], 'POST', body)
      assert.equal(r.status, 400, body)
      assert.ok(!r.body.includes('token'), body)
    }
  })

  test('targetUser and description with control characters are 400', async () => {
    for (const body of [
      { permissions: {}, targetUser: 'bob\r\nX-Auth-User: admin' },
      { permissions: {}, targetUser: 'bob\u0000' },
    ]) {
      assert.equal((await w.request(`${SERVICE}/v1/auth/jwt`, [basic, json], 'POST', JSON.stringify(body))).status, 400)
    }
    const carol: [string, string] = ['Authorization', `Basic ${Buffer.from(`carol:${PASSWORDS.carol}`).toString('base64')}`]
    const r = await w.request(`${SERVICE}/v1/auth/apikeys`, [carol, json], 'POST', JSON.stringify({ permissions: {}, description: 'line\r\nX-Injected: 1\u001b[31m' }))
    assert.equal(r.status, 400)
  })

  test('a YAML users file: a top-level __proto__ or an alias bomb is refused; a __proto__ permission stays an own entry', async () => {
    const { loadUsersFile } = await import('../../src/accounts/users.js')
    const { hashPassword } = await import('../../src/accounts/password-hash.js')
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-users-'))
    try {
      const file = path.join(dir, 'users.yaml')
      const problemsOf = async (text: string) => {
        await writeFile(file, text)
        const r = await loadUsersFile(file)
        return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`)
      }
      assert.deepEqual(await problemsOf('__proto__:\n  users: []\nusers: []\n'), ['usersFile.__proto__: unknown field'])
      const bomb = await problemsOf(`a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\nusers: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`)
      assert.equal(bomb.length, 1)
      assert.match(bomb[0] as string, /alias/i)
      // Written as YAML text: a JS literal `{ __proto__: 'rw' }` would set a prototype, not a key.
      // A permission named __proto__ is an ordinary own entry, never the prototype the others are read from.
      await writeFile(file, `users:\n  - name: x\n    passwordHash: "${await hashPassword('s')}"\n    permissions:\n      __proto__: rw\n      pub: r\n`)
      const r = await loadUsersFile(file)
      assert.ok(r.ok, JSON.stringify(!r.ok && r.problems))
      const perms = r.value.get('x')?.permissions as Record<string, unknown>
      assert.equal(Object.getPrototypeOf(perms), Object.prototype)
      assert.deepEqual(Object.keys(perms).sort(), ['__proto__', 'pub'])
      assert.equal(Object.getOwnPropertyDescriptor(perms, '__proto__')?.value, 'rw', 'kept as data, not fed to the __proto__ setter')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
