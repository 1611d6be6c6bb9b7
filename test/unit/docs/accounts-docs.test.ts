// README "The users file and the clients file" documents both formats: every field
// of each file's schema has a row in its table (and no row names a field the
// schema lacks), and the example files load as written, hashes filled in.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { loadClientsFile } from '../../../src/accounts/clients.js'
import { ClientSchema } from '../../../src/accounts/clients-schema.js'
import { hashPassword } from '../../../src/accounts/password-hash.js'
import { loadUsersFile } from '../../../src/accounts/users.js'
import { UserSchema } from '../../../src/accounts/users-schema.js'

const ROOT = path.resolve(import.meta.dirname, '../../..')
const TITLE = '### The users file and the clients file'

async function docSection(): Promise<string> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8')
  const start = readme.indexOf(`\n${TITLE}\n`)
  assert.ok(start >= 0, `README has "${TITLE}"`)
  const end = readme.slice(start + 1).search(/\n##{1,2} /)
  return readme.slice(start, end < 0 ? undefined : start + 1 + end)
}

/** The field names of the first Markdown table after `marker`. */
function tableFields(text: string, marker: string): string[] {
  const after = text.slice(text.indexOf(marker))
  const table = after.slice(after.indexOf('| field |'))
  const rows = table.split('\n').slice(2)
  const end = rows.findIndex((r) => !r.startsWith('|'))
  return rows.slice(0, end < 0 ? undefined : end).map((r) => /^\| `([A-Za-z]+)` \|/.exec(r)?.[1] ?? `unreadable row: ${r}`)
}

function yamlBlock(text: string, firstLine: string): string {
  const m = new RegExp('```yaml\\n' + firstLine.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '\\n([\\s\\S]*?)```').exec(text)
  assert.ok(m, `a yaml block starting "${firstLine}"`)
  return m[1] as string
}

test('every field of the users file and of the clients file has a row in the README, and no other', async () => {
  const text = await docSection()
  assert.deepEqual(tableFields(text, '# issuer.usersFile').sort(), Object.keys(UserSchema.properties).sort())
  assert.deepEqual(tableFields(text, '# issuer.clientsFile').sort(), Object.keys(ClientSchema.properties).sort())
})

test('the README example users and clients files load as written, with real hashes in place of "$scrypt$N=…"', async () => {
  const text = await docSection()
  const hash = await hashPassword('docs-example-password-0123')
  const fill = (yaml: string) => yaml.replaceAll('"$scrypt$N=…"', JSON.stringify(hash))
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-docs-'))
  try {
    await writeFile(path.join(dir, 'users.yaml'), fill(yamlBlock(text, '# issuer.usersFile')), { mode: 0o600 })
    await writeFile(path.join(dir, 'clients.yaml'), fill(yamlBlock(text, '# issuer.clientsFile')), { mode: 0o600 })
    const users = await loadUsersFile(path.join(dir, 'users.yaml'))
    assert.ok(users.ok, JSON.stringify(!users.ok && users.problems))
    assert.equal(users.value.size, 2)
    // The defaults the table states: permissions {}, admin false, canImpersonate false.
    assert.deepEqual({ ...users.value.get('bob') }, { name: 'bob', passwordHash: hash, permissions: { users: 'r' }, admin: false, canImpersonate: false })
    assert.equal(users.value.get('alice')?.canImpersonate, true)
    const clients = await loadClientsFile(path.join(dir, 'clients.yaml'))
    assert.ok(clients.ok, JSON.stringify(!clients.ok && clients.problems))
    assert.equal(clients.value.get('billing-batch')?.ttlSeconds, 15 * 60)
    // ttl default PT1H, permissions default {}.
    const rs = clients.value.get('legacy-api-rs')
    assert.deepEqual([rs?.ttlSeconds, rs?.permissions, rs?.canIntrospect], [3600, {}, true])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
