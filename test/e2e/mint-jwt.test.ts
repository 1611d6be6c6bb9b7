// README "A test JWT" works as written: its ```sh block runs (with `gatehouse` as the
// built `node dist/main.js`, as the README says) up to the curl line, and the token
// it mints is accepted by a Gatehouse configured with the README's ```yaml block:
// the upstream sees alice with users:rw. And `mint-jwt` refuses what it cannot sign.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { parse } from 'yaml'
import { childEnv, MAIN, PROJECT_ROOT, runCli } from '../support/gatehouse-process.js'
import { startRecordingUpstream } from '../support/recording-upstream.js'
import { startTestGatehouse } from '../support/gatehouse.js'
import { findTool } from '../support/tools.js'

const openssl = findTool('openssl', 'GATEHOUSE_OPENSSL', 'install openssl (`apt-get install openssl`)')

async function recipe(): Promise<{ sh: string; yaml: string }> {
  const readme = await readFile(path.join(PROJECT_ROOT, 'README.md'), 'utf8')
  const start = readme.indexOf('\n### A test JWT\n')
  assert.ok(start >= 0, 'README has "### A test JWT"')
  const text = readme.slice(start, readme.indexOf('\n### ', start + 5))
  const sh = /```sh\n([\s\S]*?)```/.exec(text)?.[1]
  const yaml = /```yaml\n([\s\S]*?)```/.exec(text)?.[1]
  assert.ok(sh && yaml, 'the section has a ```sh and a ```yaml block')
  return { sh, yaml }
}

test('README "A test JWT": the recipe mints a token that the README\'s issuer config accepts', { skip: openssl.skip, timeout: 60_000 }, async () => {
  openssl.require()
  const { sh, yaml } = await recipe()
  const lines = sh.trim().split('\n')
  assert.match(lines.at(-1) ?? '', /^curl /, 'the block ends with the call')
  const script = ['set -euo pipefail', `gatehouse() { "${process.execPath}" "${MAIN}" "$@"; }`, ...lines.slice(0, -1), 'printf %s "$TOKEN"'].join('\n')
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-mint-'))
  const upstream = await startRecordingUpstream()
  try {
    const token = await new Promise<string>((resolve, reject) =>
      execFile('bash', ['-c', script], { cwd: dir, env: childEnv(), timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
    )
    assert.equal(token.split('.').length, 3, `a compact JWS: ${token}`)
    const header = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()) as { alg?: string; kid?: string }
    assert.equal(header.alg, 'ES256')
    assert.ok(header.kid)

    const config = parse(yaml) as { jwt: Record<string, unknown> }
    const gh = await startTestGatehouse(
      { upstream: { url: upstream.url }, apis: [{ name: 'users', prefixes: ['/api/v1/users'] }], jwt: config.jwt },
      { files: { 'test-issuer.pub': await readFile(path.join(dir, 'test-issuer.pub'), 'utf8') } },
    )
    try {
      const res = await fetch(`${gh.url}/api/v1/users`, { headers: { authorization: `Bearer ${token}` } })
      assert.equal(res.status, 200, await res.text())
      assert.equal(upstream.requests.at(-1)?.headers['x-auth-user'], 'alice')
      assert.equal(upstream.requests.at(-1)?.headers['x-auth-permissions'], 'users:rw')
      const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { exp: number; iat: number; aud: string }
      assert.equal(claims.exp - claims.iat, 300, '--ttl PT5M')
      assert.equal(claims.aud, 'legacy-api')
    } finally {
      await gh.close()
    }
  } finally {
    await upstream.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('mint-jwt refuses a missing option, a public key, a bad duration and bad permissions with exit 1 and a reason', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-mint-'))
  try {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const pub = path.join(dir, 'k.pub')
    await writeFile(pub, publicKey.export({ type: 'spki', format: 'pem' }).toString())
    const cases: [string[], RegExp][] = [
      [['--iss', 'i', '--sub', 'alice'], /needs --key/],
      [['--key', pub, '--iss', 'i', '--sub', 'alice'], /--key: .*no private key/],
      [['--key', pub, '--iss', 'i', '--sub', 'alice', '--ttl', '5m'], /--ttl: .*PT5M/],
      [['--key', pub, '--iss', 'i', '--sub', 'alice', '--permissions', 'users=rw'], /--permissions: .*api:level/],
      [['--key', pub, '--bogus'], /Unknown option '--bogus'/],
    ]
    for (const [args, message] of cases) {
      const r = await runCli(['mint-jwt', ...args])
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message, args.join(' '))
      assert.equal(r.stdout, '')
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
