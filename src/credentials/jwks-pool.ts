// Remote JWKS caches that outlive a reload (SPEC §9; issue 15's outage bug): a
// reload whose issuer keeps the same key source (the same address or discovery,
// the same timing) reuses the running cache with its last good keys and fetches
// no keys; only a changed or new source starts a new cache. A reused discovery
// cache reads the IdP's metadata again in the background (SPEC §12: discovery runs
// on reload), so a moved jwks_uri is followed without a config change.
import type { RemoteJwks } from './remote-jwks.js'

export interface JwksPool {
  /** The running cache for this key (rediscovering, when it uses discovery), or a new one from `create`. */
  take(key: string, create: () => RemoteJwks): RemoteJwks
  /** Closes every cache whose key is not listed (after a reload installed, or failed). */
  retainOnly(keys: Iterable<string>): void
  closeAll(): void
}

export function createJwksPool(): JwksPool {
  const live = new Map<string, RemoteJwks>()
  return {
    take(key, create) {
      const running = live.get(key)
      if (running !== undefined) {
        void running.rediscover()
        return running
      }
      const remote = create()
      live.set(key, remote)
      return remote
    },
    retainOnly(keys) {
      const keep = new Set(keys)
      for (const [key, remote] of live) {
        if (keep.has(key)) continue
        remote.close()
        live.delete(key)
      }
    },
    closeAll() {
      for (const remote of live.values()) remote.close()
      live.clear()
    },
  }
}
