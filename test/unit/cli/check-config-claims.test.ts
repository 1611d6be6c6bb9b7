// `gatehouse check-config` on the SPEC §9 issuer keys: a wrong claim path, a map of
// the wrong shape, scopeMap beside permissions, a claim header outside the identity
// prefix, a bad maxLifetime, a discovery issuer that is not https: every problem
// with its place in the file, all in one run.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { after, before, test } from 'node:test'
import { checkConfig } from '../../../src/cli/check-config.js'

let dir: string
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-check-claims-'))
})
after(() => rm(dir, { recursive: true, force: true }))

async function check(yaml: string): Promise<{ code: number; err: string }> {
  const file = path.join(dir, 'gatehouse.yaml')
  await writeFile(file, `store: { type: file, path: ./keys.json }\napis: [{ name: users, prefixes: [/api/v1/users] }]\n${yaml}`)
  let err = ''
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _e, cb) {
        append(chunk.toString())
        cb()
      },
    })
  const code = await checkConfig(file, sink(() => {}), sink((s) => (err += s)))
  return { code, err }
}

test('a map of the wrong shape is named by its place in the file', async () => {
  const r = await check(`jwt:
  issuers:
    - issuer: https://sso.example.com/realms/shop
      discovery: true
      permissions:
        - claim: realm_access.roles
          map: { user-admin: { users: admin } }
        - claim: groups
          map: [admins]
`)
  assert.equal(r.code, 1)
  assert.match(r.err, /gatehouse\.yaml: jwt\.issuers\[0\]\.permissions\[0\]\.map\.user-admin\.users: /)
  assert.match(r.err, /gatehouse\.yaml: jwt\.issuers\[0\]\.permissions\[1\]\.map: /)
})

test('a wrong claim path, scopeMap beside permissions, a bad claim header and maxLifetime, an http discovery issuer', async () => {
  const r = await check(`jwt:
  issuers:
    - issuer: https://a.example.com
      discovery: true
      maxLifetime: P1Y
      permissions:
        - claim: realm_access..roles
        - claim: ["https://example.com/roles"]
      claimHeaders:
        email: X-Email
        groups: X-Auth-User
    - issuer: https://b.example.com
      discovery: true
      scopeMap: { users.read: { users: r } }
      permissions: [{ claim: scope }]
    - issuer: http://idp.example.com
      discovery: true
`)
  assert.equal(r.code, 1)
  const lines = r.err.trim().split('\n')
  const at = (p: string) => lines.find((l) => l.includes(`gatehouse.yaml: ${p}: `))
  assert.ok(at('jwt.issuers[0].permissions[0].claim'), r.err)
  assert.ok(at('jwt.issuers[0].maxLifetime'), r.err)
  assert.ok(at('jwt.issuers[0].claimHeaders.email')?.includes('identity prefix'), r.err)
  assert.ok(at('jwt.issuers[0].claimHeaders.groups'), r.err)
  assert.ok(at('jwt.issuers[1].permissions')?.includes('not both'), r.err)
  assert.ok(at('jwt.issuers[2].discovery')?.includes('https'), r.err)
})

test('the example recipes pass', async () => {
  const r = await check(`jwt:
  issuers:
    - issuer: https://sso.example.com/realms/shop
      discovery: true
      userClaim: preferred_username
      permissions:
        - claim: realm_access.roles
          map: { user-admin: { users: rw } }
        - claim: ["https://example.com/roles"]
          map: { admin: { users: rw } }
        - claim: permissions
      claimHeaders: { email: X-Auth-Email, x_groups: X_Auth_Groups }
`)
  assert.equal(r.err, '')
  assert.equal(r.code, 0)
})
