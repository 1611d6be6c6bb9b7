// clientsFile (SPEC §6): OAuth2 clients, their permissions and token lifetime.
import { strict as assert } from 'node:assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import bcrypt from 'bcryptjs'
import { loadClientsFile } from '../../../src/accounts/clients.js'
import { hashPassword } from '../../../src/accounts/password-hash.js'
import type { Problem } from '../../../src/config/problem.js'

let dir: string
let hash: string
let n = 0

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-clients-'))
  hash = await hashPassword('s3cret')
})
after(() => rm(dir, { recursive: true, force: true }))

async function load(yaml: string) {
  const file = join(dir, `clients-${n++}.yaml`)
  await writeFile(file, yaml)
  return loadClientsFile(file)
}

function problemsOf(result: Awaited<ReturnType<typeof load>>): Problem[] {
  assert.equal(result.ok, false, 'the file should be refused')
  return result.ok ? [] : result.problems
}

describe('loadClientsFile', () => {
  it('reads clients with their permissions and TTL, one hour by default', async () => {
    const bc = await bcrypt.hash('other', 4)
    const result = await load(
      `clients:\n` +
        `  - { clientId: billing-batch, secretHash: "${hash}", permissions: { users: r }, ttl: PT15M }\n` +
        `  - { clientId: reports, secretHash: "${bc}" }\n`,
    )
    assert.ok(result.ok)
    assert.equal(result.value.size, 2)
    assert.deepEqual({ ...result.value.get('billing-batch') }, {
      clientId: 'billing-batch', secretHash: hash, permissions: { users: 'r' }, ttlSeconds: 900, canIntrospect: false,
    })
    assert.equal(result.value.get('reports')?.ttlSeconds, 3600)
    assert.deepEqual(result.value.get('reports')?.permissions, {})
    assert.equal(result.value.get('nobody'), undefined)
    assert.ok(Object.isFrozen(result.value.get('reports')))
    assert.ok(result.value.dummyHash !== undefined)
  })

  it('reads an empty file as no clients', async () => {
    const result = await load('clients: []\n')
    assert.ok(result.ok)
    assert.equal(result.value.size, 0)
  })

  const badTtls: [ttl: string, message: RegExp][] = [
    ['P1M', /years, months or weeks/],
    ['P1W', /years, months or weeks/],
    ['PT0S', /zero/],
    ['-PT1H', /sign/],
    ['1h', /expected an ISO 8601 duration/],
  ]
  for (const [ttl, message] of badTtls) {
    it(`refuses the TTL ${ttl}, naming the client entry`, async () => {
      const problems = problemsOf(
        await load(`clients:\n  - { clientId: a, secretHash: "${hash}" }\n  - { clientId: b, secretHash: "${hash}", ttl: "${ttl}" }\n`),
      )
      assert.equal(problems.length, 1)
      assert.equal(problems[0]?.path, 'clientsFile.clients[1].ttl')
      assert.match(problems[0]?.message ?? '', message)
    })
  }

  it('refuses a client listed twice', async () => {
    const problems = problemsOf(
      await load(`clients:\n  - { clientId: a, secretHash: "${hash}" }\n  - { clientId: a, secretHash: "${hash}" }\n`),
    )
    assert.deepEqual(problems, [{ path: 'clientsFile.clients[1].clientId', message: 'client "a" is listed twice' }])
  })

  it('refuses a secret hash it cannot verify', async () => {
    const problems = problemsOf(await load(`clients:\n  - { clientId: a, secretHash: "s3cret" }\n`))
    assert.equal(problems[0]?.path, 'clientsFile.clients[0].secretHash')
    assert.match(problems[0]?.message ?? '', /not a supported hash/)
  })

  it('reports every problem of the file at once', async () => {
    const problems = problemsOf(
      await load(`clients:\n  - { clientId: a, secretHash: "x", ttl: P1Y }\n  - { clientId: a, secretHash: "${hash}" }\n`),
    )
    assert.deepEqual(problems.map((p) => p.path), [
      'clientsFile.clients[0].secretHash', 'clientsFile.clients[0].ttl', 'clientsFile.clients[1].clientId',
    ])
  })

  const schemaCases: [label: string, entry: string, path: string][] = [
    ['an unknown field', `{ clientId: a, secretHash: "${hash}", scope: all }`, 'clientsFile.clients[0].scope'],
    ['a missing secretHash', '{ clientId: a }', 'clientsFile.clients[0]'],
    ['a client id with a space', `{ clientId: "a b", secretHash: "${hash}" }`, 'clientsFile.clients[0].clientId'],
    ['a client id with a colon', `{ clientId: "a:b", secretHash: "${hash}" }`, 'clientsFile.clients[0].clientId'],
    ['a bad level', `{ clientId: a, secretHash: "${hash}", permissions: { users: admin } }`, 'clientsFile.clients[0].permissions.users'],
    ['a TTL that is a number', `{ clientId: a, secretHash: "${hash}", ttl: 3600 }`, 'clientsFile.clients[0].ttl'],
  ]
  for (const [label, entry, path] of schemaCases) {
    it(`refuses ${label} at ${path}`, async () => {
      const problems = problemsOf(await load(`clients:\n  - ${entry}\n`))
      assert.ok(problems.some((p) => p.path === path), JSON.stringify(problems))
    })
  }

  it('refuses an unknown top-level field and reports an unreadable file at issuer.clientsFile', async () => {
    assert.ok(problemsOf(await load('clients: []\nclient: []\n')).some((p) => p.path === 'clientsFile.client'))
    assert.equal(problemsOf(await loadClientsFile(join(dir, 'missing.yaml')))[0]?.path, 'issuer.clientsFile')
  })
})
