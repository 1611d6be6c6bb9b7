// Issue 18, "Command line": exit codes as README "The command" tabulates them,
// check-config listing every problem (an unset variable or a corrupt key file hides
// none of the others) with what a valid value looks like, "cannot listen" naming the
// address, and `issuer:` capping existing keys: a warning at start, and a reload that
// turns the token service on or off refused (README "Operations": restart).
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { parse, stringify } from 'yaml'
import { runCli, serveConfig, startServe, type ServeProcess } from '../support/gatehouse-process.js'
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js'

let dir: string
let upstream: RecordingUpstream

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-start18-'))
  upstream = await startRecordingUpstream()
})

after(async () => {
  await upstream.close()
  await rm(dir, { recursive: true, force: true })
})

const APIS = [
  { name: 'users', prefixes: ['/api/v1/users'] },
  { name: 'version', prefixes: ['/api/v1/version'], public: true },
]

async function writeConfig(name: string, extra: Record<string, unknown>): Promise<string> {
  const file = path.join(dir, name)
  await writeFile(file, stringify(serveConfig({ upstream: { url: upstream.url }, apis: APIS, store: { type: 'file', path: `./${name}.keys.json` }, ...extra })))
  return file
}

async function takenPort(): Promise<{ port: number; close(): Promise<void> }> {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()))
  return { port: (s.address() as net.AddressInfo).port, close: () => new Promise<void>((resolve) => s.close(() => resolve())) }
}

describe('check-config lists every problem', { concurrency: 2 }, () => {
  test('an unset variable hides none of the other problems, and each says what a valid value looks like', { timeout: 30_000 }, async () => {
    const file = await writeConfig('many.yaml', {
      upstream: { url: '${GH18_UNSET_UPSTREAM}' },
      apis: [{ name: 'users', prefixes: ['api/v1/users'] }, { name: 'bad name', prefixes: ['/x'] }],
      unmatched: 'maybe',
      trustedProxies: ['10.0.0.0/40'],
    })
    const r = await runCli(['check-config', '--config', file])
    assert.equal(r.code, 1)
    const expected = [
      /many\.yaml: upstream\.url: environment variable GH18_UNSET_UPSTREAM is not set$/m,
      /many\.yaml: apis\[0\]\.prefixes\[0\]: must be a path starting with \/ \(e\.g\. \/api\/v1\/users\)$/m,
      /many\.yaml: apis\[1\]\.name: must be letters, digits, _, \. or - only/m,
      /many\.yaml: unmatched: must be "deny" or "authenticated"$/m,
      /many\.yaml: trustedProxies\[0\]: .*10\.0\.0\.0\/40/m,
    ]
    for (const re of expected) assert.match(r.stderr, re)
    assert.doesNotMatch(r.stderr, /upstream\.url: not a URL/, 'the unset variable is the one problem of its field')
    assert.equal(r.stderr.trim().split('\n').length, expected.length, r.stderr)
  })

  test('a corrupt key file is one problem among the others; serve refuses it with exit 2', { timeout: 30_000 }, async () => {
    const users = path.join(dir, 'broken-users.yaml')
    await writeFile(users, stringify({ users: [{ name: 'alice', passwordHash: 'plain-text' }] }), { mode: 0o600 })
    const file = await writeConfig('corrupt.yaml', { issuer: { usersFile: users } })
    await writeFile(`${file}.keys.json`, '{"version": 1, "keys": [', { mode: 0o600 })
    const [check, serve] = await Promise.all([runCli(['check-config', '--config', file]), runCli(['serve', '--config', file])])
    assert.equal(check.code, 1)
    assert.match(check.stderr, /corrupt\.yaml: store: cannot open the key store: .*not valid JSON/)
    assert.match(check.stderr, /corrupt\.yaml: usersFile\.users\[0\]\.passwordHash: is not a supported hash/)
    assert.equal(serve.code, 2, 'README: a key store that cannot be opened is 2')
    assert.match(serve.stderr, /cannot open the key store/)
  })
  test('TLS files that do not load are a check-config problem; serve refuses them with exit 2', { timeout: 30_000 }, async () => {
    const notPem = path.join(dir, 'not-a-cert.pem')
    await writeFile(notPem, 'this is no PEM\n', { mode: 0o600 })
    const file = await writeConfig('tls.yaml', { tls: { certFile: notPem, keyFile: notPem } })
    const [check, serve] = await Promise.all([runCli(['check-config', '--config', file]), runCli(['serve', '--config', file])])
    assert.equal(check.code, 1)
    assert.match(check.stderr, /tls\.yaml: tls: cannot load the certificate and key \(.+\): certFile must hold a PEM certificate \(BEGIN CERTIFICATE\)/)
    assert.equal(serve.code, 2, 'README: TLS files that cannot be loaded are 2')
  })
})

describe('exit codes (README "The command")', { concurrency: 2 }, () => {
  test('a taken traffic port: exit 2, and the message names the address', { timeout: 30_000 }, async () => {
    const taken = await takenPort()
    try {
      const file = await writeConfig('taken.yaml', { listen: `127.0.0.1:${taken.port}` })
      const r = await runCli(['serve', '--config', file])
      assert.equal(r.code, 2)
      assert.equal(r.stderr, `gatehouse: cannot listen on 127.0.0.1:${taken.port} (listen): address in use (EADDRINUSE)\n`)
      assert.equal(upstream.requests.length, 0)
    } finally {
      await taken.close()
    }
  })

  test('a taken admin port: exit 2, naming admin.listen', { timeout: 30_000 }, async () => {
    const taken = await takenPort()
    try {
      const file = await writeConfig('taken-admin.yaml', { admin: { listen: `127.0.0.1:${taken.port}` } })
      const r = await runCli(['serve', '--config', file])
      assert.equal(r.code, 2)
      assert.match(r.stderr, new RegExp(`^gatehouse: cannot listen on 127\\.0\\.0\\.1:${taken.port} \\(admin\\.listen\\): address in use`))
    } finally {
      await taken.close()
    }
  })

  test('a missing key file is no failure: serve starts with no keys (the file is created on the first write)', { timeout: 30_000 }, async () => {
    const file = await writeConfig('nokeys.yaml', { store: { type: 'file', path: './not-yet/apikeys.json' } })
    const [check, gh] = await Promise.all([runCli(['check-config', '--config', file]), startServe(['--config', file])])
    try {
      assert.equal(check.code, 0, check.stderr)
      const res = await fetch(`${gh.proxyUrl}/api/v1/users`, { headers: { 'x-api-key': 'gh_AAAAAAAAAAAA_' + 'a'.repeat(38) }, signal: AbortSignal.timeout(3000) })
      assert.equal(res.status, 401)
    } finally {
      await gh.stop()
    }
    assert.equal((await gh.exited).code, 0)
  })
})

async function keyFor(config: string, user: string): Promise<{ id: string; key: string }> {
  const r = await runCli(['keys', 'create', '--config', config, '--user', user, '--permissions', 'users:r', '--json'])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout) as { id: string; key: string }
}

async function status(gh: ServeProcess, urlPath: string, headers: Record<string, string> = {}): Promise<number> {
  return (await fetch(`${gh.proxyUrl}${urlPath}`, { headers, signal: AbortSignal.timeout(3000) })).status
}

describe('issuer: caps the keys by the users file', () => {
  test('start warns with the ids of keys whose users the file does not list; a reload turning issuer: on or off is refused', { timeout: 60_000 }, async () => {
    const hashed = await runCli(['hash-secret'], { stdin: 'alice-password-18b' })
    const users = path.join(dir, 'cap-users.yaml')
    await writeFile(users, stringify({ users: [{ name: 'alice', passwordHash: hashed.stdout.trim(), permissions: { users: 'r' } }] }), { mode: 0o600 })
    const config = await writeConfig('cap.yaml', {})
    const plain = parse(await readFile(config, 'utf8')) as Record<string, unknown>
    const withIssuer = stringify({ ...plain, issuer: { usersFile: users } })
    const [alice, carol] = [await keyFor(config, 'alice'), await keyFor(config, 'carol')]

    // Started without issuer: carol's key works; adding issuer: by reload is refused and changes nothing.
    const gh = await startServe(['--config', config])
    try {
      assert.equal(await status(gh, '/api/v1/users', { 'x-api-key': carol.key }), 200)
      await writeFile(config, withIssuer)
      gh.child.kill('SIGHUP')
      const refused = await gh.waitForLog((l) => l.msg === 'reload failed; keeping the running configuration', 5000)
      assert.match(JSON.stringify(refused.problems), /the token service \(issuer:\) is turned on only on restart/)
      assert.equal(await status(gh, '/api/v1/users', { 'x-api-key': carol.key }), 200, 'the running config is kept whole')
      assert.equal(await status(gh, '/_gatehouse/.well-known/jwks.json'), 403, 'no token service appeared: unmatched deny')
    } finally {
      await gh.stop()
    }

    // Restarted with issuer: the warning names carol's key (id only) and not alice's; carol's key is now refused.
    const capped = await startServe(['--config', config])
    try {
      const warning = await capped.waitForLog((l) => /users are not in the users file/.test(String(l.msg)), 5000)
      assert.deepEqual(warning.keyIds, [carol.id])
      assert.ok(warning.level === 'warn' || warning.level === 40, `a warning (pino's 40), got ${String(warning.level)}`)
      const output = capped.stdout() + capped.stderr()
      for (const k of [alice.key, carol.key]) assert.ok(!output.includes(k) && !output.includes(k.split('_')[2] as string), 'never a secret')
      assert.equal(await status(capped, '/api/v1/users', { 'x-api-key': carol.key }), 401)
      assert.equal(await status(capped, '/api/v1/users', { 'x-api-key': alice.key }), 200)

      // Removing issuer: by reload is refused too: the token service and the cap stay.
      await writeFile(config, stringify(plain))
      capped.child.kill('SIGHUP')
      const off = await capped.waitForLog((l) => l.msg === 'reload failed; keeping the running configuration', 5000)
      assert.match(JSON.stringify(off.problems), /the token service \(issuer:\) is turned off only on restart/)
      assert.equal(await status(capped, '/_gatehouse/.well-known/jwks.json'), 200)
      assert.equal(await status(capped, '/api/v1/users', { 'x-api-key': carol.key }), 401)
    } finally {
      await capped.stop()
    }
    assert.equal((await capped.exited).code, 0)
  })
})
