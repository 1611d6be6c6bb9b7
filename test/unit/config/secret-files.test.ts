// Issue 13, secrets on disk: group/other-writable users, clients and key files, and
// world-readable private keys, are refused with the file and the fix named.
import assert from 'node:assert/strict'
import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { secretFileProblems } from '../../../src/config/secret-files.js'
import type { Config } from '../../../src/config/schema.js'
import { startTestGatehouse } from '../../support/gatehouse.js'

let dir: string
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-modes-'))
})
after(() => rm(dir, { recursive: true, force: true }))

async function file(name: string, mode: number): Promise<string> {
  const f = path.join(dir, name)
  await writeFile(f, 'x')
  await chmod(f, mode)
  return f
}

function configWith(issuer: Record<string, unknown>, tlsKey?: string): Config {
  return { issuer: { previousKeyFiles: [], ...issuer }, ...(tlsKey ? { tls: { certFile: '/nonexistent', keyFile: tlsKey } } : {}) } as unknown as Config
}

describe('secretFileProblems', () => {
  const cases: { name: string; key: 'usersFile' | 'clientsFile' | 'signingKeyFile' | 'tls'; mode: number; refused: RegExp | null }[] = [
    { name: 'users file 0600', key: 'usersFile', mode: 0o600, refused: null },
    { name: 'users file 0644 (readable: holds only hashes)', key: 'usersFile', mode: 0o644, refused: null },
    { name: 'users file 0664 (group-writable)', key: 'usersFile', mode: 0o664, refused: /writable by group or others \(mode 0664\); run: chmod go-w / },
    { name: 'clients file 0646 (other-writable)', key: 'clientsFile', mode: 0o646, refused: /writable by group or others/ },
    { name: 'signing key 0600', key: 'signingKeyFile', mode: 0o600, refused: null },
    { name: 'signing key 0440 (group of the process, as a Kubernetes Secret with fsGroup)', key: 'signingKeyFile', mode: 0o440, refused: null },
    { name: 'signing key 0644 (world-readable)', key: 'signingKeyFile', mode: 0o644, refused: /private key readable by every user \(mode 0644\); run: chmod o-r / },
    { name: 'signing key 0620 (group-writable)', key: 'signingKeyFile', mode: 0o620, refused: /writable by group or others/ },
    { name: 'TLS key 0604 (world-readable)', key: 'tls', mode: 0o604, refused: /private key readable by every user/ },
  ]
  for (const c of cases) {
    test(`${c.name}: ${c.refused ? 'refused' : 'accepted'}`, async () => {
      const f = await file(`${c.key}-${c.mode.toString(8)}`, c.mode)
      const config = c.key === 'tls' ? configWith({}, f) : configWith({ [c.key]: f })
      const problems = secretFileProblems(config, 'linux')
      if (c.refused === null) return assert.deepEqual(problems, [])
      assert.equal(problems.length, 1)
      assert.equal(problems[0]?.path, c.key === 'tls' ? 'tls.keyFile' : `issuer.${c.key}`)
      assert.match(problems[0]?.message as string, c.refused)
      assert.ok(problems[0]?.message.includes(f), 'names the file')
    })
  }

  test('a symlink is judged by the file it points to (Kubernetes Secret volumes)', async () => {
    const target = await file('linked-target.pem', 0o644)
    const link = path.join(dir, 'link.pem')
    await symlink(target, link)
    assert.equal(secretFileProblems(configWith({ signingKeyFile: link }), 'linux').length, 1)
  })

  test('previous signing keys are private keys too', async () => {
    const f = await file('old.pem', 0o604)
    assert.equal(secretFileProblems(configWith({ previousKeyFiles: [f] }), 'linux')[0]?.path, 'issuer.previousKeyFiles[0]')
  })
})

describe('serve refuses to start on a world-readable signing key', () => {
  test('start fails with the file named and the fix', async () => {
    const pem = (await import('node:crypto')).generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
    const f = await file('serve-key.pem', 0o600)
    await writeFile(f, pem)
    await chmod(f, 0o644)
    await assert.rejects(
      startTestGatehouse({ upstream: { url: 'http://127.0.0.1:9' }, issuer: { signingKeyFile: f } }),
      (err: Error) => err.message.includes(f) && err.message.includes('chmod o-r'),
    )
    await chmod(f, 0o600)
    const gh = await startTestGatehouse({ upstream: { url: 'http://127.0.0.1:9' }, issuer: { signingKeyFile: f } })
    await gh.close()
  })
})
