// The verified-credential cache (SPEC §7 auth cache): bounded in count, an entry never
// outlives its credential (RFC 7519 §4.1.4: not on or after exp) nor ttlSeconds, and an
// API key's entries go when the store says the key changed. Clock values are injected.
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import type { Identity } from '../../../src/credentials/identity.js'
import { createVerifiedCache } from '../../../src/credentials/verified-cache.js'

const NOW = 1_700_000_000_000
const key = (id: string, over: Partial<Identity> = {}): Identity => ({ user: 'alice', method: 'apikey', credentialId: id, issuer: 'gatehouse', permissions: {}, ...over })
const jwt = (over: Partial<Identity> = {}): Identity => ({ user: 'bob', method: 'jwt', credentialId: 'jti-1', issuer: 'https://idp.example/', permissions: {}, ...over })

describe('createVerifiedCache', () => {
  it('gives back what was set, the same identity object', () => {
    const cache = createVerifiedCache(10, 60)
    const id = key('A')
    cache.set('cred-a', id, NOW)
    assert.equal(cache.get('cred-a', NOW), id)
    assert.equal(cache.get('cred-b', NOW), undefined)
    assert.equal(cache.size, 1)
  })

  it('forgets an entry ttlSeconds after it was set', () => {
    const cache = createVerifiedCache(10, 60)
    cache.set('c', key('A'), NOW)
    assert.ok(cache.get('c', NOW + 59_999))
    assert.equal(cache.get('c', NOW + 60_000), undefined)
    assert.equal(cache.size, 0, 'an expired entry is dropped when read')
  })

  it('forgets an entry when its credential expires, if that comes first (exp in seconds)', () => {
    const cache = createVerifiedCache(10, 60)
    const exp = NOW / 1000 + 10
    cache.set('c', jwt({ expiresAt: exp }), NOW)
    assert.ok(cache.get('c', exp * 1000 - 1))
    assert.equal(cache.get('c', exp * 1000), undefined)
    // A credential living longer than the TTL is still held only ttlSeconds.
    cache.set('d', jwt({ expiresAt: NOW / 1000 + 3600 }), NOW)
    assert.equal(cache.get('d', NOW + 60_000), undefined)
  })

  it('holds at most maxEntries, dropping the least recently used', () => {
    const cache = createVerifiedCache(2, 60)
    cache.set('a', key('A'), NOW)
    cache.set('b', key('B'), NOW)
    assert.ok(cache.get('a', NOW))
    cache.set('c', key('C'), NOW)
    assert.equal(cache.size, 2)
    assert.ok(cache.get('a', NOW))
    assert.equal(cache.get('b', NOW), undefined)
    assert.ok(cache.get('c', NOW))
  })

  it('maxEntries 0 caches nothing', () => {
    const cache = createVerifiedCache(0, 60)
    cache.set('a', key('A'), NOW)
    assert.equal(cache.get('a', NOW), undefined)
    assert.equal(cache.size, 0)
    cache.dropKeys('all')
    cache.dropKeys(['A'])
    cache.clear()
    assert.equal(cache.size, 0)
  })

  it('drops the entries of the named keys only', () => {
    const cache = createVerifiedCache(10, 60)
    cache.set('a1', key('A'), NOW)
    cache.set('a2', key('A'), NOW)
    cache.set('b', key('B'), NOW)
    cache.set('t', jwt({ credentialId: 'A' }), NOW)
    cache.dropKeys(['A', 'Z'])
    assert.equal(cache.get('a1', NOW), undefined)
    assert.equal(cache.get('a2', NOW), undefined)
    assert.ok(cache.get('b', NOW))
    assert.ok(cache.get('t', NOW), 'a JWT whose jti equals a key id is no API key')
    assert.equal(cache.size, 2)
  })

  it("drops every API key's entries on 'all', and no JWT", () => {
    const cache = createVerifiedCache(10, 60)
    cache.set('a', key('A'), NOW)
    cache.set('b', key('B'), NOW)
    cache.set('t', jwt(), NOW)
    cache.dropKeys('all')
    assert.equal(cache.get('a', NOW), undefined)
    assert.equal(cache.get('b', NOW), undefined)
    assert.ok(cache.get('t', NOW))
    assert.equal(cache.size, 1)
  })

  it('a credential string now cached for a JWT is not dropped with the key it was cached for before', () => {
    const cache = createVerifiedCache(10, 60)
    cache.set('c', key('A'), NOW)
    cache.set('c', jwt(), NOW)
    cache.dropKeys(['A'])
    assert.ok(cache.get('c', NOW))
    cache.dropKeys('all')
    assert.ok(cache.get('c', NOW))
  })

  it('an evicted key entry, cached again under the same string for a JWT, stays on dropKeys', () => {
    const cache = createVerifiedCache(1, 60)
    cache.set('c', key('A'), NOW)
    cache.set('other', jwt(), NOW)
    cache.set('c', jwt(), NOW)
    cache.dropKeys(['A'])
    assert.ok(cache.get('c', NOW))
  })

  it('an API key without an id is cached but belongs to no key', () => {
    const cache = createVerifiedCache(10, 60)
    cache.set('c', key('A', { credentialId: undefined }), NOW)
    cache.dropKeys('all')
    assert.ok(cache.get('c', NOW))
  })

  it('clear() empties it', () => {
    const cache = createVerifiedCache(10, 60)
    cache.set('a', key('A'), NOW)
    cache.set('t', jwt(), NOW)
    cache.clear()
    assert.equal(cache.size, 0)
    assert.equal(cache.get('a', NOW), undefined)
  })
})
