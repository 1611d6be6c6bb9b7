// Who a request acts as (SPEC §4): built by the credential verifiers, read by the
// pipeline, the identity headers and the token service's introspection.
import type { IpFilter } from '../net/ip-filter.js'
import type { Permissions } from './permissions.js'

/** Who a request acts as, once authenticated (SPEC §4). */
export interface Identity {
  /** The effective user: the impersonated one where `targetUser` was used. */
  readonly user: string
  /** The user who really authenticated, when different from `user`. */
  readonly actor?: string | undefined
  readonly method: 'jwt' | 'apikey'
  /** API key id, or JWT `jti`. */
  readonly credentialId?: string | undefined
  /** JWT `iss`, or `gatehouse` for API keys. */
  readonly issuer: string
  /** What the credential itself carries, before the user's current cap. */
  readonly permissions: Permissions
  /** Unix seconds; absent when the credential never expires. */
  readonly expiresAt?: number | undefined
  /** OAuth2 client a client-credentials token was issued to (its permissions cap the token now). */
  readonly clientId?: string | undefined
  /** The credential's own CIDR list (SPEC §3.6). */
  readonly ipFilter?: IpFilter | undefined
  /** The API key this credential was minted with (issue 12): it never outlives or out-reaches it. */
  readonly parentKeyId?: string | undefined
  /** Extra identity headers from JWT claims (SPEC §9 claimHeaders), values not yet encoded. */
  readonly claimHeaders?: readonly ClaimHeader[] | undefined
}

/** [header name, a value or a list of values]; a list is sent joined by `,`, each element encoded. */
export type ClaimHeader = readonly [string, string | readonly string[]]
