// usersFile (SPEC §6): loading, every problem with its path, supported hashes only.
import { strict as assert } from 'node:assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import bcrypt from 'bcryptjs'
import { hashPassword } from '../../../src/accounts/password-hash.js'
import { loadUsersFile } from '../../../src/accounts/users.js'
import type { Problem } from '../../../src/config/problem.js'

let dir: string
let scrypt: string
let bcrypt4: string
let n = 0

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-users-'))
  scrypt = await hashPassword('pw')
  bcrypt4 = await bcrypt.hash('pw', 4)
})
after(() => rm(dir, { recursive: true, force: true }))

async function load(yaml: string) {
  const file = join(dir, `users-${n++}.yaml`)
  await writeFile(file, yaml)
  return loadUsersFile(file)
}

function problemsOf(result: Awaited<ReturnType<typeof load>>): Problem[] {
  assert.equal(result.ok, false, 'the file should be refused')
  return result.ok ? [] : result.problems
}

describe('loadUsersFile', () => {
  it('reads users with scrypt and bcrypt hashes, filling in defaults', async () => {
    const result = await load(
      `users:\n` +
        `  - { name: alice, passwordHash: "${scrypt}", permissions: { users: rw, sessions: r }, admin: true }\n` +
        `  - { name: bob, passwordHash: "${bcrypt4}" }\n`,
    )
    assert.ok(result.ok)
    assert.equal(result.value.size, 2)
    assert.deepEqual({ ...result.value.get('alice') }, {
      name: 'alice', passwordHash: scrypt, permissions: { users: 'rw', sessions: 'r' }, admin: true, canImpersonate: false,
    })
    assert.deepEqual(result.value.get('bob')?.permissions, {})
    assert.equal(result.value.get('carol'), undefined)
    assert.ok(Object.isFrozen(result.value.get('alice')?.permissions))
  })

  it('offers a dummy hash of the cost most users have', async () => {
    const result = await load(
      `users:\n  - { name: a, passwordHash: "${bcrypt4}" }\n  - { name: b, passwordHash: "${scrypt}" }\n` +
        `  - { name: c, passwordHash: "${await bcrypt.hash('x', 4)}" }\n`,
    )
    assert.ok(result.ok)
    assert.match(result.value.dummyHash ?? '', /^\$2b\$04\$/)
  })

  it('reads an empty file as no users', async () => {
    const result = await load('')
    assert.ok(result.ok)
    assert.equal(result.value.size, 0)
    assert.equal(result.value.dummyHash, undefined)
  })

  it('refuses a hash it cannot verify, naming the user entry', async () => {
    const problems = problemsOf(
      await load(
        `users:\n  - { name: alice, passwordHash: "${scrypt}" }\n  - { name: bob, passwordHash: "plain-text-password" }\n` +
          `  - { name: carol, passwordHash: "$2b$31$${'a'.repeat(53)}" }\n`,
      ),
    )
    assert.deepEqual(problems.map((p) => p.path), ['usersFile.users[1].passwordHash', 'usersFile.users[2].passwordHash'])
    assert.match(problems[0]?.message ?? '', /not a supported hash.*hash-secret/)
  })

  it('refuses a user listed twice', async () => {
    const problems = problemsOf(await load(`users:\n  - { name: alice, passwordHash: "${scrypt}" }\n  - { name: alice, passwordHash: "${scrypt}" }\n`))
    assert.deepEqual(problems, [{ path: 'usersFile.users[1].name', message: 'user "alice" is listed twice' }])
  })

  it('refuses unknown fields and bad levels, each with its path', async () => {
    const problems = problemsOf(
      await load(`users:\n  - { name: alice, passwordHash: "${scrypt}", permissions: { users: rwx }, isAdmin: true }\nextra: 1\n`),
    )
    const paths = problems.map((p) => p.path).sort()
    assert.ok(paths.includes('usersFile.extra'), paths.join())
    assert.ok(paths.includes('usersFile.users[0].isAdmin'), paths.join())
    assert.ok(paths.some((p) => p.startsWith('usersFile.users[0].permissions')), paths.join())
  })

  it('reports an unreadable file and bad YAML at issuer.usersFile', async () => {
    assert.equal(problemsOf(await loadUsersFile(join(dir, 'missing.yaml')))[0]?.path, 'issuer.usersFile')
    assert.match(problemsOf(await load('users: [ {'))[0]?.message ?? '', /^YAML: /)
  })
})
