// The chain of authority (issue 12) without sockets: AuthorityChain.check against a
// real users file, a real clients file and a real file key store, one rule at a time.
// A credential Gatehouse issued is worth what vouches for it now: its user (or OAuth
// client) still existing, capped by what they hold now (SPEC §3.7); an impersonator
// still existing, still allowed to impersonate, and the target not an admin; a key
// minted from a key never outliving or out-reaching its parent (revoked, disabled,
// expired, or an address the parent's ipFilter refuses). Tokens of other issuers keep
// the issuer's word for users the file does not list. Expected values from issue 12
// and SPEC §3.7/§12, written out by hand (levels: none < r < rw).
import { strict as assert } from 'node:assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { stringify } from 'yaml'
import { loadClientsFile, type ClientDirectory } from '../../../src/accounts/clients.js'
import { hashPassword } from '../../../src/accounts/password-hash.js'
import { loadUsersFile, type UserDirectory } from '../../../src/accounts/users.js'
import type { Identity } from '../../../src/credentials/identity.js'
import { newKeyRecord, type NewKeyFields } from '../../../src/keystore/new-key-record.js'
import type { KeyStore } from '../../../src/keystore/key-store.js'
import { openFileKeyStore } from '../../../src/keystore/file-key-store.js'
import { identityOfRecord } from '../../../src/keystore/key-identity.js'
import { AuthorityChain, MAX_CHAIN_DEPTH, type AuthorityResult } from '../../../src/pipeline/authority.js'

const NOW = 1_800_000_000
const OWN = 'https://gate.example/_gatehouse'
const IP = '192.0.2.10'

function grants(r: AuthorityResult) {
  assert.ok(r.ok, JSON.stringify(r))
  return { permissions: { ...r.permissions }, subjectType: r.subjectType }
}
function refusal(r: AuthorityResult) {
  assert.ok(!r.ok, JSON.stringify(r))
  return { reason: r.reason, detail: r.detail }
}
const revoked = (detail: string) => ({ reason: 'authority_revoked', detail })

describe('AuthorityChain.check', () => {
  let dir = ''
  let store: KeyStore
  let users: UserDirectory
  let clients: ClientDirectory
  let chain: AuthorityChain
  let noFiles: AuthorityChain

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-authority-'))
    const hash = await hashPassword('not-used-here')
    await writeFile(
      path.join(dir, 'users.yaml'),
      stringify({
        users: [
          { name: 'alice', passwordHash: hash, permissions: { users: 'rw', admin: 'r' } },
          { name: 'root', passwordHash: hash, permissions: { users: 'rw', admin: 'rw' }, admin: true },
          { name: 'helpdesk', passwordHash: hash, permissions: { users: 'r' }, canImpersonate: true },
          { name: 'clerk', passwordHash: hash, permissions: { users: 'r' } },
          { name: 'batch', passwordHash: hash, permissions: { users: 'rw' } },
        ],
      }),
    )
    await writeFile(path.join(dir, 'clients.yaml'), stringify({ clients: [{ clientId: 'batch', secretHash: hash, permissions: { users: 'r' } }, { clientId: 'reports', secretHash: hash, permissions: { users: 'r', admin: 'rw' } }] }))
    const u = await loadUsersFile(path.join(dir, 'users.yaml'))
    const c = await loadClientsFile(path.join(dir, 'clients.yaml'))
    assert.ok(u.ok && c.ok)
    users = u.value
    clients = c.value
    store = await openFileKeyStore(path.join(dir, 'apikeys.json'))
    chain = new AuthorityChain({ users, clients, ownIssuer: OWN }, store)
    noFiles = new AuthorityChain({ users: null, clients: null, ownIssuer: OWN }, store)
  })

  after(async () => {
    await store?.close()
    await rm(dir, { recursive: true, force: true })
  })

  const jwt = (over: Partial<Identity>): Identity => ({ user: 'alice', method: 'jwt', issuer: OWN, permissions: { users: 'rw', admin: 'rw' }, ...over })
  async function key(fields: Partial<NewKeyFields>, createdAt = NOW - 100) {
    const made = newKeyRecord({ user: 'alice', permissions: { users: 'rw', admin: 'rw' }, ...fields }, createdAt)
    await store.create(made.record)
    return made.record
  }

  describe('a token of another issuer', () => {
    it('is capped by the user when the users file lists it, taken at its word otherwise', async () => {
      assert.deepEqual(grants(await chain.check(jwt({ issuer: 'https://idp.example' }), IP, NOW)), { permissions: { users: 'rw', admin: 'r' }, subjectType: 'user' })
      assert.deepEqual(grants(await chain.check(jwt({ issuer: 'https://idp.example', user: 'stranger' }), IP, NOW)), { permissions: { users: 'rw', admin: 'rw' }, subjectType: 'user' })
    })
    it('is never read as a client-credentials token, whatever its client_id', async () => {
      assert.deepEqual(grants(await chain.check(jwt({ issuer: 'https://idp.example', user: 'reports', clientId: 'reports' }), IP, NOW)), { permissions: { users: 'rw', admin: 'rw' }, subjectType: 'user' })
    })
    it('is own only when its issuer is ours: without a token service nothing is own but API keys', async () => {
      const off = new AuthorityChain({ users, clients, ownIssuer: null }, store)
      assert.deepEqual(grants(await off.check(jwt({ user: 'stranger' }), IP, NOW)).permissions, { users: 'rw', admin: 'rw' })
      assert.deepEqual(refusal(await off.check({ ...jwt({ user: 'stranger' }), method: 'apikey' }, IP, NOW)), revoked('the user no longer exists'))
    })
  })

  describe('a token of our own issuer, or an API key', () => {
    it('is capped by what its user holds now', async () => {
      assert.deepEqual(grants(await chain.check(jwt({}), IP, NOW)), { permissions: { users: 'rw', admin: 'r' }, subjectType: 'user' })
      assert.deepEqual(grants(await chain.check(jwt({ method: 'apikey', issuer: 'gatehouse', permissions: { users: 'r' } }), IP, NOW)).permissions, { users: 'r' })
    })
    it('is refused once its user is gone', async () => {
      assert.deepEqual(refusal(await chain.check(jwt({ user: 'gone' }), IP, NOW)), revoked('the user no longer exists'))
    })
    it('is refused when its user name is an OAuth client id (the two must never look alike upstream)', async () => {
      assert.deepEqual(refusal(await chain.check(jwt({ user: 'batch' }), IP, NOW)), revoked('the user name is an OAuth client id'))
      assert.deepEqual(refusal(await chain.check(jwt({ user: 'batch', clientId: 'gatehouse' }), IP, NOW)), revoked('the user name is an OAuth client id'))
    })
    it('without a users file: the credential alone, and no impersonation', async () => {
      assert.deepEqual(grants(await noFiles.check(jwt({ user: 'gone' }), IP, NOW)), { permissions: { users: 'rw', admin: 'rw' }, subjectType: 'user' })
      assert.deepEqual(grants(await noFiles.check(jwt({ issuer: 'https://idp.example' }), IP, NOW)), { permissions: { users: 'rw', admin: 'rw' }, subjectType: 'user' })
      assert.deepEqual(refusal(await noFiles.check(jwt({ actor: 'helpdesk' }), IP, NOW)), revoked('impersonation needs a users file'))
    })
  })

  describe('a client-credentials token (sub = client_id, SPEC §12)', () => {
    it('is capped by its client now, as a client', async () => {
      assert.deepEqual(grants(await chain.check(jwt({ user: 'reports', clientId: 'reports', permissions: { users: 'rw', admin: 'r' } }), IP, NOW)), { permissions: { users: 'r', admin: 'r' }, subjectType: 'client' })
    })
    it('is refused once its client is gone', async () => {
      assert.deepEqual(refusal(await chain.check(jwt({ user: 'gone', clientId: 'gone' }), IP, NOW)), revoked('the OAuth client no longer exists'))
      assert.deepEqual(refusal(await noFiles.check(jwt({ user: 'reports', clientId: 'reports' }), IP, NOW)), revoked('the OAuth client no longer exists'))
    })
    it('is only a token whose subject is its client: a login token with client_id gatehouse is its user', async () => {
      assert.deepEqual(grants(await chain.check(jwt({ clientId: 'gatehouse' }), IP, NOW)), { permissions: { users: 'rw', admin: 'r' }, subjectType: 'user' })
      // An API key never is a client's token.
      assert.deepEqual(refusal(await chain.check(jwt({ method: 'apikey', issuer: 'gatehouse', user: 'reports', clientId: 'reports' }), IP, NOW)), revoked('the user no longer exists'))
    })
  })

  describe('impersonation', () => {
    it('holds while the impersonator exists and may impersonate, and the target is no admin', async () => {
      assert.deepEqual(grants(await chain.check(jwt({ actor: 'helpdesk' }), IP, NOW)).permissions, { users: 'rw', admin: 'r' })
    })
    it('is refused when any of the three stops holding', async () => {
      assert.deepEqual(refusal(await chain.check(jwt({ actor: 'gone' }), IP, NOW)), revoked('the impersonating user no longer exists'))
      assert.deepEqual(refusal(await chain.check(jwt({ actor: 'clerk' }), IP, NOW)), revoked('the impersonating user may no longer impersonate'))
      assert.deepEqual(refusal(await chain.check(jwt({ user: 'root', actor: 'helpdesk' }), IP, NOW)), revoked('the impersonated user is an admin'))
    })
  })

  describe('a credential minted from an API key', () => {
    it('reaches no further than its parent, whose own user caps it too', async () => {
      const parent = await key({ permissions: { users: 'r', admin: 'rw' } })
      assert.deepEqual(grants(await chain.check(jwt({ parentKeyId: parent.id }), IP, NOW)), { permissions: { users: 'r', admin: 'r' }, subjectType: 'user' })
      // A child narrower than its parent keeps its own, narrower, grant.
      const wide = await key({})
      assert.deepEqual(grants(await chain.check(jwt({ parentKeyId: wide.id, permissions: { users: 'r' } }), IP, NOW)).permissions, { users: 'r' })
    })
    it('dies with its parent: revoked, disabled, expired (at its expiry second)', async () => {
      assert.deepEqual(refusal(await chain.check(jwt({ parentKeyId: 'nosuchkey000' }), IP, NOW)), revoked('the parent API key was revoked'))
      const disabled = await key({ enabled: false })
      assert.deepEqual(refusal(await chain.check(jwt({ parentKeyId: disabled.id }), IP, NOW)), revoked('the parent API key is disabled'))
      const expiring = await key({ expiresAt: NOW })
      assert.deepEqual(refusal(await chain.check(jwt({ parentKeyId: expiring.id }), IP, NOW)), revoked('the parent API key has expired'))
      assert.ok((await chain.check(jwt({ parentKeyId: expiring.id }), IP, NOW - 1)).ok, 'one second before')
    })
    it("is refused from an address its parent's ipFilter refuses, but not when no address is in play", async () => {
      const fenced = await key({ ipFilter: ['10.0.0.0/8'] })
      assert.deepEqual(refusal(await chain.check(jwt({ parentKeyId: fenced.id }), IP, NOW)), { reason: 'credential_ip_denied', detail: "the parent API key's ipFilter refuses this address" })
      assert.ok((await chain.check(jwt({ parentKeyId: fenced.id }), '10.1.2.3', NOW)).ok)
      assert.ok((await chain.check(jwt({ parentKeyId: fenced.id }), null, NOW)).ok, 'introspection: no request address')
    })
    it('follows the chain up: a grandparent revoked or its user gone ends the line', async () => {
      const orphanParent = await key({ user: 'gone' })
      const middle = await key({ parentKeyId: orphanParent.id })
      assert.deepEqual(refusal(await chain.check(jwt({ parentKeyId: middle.id }), IP, NOW)), revoked('the user no longer exists'))
      const top = await key({ permissions: { users: 'r' } })
      const mid = await key({ parentKeyId: top.id })
      assert.deepEqual(grants(await chain.check(identityOfRecord(mid), IP, NOW)).permissions, { users: 'r' })
    })
    it(`is refused past ${MAX_CHAIN_DEPTH} parents (the depth the token service never exceeds)`, async () => {
      let parent = await key({})
      const line = [parent]
      for (let i = 0; i < MAX_CHAIN_DEPTH; i++) line.push((parent = await key({ parentKeyId: parent.id })))
      // The last key has MAX_CHAIN_DEPTH parents above it; a token minted from it one more.
      assert.equal(line.length, MAX_CHAIN_DEPTH + 1)
      assert.ok((await chain.check(identityOfRecord(parent), IP, NOW)).ok, `${MAX_CHAIN_DEPTH} parents`)
      assert.deepEqual(refusal(await chain.check(jwt({ parentKeyId: parent.id }), IP, NOW)), revoked('the chain of parent keys is too long'))
    })
  })
})
