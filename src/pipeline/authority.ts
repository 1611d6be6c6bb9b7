// The chain of authority behind a credential, re-checked on every use (issue 12).
// A credential Gatehouse issued is only as good as what vouched for it *now*: its
// user (or OAuth client) must still exist, an impersonator must still exist and
// still hold canImpersonate while the target is still not an admin, and a
// credential minted from an API key lives and reaches no further than that key
// (revoked, disabled, expired, or an address its ipFilter refuses -> refused),
// recursively up the chain. The proxy (pipeline/decide.ts), the token service's
// API-key callers and introspection all ask this one class, so they agree.
import type { ClientDirectory } from '../accounts/clients.js'
import type { UserDirectory } from '../accounts/users.js'
import { StoreUnavailableError, type ApiKeyRecord, type KeyStore } from '../keystore/key-store.js'
import type { Identity } from '../credentials/identity.js'
import { intersect, type Permissions } from '../credentials/permissions.js'
import { identityOfRecord } from '../keystore/key-identity.js'

/** `user`: a person from usersFile (or an external IdP); `client`: an OAuth2 client-credentials token. */
export type SubjectType = 'user' | 'client'

export type AuthorityResult =
  | { readonly ok: true; readonly permissions: Permissions; readonly subjectType: SubjectType }
  | { readonly ok: false; readonly reason: 'authority_revoked' | 'credential_ip_denied' | 'store_unavailable'; readonly detail: string }

export interface AuthorityDirectories {
  readonly users: UserDirectory | null
  readonly clients: ClientDirectory | null
  /** `iss` of the tokens the token service issues, or null when it is off. */
  readonly ownIssuer: string | null
}

// Keys minted from keys minted from keys…: deeper chains are not made by the service (see MAX_CHAIN_DEPTH use in grant.ts).
export const MAX_CHAIN_DEPTH = 8

export class AuthorityChain {
  constructor(
    private readonly dirs: AuthorityDirectories,
    private readonly store: KeyStore,
  ) {}

  /**
   * What `identity` may do now from `clientIp`, or why it may do nothing. Never
   * more than the credential carries; external IdP tokens keep the IdP's word for
   * users the users file does not list (SPEC §3.7). `clientIp` null: not for a
   * request (introspection), so parent keys' ipFilters are not applied.
   */
  async check(identity: Identity, clientIp: string | null, nowSeconds: number): Promise<AuthorityResult> {
    return this.#check(identity, clientIp, nowSeconds, 0)
  }

  /** True when `identity` came from this Gatehouse (an API key, or a JWT of the token service). */
  isOwn(identity: Identity): boolean {
    return identity.method === 'apikey' || (this.dirs.ownIssuer !== null && identity.issuer === this.dirs.ownIssuer)
  }

  async #check(identity: Identity, clientIp: string | null, nowSeconds: number, depth: number): Promise<AuthorityResult> {
    const { users, clients } = this.dirs
    if (!this.isOwn(identity)) {
      const user = users?.get(identity.user)
      return granted(user ? intersect(identity.permissions, user.permissions) : identity.permissions, 'user')
    }
    // A client-credentials token names its client as its subject (a login token's
    // client_id, when it has one, is another name: RFC 9068 §2.2, SPEC §12).
    if (identity.clientId !== undefined && identity.method === 'jwt' && identity.clientId === identity.user) {
      const client = clients?.get(identity.clientId)
      if (!client) return revoked('the OAuth client no longer exists')
      return granted(intersect(identity.permissions, client.permissions), 'client')
    }
    let permissions = identity.permissions
    if (users) {
      const user = users.get(identity.user)
      if (!user) return revoked('the user no longer exists')
      // A client id never names a user: the upstream must not mistake one for the other.
      if (clients?.get(identity.user)) return revoked('the user name is an OAuth client id')
      permissions = intersect(permissions, user.permissions)
      if (identity.actor !== undefined) {
        const actor = users.get(identity.actor)
        if (!actor) return revoked('the impersonating user no longer exists')
        if (!actor.canImpersonate) return revoked('the impersonating user may no longer impersonate')
        if (user.admin) return revoked('the impersonated user is an admin')
      }
    } else if (identity.actor !== undefined) {
      return revoked('impersonation needs a users file')
    }
    if (identity.parentKeyId !== undefined) {
      if (depth >= MAX_CHAIN_DEPTH) return revoked('the chain of parent keys is too long')
      let parent: ApiKeyRecord | null
      try {
        parent = await this.store.get(identity.parentKeyId)
      } catch (err) {
        if (err instanceof StoreUnavailableError) return { ok: false, reason: 'store_unavailable', detail: 'the key store is unavailable' }
        throw err
      }
      if (!parent) return revoked('the parent API key was revoked')
      if (!parent.enabled) return revoked('the parent API key is disabled')
      if (parent.expiresAt !== null && nowSeconds >= parent.expiresAt) return revoked('the parent API key has expired')
      const upstream = identityOfRecord(parent)
      if (clientIp !== null && upstream.ipFilter && !upstream.ipFilter.allows(clientIp)) {
        return { ok: false, reason: 'credential_ip_denied', detail: "the parent API key's ipFilter refuses this address" }
      }
      const up = await this.#check(upstream, clientIp, nowSeconds, depth + 1)
      if (!up.ok) return up
      permissions = intersect(permissions, up.permissions)
    }
    return granted(permissions, 'user')
  }
}

function granted(permissions: Permissions, subjectType: SubjectType): AuthorityResult {
  return { ok: true, permissions, subjectType }
}

function revoked(detail: string): AuthorityResult {
  return { ok: false, reason: 'authority_revoked', detail }
}
