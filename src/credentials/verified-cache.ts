// Verified credentials, so a repeated token or key costs no signature check or
// hash (SPEC §7 auth cache metrics). Bounded in count; an entry never outlives
// the credential nor `ttlSeconds`; a key's entries are dropped when the store
// says it changed, so revocation is seen on the very next request.
import { LRUCache } from 'lru-cache'
import type { Identity } from './identity.js'

interface Entry {
  readonly identity: Identity
  /** ms epoch after which the entry must not be used. */
  readonly notAfter: number
}

export interface VerifiedCache {
  get(credential: string, nowMs: number): Identity | undefined
  set(credential: string, identity: Identity, nowMs: number): void
  /** Drops every entry of these API-key ids, or all API-key entries. */
  dropKeys(ids: readonly string[] | 'all'): void
  clear(): void
  readonly size: number
}

export function createVerifiedCache(maxEntries: number, ttlSeconds: number): VerifiedCache {
  if (maxEntries === 0) {
    return { get: () => undefined, set: () => {}, dropKeys: () => {}, clear: () => {}, size: 0 }
  }
  // API-key id -> credential strings cached for it (one key has one string, but
  // be exact rather than assume).
  const byKeyId = new Map<string, Set<string>>()
  const lru = new LRUCache<string, Entry>({
    max: maxEntries,
    dispose: (entry, credential) => {
      const id = entry.identity.method === 'apikey' ? entry.identity.credentialId : undefined
      if (id === undefined) return
      const set = byKeyId.get(id)
      if (set) {
        set.delete(credential)
        if (set.size === 0) byKeyId.delete(id)
      }
    },
  })
  const ttlMs = ttlSeconds * 1000
  return {
    get(credential, nowMs) {
      const entry = lru.get(credential)
      if (entry === undefined) return undefined
      if (nowMs >= entry.notAfter) {
        lru.delete(credential)
        return undefined
      }
      return entry.identity
    },
    set(credential, identity, nowMs) {
      const expiry = identity.expiresAt === undefined ? Infinity : identity.expiresAt * 1000
      lru.set(credential, { identity, notAfter: Math.min(nowMs + ttlMs, expiry) })
      if (identity.method === 'apikey' && identity.credentialId !== undefined) {
        let set = byKeyId.get(identity.credentialId)
        if (!set) byKeyId.set(identity.credentialId, (set = new Set()))
        set.add(credential)
      }
    },
    dropKeys(ids) {
      if (ids === 'all') {
        for (const set of [...byKeyId.values()]) for (const c of set) lru.delete(c)
        return
      }
      for (const id of ids) {
        const set = byKeyId.get(id)
        if (set) for (const c of [...set]) lru.delete(c)
      }
    },
    clear() {
      lru.clear()
    },
    get size() {
      return lru.size
    },
  }
}
