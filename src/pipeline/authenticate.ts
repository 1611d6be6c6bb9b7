// SPEC §3.5: exactly one credential -> Identity, through the verified-credential cache.
import type { Extracted } from '../credentials/extract.js'
import type { JwtVerifier } from '../credentials/verify-jwt.js'
import { verifyApiKey } from '../credentials/verify-api-key.js'
import type { VerifiedCache } from '../credentials/verified-cache.js'
import type { KeyStore } from '../keystore/key-store.js'
import type { DenyReason, Identity } from './decision.js'

export type AuthResult = { ok: true; identity: Identity } | { ok: false; reason: DenyReason; detail?: string | undefined }

export interface Credentials {
  readonly extract: (rawHeaders: readonly string[]) => Extracted
  readonly jwt: JwtVerifier
  readonly store: KeyStore
  readonly cache: VerifiedCache
  readonly onCache: (hit: boolean) => void
}

export async function authenticate(rawHeaders: readonly string[], c: Credentials, nowMs: number): Promise<AuthResult> {
  const found = c.extract(rawHeaders)
  switch (found.kind) {
    case 'none':
      return { ok: false, reason: 'credential_missing' }
    case 'ambiguous':
      return { ok: false, reason: 'credential_ambiguous', detail: found.detail }
    case 'malformed':
      return { ok: false, reason: 'credential_malformed', detail: found.detail }
    case 'jwt':
    case 'apikey': {
      const credential = found.kind === 'jwt' ? found.token : found.key
      const cached = c.cache.get(credential, nowMs)
      if (cached !== undefined) {
        c.onCache(true)
        if (cached.method === 'apikey' && cached.credentialId) c.store.touch(cached.credentialId, Math.floor(nowMs / 1000))
        return { ok: true, identity: cached }
      }
      c.onCache(false)
      const result =
        found.kind === 'jwt' ? await c.jwt.verify(credential) : await verifyApiKey(credential, c.store, Math.floor(nowMs / 1000))
      if (!result.ok) return { ok: false, reason: result.reason, detail: 'detail' in result ? result.detail : undefined }
      c.cache.set(credential, result.identity, nowMs)
      return { ok: true, identity: result.identity }
    }
  }
}
