// SPEC §9 and §12 permission sources: expected grants are read off the SPEC's rules
// (string split on spaces, list taken as it is, object only without a map, union,
// only named sources count), never from the code under test.
import * as assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { IssuerConfig } from '../../../src/config/schema.js'
import { claimAt, claimPath, compilePermissionSources, permissionsFromClaims } from '../../../src/credentials/claim-permissions.js'

const base = { issuer: 'https://idp.test/', jwksCacheSeconds: 300, jwksCooldownSeconds: 30 }

function sourcesOf(over: Partial<IssuerConfig>) {
  const r = compilePermissionSources({ ...base, ...over }, 'jwt.issuers[0]')
  if (!r.ok) assert.fail(JSON.stringify(r.problems))
  return r.sources
}

function grants(over: Partial<IssuerConfig>, claims: Record<string, unknown>) {
  const r = permissionsFromClaims(claims, sourcesOf(over))
  return r.ok ? { ...r.permissions } : r
}

const keycloak: Partial<IssuerConfig> = {
  permissions: [
    { claim: 'realm_access.roles', map: { 'user-admin': { users: 'rw' }, viewer: { users: 'r' } } },
    { claim: ['resource_access', 'legacy-api', 'roles'], map: { 'sessions-reader': { sessions: 'r' } } },
  ],
}

describe('permission sources (SPEC §9, §12)', () => {
  it('with no permissions and no scopeMap, a permissions object claim is taken as it is', () => {
    assert.deepEqual(grants({}, { permissions: { users: 'rw', sessions: 'r' } }), { users: 'rw', sessions: 'r' })
    assert.deepEqual(grants({}, { scope: 'users:rw' }), {})
  })

  it('scopeMap is shorthand for scope and scp; the permissions claim then grants nothing', () => {
    const cfg = { scopeMap: { 'users.read': { users: 'r' as const }, 'users.write': { users: 'rw' as const } } }
    assert.deepEqual(grants(cfg, { scope: 'users.read  users.write' }), { users: 'rw' })
    assert.deepEqual(grants(cfg, { scp: ['users.read'] }), { users: 'r' })
    assert.deepEqual(grants(cfg, { scp: 'users.read' }), { users: 'r' })
    assert.deepEqual(grants(cfg, { scope: 'users.read', permissions: { admin: 'rw', users: 'rw' } }), { users: 'r' })
  })

  it('a dotted path reaches nested claims, a segment list reaches a claim whose name holds a dot', () => {
    const claims = { realm_access: { roles: ['viewer', 'offline_access'] }, resource_access: { 'legacy-api': { roles: ['sessions-reader'] } } }
    assert.deepEqual(grants(keycloak, claims), { users: 'r', sessions: 'r' })
    const namespaced = { permissions: [{ claim: ['https://example.com/roles'], map: { admin: { users: 'rw' as const } } }] }
    assert.deepEqual(grants(namespaced, { 'https://example.com/roles': ['admin'] }), { users: 'rw' })
    // The dotted spelling names a nested path, which this token does not have.
    const dotted = { permissions: [{ claim: 'https://example.com/roles', map: { admin: { users: 'rw' as const } } }] }
    assert.deepEqual(grants(dotted, { 'https://example.com/roles': ['admin'] }), {})
  })

  it('the union of every source, the higher level winning', () => {
    const claims = { realm_access: { roles: ['viewer', 'user-admin'] } }
    assert.deepEqual(grants(keycloak, claims), { users: 'rw' })
  })

  it('map keys match exactly; an unmapped value grants nothing', () => {
    assert.deepEqual(grants(keycloak, { realm_access: { roles: ['User-Admin', 'user-admin '] } }), {})
  })

  it('in a list, strings count and other elements are ignored', () => {
    assert.deepEqual(grants(keycloak, { realm_access: { roles: [42, null, { r: 1 }, 'viewer'] } }), { users: 'r' })
  })

  it('a claim of the wrong shape grants nothing from that source, and fails only when nothing else grants', () => {
    const claims = { realm_access: { roles: 7 }, resource_access: { 'legacy-api': { roles: ['sessions-reader'] } } }
    assert.deepEqual(grants(keycloak, claims), { sessions: 'r' })
    const alone = permissionsFromClaims({ realm_access: { roles: 7 } }, sourcesOf(keycloak))
    assert.equal(alone.ok, false)
    // An object is accepted only by a source without a map.
    assert.equal(permissionsFromClaims({ realm_access: { roles: { 'user-admin': true } } }, sourcesOf(keycloak)).ok, false)
    // A string or list where a permissions object is expected.
    assert.equal(permissionsFromClaims({ permissions: ['users:rw'] }, sourcesOf({})).ok, false)
    assert.equal(permissionsFromClaims({ permissions: { users: 'admin' } }, sourcesOf({})).ok, false)
  })

  it('never reads the prototype chain', () => {
    const cfg = { permissions: [{ claim: 'a.constructor', map: { x: { users: 'rw' as const } } }] }
    assert.deepEqual(grants(cfg, { a: {} }), {})
    assert.deepEqual(grants(keycloak, { realm_access: { roles: ['__proto__', 'constructor', 'toString'] } }), {})
  })

  it('config problems carry their place in the file', () => {
    const both = compilePermissionSources({ ...base, scopeMap: {}, permissions: [{ claim: 'scope' }] }, 'jwt.issuers[2]')
    assert.equal(both.ok, false)
    if (!both.ok) assert.equal(both.problems[0]?.path, 'jwt.issuers[2].permissions')
    const bad = compilePermissionSources(
      { ...base, permissions: [{ claim: 'realm_access..roles' }, { claim: 'roles', map: { admin: { users: 'root' as 'rw' } } }] },
      'jwt.issuers[0]',
    )
    assert.equal(bad.ok, false)
    if (!bad.ok) {
      assert.deepEqual(
        bad.problems.map((p) => p.path),
        ['jwt.issuers[0].permissions[0].claim', 'jwt.issuers[0].permissions[1].map.admin'],
      )
    }
  })
})

describe('permission sources: exact answers (issue 19, mutation testing)', () => {
  it('claimPath: a dotted string or a list of segments, none of them empty', () => {
    assert.deepEqual(claimPath('a.b'), ['a', 'b'])
    assert.deepEqual(claimPath(['a.b', 'c']), ['a.b', 'c'])
    for (const bad of ['', '.a', 'a.', 'a..b', [], ['a', '']]) assert.equal(claimPath(bad), null, JSON.stringify(bad))
    const list = ['x']
    const path = claimPath(list)
    assert.ok(path && Object.isFrozen(path))
    list.push('y')
    assert.deepEqual(path, ['x'], 'a copy of the list, not the list')
  })

  it('claimAt: own properties of objects only, never into a list or a primitive', () => {
    assert.equal(claimAt({ a: { b: 1 } }, ['a', 'b']), 1)
    assert.equal(claimAt({ a: [5] }, ['a', '0']), undefined)
    assert.equal(claimAt({ a: 'text' }, ['a', 'length']), undefined)
    assert.equal(claimAt({ a: null }, ['a', 'b']), undefined)
    assert.equal(claimAt(null, ['a']), undefined)
    assert.deepEqual(claimAt({ a: 1 }, []), { a: 1 })
  })

  it('the detail names every malformed claim, and only when nothing was granted', () => {
    const cfg = { permissions: [{ claim: 'a.roles', map: { x: { users: 'r' as const } } }, { claim: 'b', map: { x: { users: 'r' as const } } }] }
    assert.deepEqual(permissionsFromClaims({ a: { roles: 1 }, b: {} }, sourcesOf(cfg)), { ok: false, detail: 'a.roles, b claim malformed' })
    assert.deepEqual(grants(cfg, { a: { roles: 1 }, b: 'x' }), { users: 'r' })
    // Absent claims are not malformed: nothing granted, and no failure.
    assert.deepEqual(grants(cfg, {}), {})
    // A grant of `none` grants nothing, so the malformed claim fails the token.
    const none = { permissions: [{ claim: 'a', map: { x: { users: 'none' as const } } }, { claim: 'b' }] }
    assert.deepEqual(permissionsFromClaims({ a: 'x', b: 7 }, sourcesOf(none)), { ok: false, detail: 'b claim malformed' })
  })

  it('the higher level wins whatever the order of the grants', () => {
    assert.deepEqual(grants(keycloak, { realm_access: { roles: ['user-admin', 'viewer'] } }), { users: 'rw' })
    assert.deepEqual(grants(keycloak, { realm_access: { roles: 'viewer user-admin' } }), { users: 'rw' })
  })

  it('compile problems: both forms, a bad scopeMap level, an API name that could forge a header entry', () => {
    const both = compilePermissionSources({ ...base, scopeMap: {}, permissions: [] }, 'at')
    assert.deepEqual(both, { ok: false, problems: [{ path: 'at.permissions', message: 'declare permissions or scopeMap, not both (scopeMap is shorthand for permissions)' }] })
    const scope = compilePermissionSources({ ...base, scopeMap: { 'a.b': { users: 'x' as 'r' }, c: { 'users:rw x': 'r' } } }, 'at')
    assert.deepEqual(scope, {
      ok: false,
      problems: [
        { path: 'at.scopeMap.a.b', message: 'must map to { api: level }, levels none, r or rw' },
        { path: 'at.scopeMap.c', message: 'API names are letters, digits, _ . -' },
      ],
    })
    // One bad API name among good ones is enough.
    const mixed = compilePermissionSources({ ...base, scopeMap: { read: { users: 'r', 'bad name': 'r' } } }, 'at')
    assert.deepEqual(mixed, { ok: false, problems: [{ path: 'at.scopeMap.read', message: 'API names are letters, digits, _ . -' }] })
    const claim = compilePermissionSources({ ...base, permissions: [{ claim: 'ok' }, { claim: ['a', ''] }] }, 'at')
    assert.deepEqual(claim, {
      ok: false,
      problems: [{ path: 'at.permissions[1].claim', message: 'an empty segment: write a dotted path (realm_access.roles) or a list of segments' }],
    })
    const good = compilePermissionSources({ ...base, scopeMap: { read: { 'users.v1_x-y': 'r' } } }, 'at')
    assert.ok(good.ok)
    assert.deepEqual(good.sources.map((s) => s.path), [['scope'], ['scp']])
    assert.ok(Object.isFrozen(good.sources))
  })
})
