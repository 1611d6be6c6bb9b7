// The credential store (SPEC §5, §6, §8): API keys and the JWT deny list behind one
// interface, implemented by the file store and the Redis store, both held to
// test/keystore/key-store-contract.ts.
import type { Permissions } from '../credentials/permissions.js'

/** What is stored for one key. Never the secret: only its hash. */
export interface ApiKeyRecord {
  readonly id: string
  readonly user: string
  readonly description: string
  readonly permissions: Permissions
  /** CIDR list (IPv4 and IPv6); empty = any address. */
  readonly ipFilter: readonly string[]
  /** Unix seconds, or null for no expiry. */
  readonly expiresAt: number | null
  readonly enabled: boolean
  /** Unix seconds. */
  readonly createdAt: number
  /** Unix seconds, or null when never used. */
  readonly lastUsedAt: number | null
  /** Hash of the key's secret part (see credentials/api-key.ts). */
  readonly secretHash: string
  /** Who created the key for `user` by impersonation (RFC 8693 actor); absent otherwise. */
  readonly actor?: string
  /** The API key this key was minted with (issue 12); absent for keys made by Basic login or the CLI. */
  readonly parentKeyId?: string
}

/** The fields that may change after creation (SPEC §6 PATCH). */
export interface ApiKeyPatch {
  readonly description?: string
  readonly enabled?: boolean
  readonly ipFilter?: readonly string[]
  readonly expiresAt?: number | null
  readonly permissions?: Permissions
}

/** Ids whose records changed or vanished; `all` after a whole reload. */
export type KeyChange = readonly string[] | 'all'

export interface KeyStore {
  /** The hot path: the file store answers from memory. Throws StoreUnavailableError when it cannot answer. */
  get(id: string): Promise<ApiKeyRecord | null>
  list(filter?: { user?: string }): Promise<ApiKeyRecord[]>
  /** Fails with KeyExistsError when the id is taken. */
  create(record: ApiKeyRecord): Promise<void>
  /** Returns the new record, or null when the id is unknown. */
  update(id: string, patch: ApiKeyPatch): Promise<ApiKeyRecord | null>
  /** Deletes the keys; returns the ids that existed. */
  revoke(ids: readonly string[]): Promise<string[]>
  /** Records a use; may be batched and written later. Never throws. */
  touch(id: string, atSeconds: number): void
  /**
   * Denies a JWT by its `jti` until `expiresAt` (Unix seconds: when the token is
   * refused anyway), on every replica within one second. A later end wins.
   */
  revokeJwt(jti: string, expiresAt: number): Promise<void>
  /** The hot path, for every request with a JWT: answered from memory, never throws. */
  isJwtRevoked(jti: string, nowSeconds: number): boolean
  /** The revoked JWTs still in force, read from the backing store (migration). */
  listRevokedJwts(nowSeconds: number): Promise<{ jti: string; expiresAt: number }[]>
  /** Called after any change, including ones made by another process. Returns an unsubscribe function. */
  onChange(listener: (change: KeyChange) => void): () => void
  /** True once loaded and while the backing store answers (/readyz). */
  isReady(): Promise<boolean>
  close(): Promise<void>
}

export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError'
}

export class KeyExistsError extends Error {
  override readonly name = 'KeyExistsError'
}
