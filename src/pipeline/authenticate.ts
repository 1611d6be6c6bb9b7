// SPEC §3.5: exactly one credential -> Identity, through the verified-credential cache.
import { queryHasAccessToken, type Extracted } from '../credentials/extract.js'
import type { JwtVerifier } from '../credentials/verify-jwt.js'
import { verifyApiKey } from '../keystore/verify-api-key.js'
import type { VerifiedCache } from '../credentials/verified-cache.js'
import type { KeyStore } from '../keystore/key-store.js'
import type { Identity } from '../credentials/identity.js'
import type { DenyReason } from '../outcome/catalogue.js'
import type { FailureThrottle } from './failure-throttle.js'

export type AuthResult = { ok: true; identity: Identity } | { ok: false; reason: DenyReason; detail?: string | undefined }

export interface Credentials {
  readonly extract: (rawHeaders: readonly string[]) => Extracted
  readonly jwt: JwtVerifier
  readonly store: KeyStore
  readonly cache: VerifiedCache
  readonly onCache: (hit: boolean) => void
  /** Null when limits.authFailuresPerMinute is 0. */
  readonly throttle?: FailureThrottle | null
}

/** `query` is the request's query with its `?`, or ''; `clientIp` counts failures (attack #76). */
export async function authenticate(
  rawHeaders: readonly string[],
  c: Credentials,
  nowMs: number,
  query = '',
  clientIp = '',
): Promise<AuthResult> {
  const found = c.extract(rawHeaders)
  // RFC 6750 §2: one method only. The query is forwarded verbatim, so a second
  // token there would reach an upstream that might read it (attack #34, #35).
  if ((found.kind === 'jwt' || found.kind === 'apikey') && query.length > 1 && queryHasAccessToken(query)) {
    return failed(c, clientIp, nowMs, { ok: false, reason: 'credential_ambiguous', detail: 'a credential in the header and an access_token in the query' })
  }
  switch (found.kind) {
    case 'none':
      return { ok: false, reason: 'credential_missing' }
    case 'ambiguous':
      return failed(c, clientIp, nowMs, { ok: false, reason: 'credential_ambiguous', detail: found.detail })
    case 'malformed':
      // A key that is not even well-formed answers exactly like an unknown one (#75).
      return failed(c, clientIp, nowMs, found.apiKey ? { ok: false, reason: 'key_malformed' } : { ok: false, reason: 'credential_malformed', detail: found.detail })
    case 'jwt':
    case 'apikey': {
      const credential = found.kind === 'jwt' ? found.token : found.key
      const cached = c.cache.get(credential, nowMs)
      if (cached !== undefined) {
        c.onCache(true)
        if (isRevokedJwt(cached, c.store, nowMs)) return REVOKED
        if (cached.method === 'apikey' && cached.credentialId) c.store.touch(cached.credentialId, Math.floor(nowMs / 1000))
        return { ok: true, identity: cached }
      }
      c.onCache(false)
      if (c.throttle?.blocked(clientIp, nowMs)) return THROTTLED
      const result =
        found.kind === 'jwt' ? await c.jwt.verify(credential) : await verifyApiKey(credential, c.store, Math.floor(nowMs / 1000))
      if (!result.ok) {
        const refused: AuthResult = { ok: false, reason: result.reason, detail: 'detail' in result ? result.detail : undefined }
        return result.reason === 'store_unavailable' ? refused : failed(c, clientIp, nowMs, refused)
      }
      if (isRevokedJwt(result.identity, c.store, nowMs)) return REVOKED
      c.cache.set(credential, result.identity, nowMs)
      return { ok: true, identity: result.identity }
    }
  }
}

/** Counts a failed credential against its client address (attack #76); returns the result as it is. */
function failed(c: Credentials, clientIp: string, nowMs: number, result: AuthResult): AuthResult {
  c.throttle?.failed(clientIp, nowMs)
  return result
}

const REVOKED: AuthResult = Object.freeze({ ok: false, reason: 'token_invalid', detail: 'token revoked' })
const THROTTLED: AuthResult = Object.freeze({ ok: false, reason: 'credential_throttled', detail: 'too many failed credentials; try again later' })

/**
 * A JWT revoked by its jti (SPEC §6) is refused on every request, cached or not:
 * the check is a lookup in memory, so there is no window while a cache entry lives.
 */
function isRevokedJwt(identity: Identity, store: KeyStore, nowMs: number): boolean {
  return identity.method === 'jwt' && identity.credentialId !== undefined && store.isJwtRevoked(identity.credentialId, Math.floor(nowMs / 1000))
}
