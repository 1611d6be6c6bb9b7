// Issue 18, "Command line": what a new user meets running the built `gatehouse`
// (dist/main.js). Help on every command, --version, usage errors that say what was
// expected, hash-secret on a real terminal, keys create checked against the config,
// exit codes as README "The command" tabulates them, check-config listing every
// problem, and the start-up warning about keys the users file does not cover.
import assert from 'node:assert/strict'
import { scryptSync, timingSafeEqual } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { stringify } from 'yaml'
import { MAIN, PROJECT_ROOT, runCli, serveConfig } from '../support/gatehouse-process.js'
import { runOnPty, scriptTool } from '../support/pty.js'

let dir: string
let upstreamUrl: string
let upstream: net.Server
let alicePasswordHash: string

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-cli18-'))
  // Nothing here is forwarded anywhere: an address that answers is all the configs need.
  upstream = net.createServer((s) => s.destroy())
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()))
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`
  const hashed = await runCli(['hash-secret'], { stdin: 'alice-password-18' })
  assert.equal(hashed.code, 0, hashed.stderr)
  alicePasswordHash = hashed.stdout.trim()
})

after(async () => {
  await new Promise((resolve) => upstream.close(resolve))
  await rm(dir, { recursive: true, force: true })
})

async function writeConfig(name: string, extra: Record<string, unknown>): Promise<string> {
  const file = path.join(dir, name)
  await writeFile(
    file,
    stringify(
      serveConfig({
        upstream: { url: upstreamUrl },
        apis: [
          { name: 'users', prefixes: ['/api/v1/users'] },
          { name: 'sessions', prefixes: ['/api/v1/sessions'] },
        ],
        store: { type: 'file', path: `./${name}.keys.json` },
        ...extra,
      }),
    ),
  )
  return file
}

async function writeUsers(name: string): Promise<string> {
  const file = path.join(dir, name)
  const users = [
    { name: 'alice', passwordHash: alicePasswordHash, permissions: { users: 'rw', sessions: 'r' } },
    { name: 'bob', passwordHash: alicePasswordHash, permissions: { users: 'r' } },
  ]
  await writeFile(file, stringify({ users }), { mode: 0o600 })
  return file
}

const storeOf = (config: string) => readFile(`${config}.keys.json`, 'utf8').catch(() => 'no file')

describe('help, version and usage errors', { concurrency: 4 }, () => {
  const commands = [['serve'], ['check-config'], ['hash-secret'], ['keys'], ['keys', 'create'], ['keys', 'list'], ['keys', 'revoke'], ['keys', 'migrate'], []]
  for (const command of commands) {
    test(`gatehouse ${[...command, '--help'].join(' ')} exits 0 with the usage on stdout`, { timeout: 30_000 }, async () => {
      const r = await runCli([...command, '--help'])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stderr, '')
      assert.match(r.stdout, /^usage:/)
      assert.ok(r.stdout.includes(`gatehouse ${command.join(' ')}`), r.stdout)
    })
  }

  test('--version prints the version package.json names', { timeout: 30_000 }, async () => {
    const { version } = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
    const r = await runCli(['--version'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `gatehouse ${version}\n`)
  })

  const usageErrors: { args: string[]; says: RegExp }[] = [
    { args: ['serve', '--bogus'], says: /unknown option --bogus; it takes --config VALUE, --help/ },
    { args: ['check-config', '--config'], says: /--config needs a value/ },
    { args: ['check-config', '--help=yes'], says: /--help takes no value/ },
    { args: ['serve', 'gatehouse.yaml'], says: /unexpected argument #1 \(not shown\); it takes --config VALUE/ },
    { args: ['frobnicate'], says: /unknown command "frobnicate"; the commands are serve, check-config, hash-secret, keys, mint-jwt and inject/ },
    { args: ['keys', 'create', '--config', 'x.yaml', '--usr', 'bob'], says: /keys create: unknown option --usr; it takes .*--user VALUE/ },
    { args: ['hash-secret', '--bogus'], says: /unknown option --bogus; it takes --help/ },
  ]
  for (const c of usageErrors) {
    test(`${c.args.join(' ')} exits 1 saying what was expected`, { timeout: 30_000 }, async () => {
      const r = await runCli(c.args)
      assert.equal(r.code, 1, 'README: 1 is a usage error')
      assert.equal(r.stdout, '')
      assert.match(r.stderr, c.says)
      assert.match(r.stderr, /usage:/)
    })
  }
})

describe('hash-secret', { concurrency: 2 }, () => {
  test('a secret given as an argument is refused and never echoed', { timeout: 30_000 }, async () => {
    const r = await runCli(['hash-secret', 'hunter2-on-the-command-line'], { stdin: 'x\n' })
    assert.equal(r.code, 1)
    assert.equal(r.stdout, '', 'nothing hashed')
    assert.ok(!r.stderr.includes('hunter2'), r.stderr)
  })

  const verifies = (secret: string, hash: string): boolean => {
    const m = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([\w-]+)\$([\w-]+)$/.exec(hash)
    if (!m) return false
    const want = Buffer.from(m[5] as string, 'base64url')
    const got = scryptSync(secret, Buffer.from(m[4] as string, 'base64url'), want.length, { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]), maxmem: 64 << 20 })
    return timingSafeEqual(got, want)
  }

  test('on a terminal: asks twice, shows nothing of the secret, prints its hash', { timeout: 30_000, skip: scriptTool.skip }, async () => {
    const secret = 'tty-Secret-8f3k2'
    // Typed as a person would: a typo, a backspace, the rest, then Enter.
    const typed = `${secret.slice(0, 5)}x\u007f${secret.slice(5)}\r`
    const r = await runOnPty([process.execPath, MAIN, 'hash-secret'], ':', [
      { afterPrompts: 1, type: typed },
      { afterPrompts: 2, type: `${secret}\r` },
    ])
    assert.equal(r.code, 0, r.transcript)
    assert.match(r.transcript, /Secret:/)
    assert.match(r.transcript, /Again:/)
    assert.ok(!r.transcript.includes(secret.slice(0, 5)), `the terminal showed the secret: ${JSON.stringify(r.transcript)}`)
    assert.ok(!r.transcript.includes(secret.slice(5)), `the terminal showed the secret: ${JSON.stringify(r.transcript)}`)
    const hash = r.transcript.trimEnd().split('\n').at(-1) as string
    assert.ok(verifies(secret, hash), `the last line is the secret's hash: ${hash}`)
  })

  test('on a terminal: two entries that differ are refused, nothing hashed', { timeout: 30_000, skip: scriptTool.skip }, async () => {
    const r = await runOnPty([process.execPath, MAIN, 'hash-secret'], ':', [
      { afterPrompts: 1, type: 'first-Entry-1\r' },
      { afterPrompts: 2, type: 'second-Entry-2\r' },
    ])
    assert.equal(r.code, 1, r.transcript)
    assert.match(r.transcript, /the two entries differ; nothing was hashed/)
    assert.doesNotMatch(r.transcript, /\$scrypt\$|first-Entry|second-Entry/)
  })
})

describe('keys create against the config', { concurrency: 2 }, () => {
  const refused: { name: string; args: string[]; says: RegExp }[] = [
    { name: 'an API no API of the config has', args: ['--user', 'alice', '--permissions', 'users:r,orders:r'], says: /no API named "orders" in the config \(its APIs: users, sessions\)/ },
    { name: 'a user the users file does not list', args: ['--user', 'carol', '--permissions', 'users:r'], says: /--user carol: not in the users file .*users-k\.yaml/ },
    { name: 'more than the user holds', args: ['--user', 'bob', '--permissions', 'users:rw'], says: /--permissions users:rw: bob holds only users:r in the users file/ },
    { name: 'an API the user holds nothing on', args: ['--user', 'bob', '--permissions', 'users:r,sessions:r'], says: /--permissions sessions:r: bob holds only sessions:none/ },
  ]
  for (const [i, c] of refused.entries()) {
    test(`refuses ${c.name}, exit 1, nothing created`, { timeout: 30_000 }, async () => {
      const config = await writeConfig(`keys-${i}.yaml`, { issuer: { usersFile: await writeUsers('users-k.yaml') } })
      const r = await runCli(['keys', 'create', '--config', config, ...c.args])
      assert.equal(r.code, 1, r.stderr)
      assert.equal(r.stdout, '')
      assert.match(r.stderr, c.says)
      assert.equal(await storeOf(config), 'no file', 'the store is untouched')
    })
  }

  test('accepts what the user holds; without a users file, any user on a configured API', { timeout: 30_000 }, async () => {
    const withUsers = await writeConfig('keys-ok.yaml', { issuer: { usersFile: await writeUsers('users-ok.yaml') } })
    const noUsers = await writeConfig('keys-open.yaml', {})
    const [bob, carol, unknownApi] = await Promise.all([
      runCli(['keys', 'create', '--config', withUsers, '--user', 'bob', '--permissions', 'users:r', '--json']),
      runCli(['keys', 'create', '--config', noUsers, '--user', 'carol', '--permissions', 'users:rw,sessions:r', '--json']),
      runCli(['keys', 'create', '--config', noUsers, '--user', 'carol', '--permissions', 'orders:r']),
    ])
    assert.equal(bob.code, 0, bob.stderr)
    assert.equal(carol.code, 0, carol.stderr)
    assert.equal(unknownApi.code, 1, 'an unknown API is refused with or without a users file')
    assert.match(unknownApi.stderr, /no API named "orders"/)
  })
})
