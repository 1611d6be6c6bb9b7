// The outcome of SPEC §3: allow with an identity, or deny with one reason from a
// closed set. Each reason has exactly one status, title and (for 401) challenge,
// and the same string is the problem `type` suffix, the log field and the
// `gatehouse_auth_failures_total{reason}` label.
import type { Permissions } from '../credentials/permissions.js'
import type { IpFilter } from './ip-filter.js'

export type DenyReason =
  | 'request_malformed'
  | 'headers_too_large'
  | 'body_too_large'
  | 'path_invalid'
  | 'method_not_allowed'
  | 'ip_denied'
  | 'no_api'
  | 'credential_missing'
  | 'credential_ambiguous'
  | 'credential_malformed'
  | 'token_invalid'
  | 'token_expired'
  | 'key_malformed'
  | 'key_unknown'
  | 'key_disabled'
  | 'key_expired'
  | 'credential_ip_denied'
  | 'credential_throttled'
  | 'permission_insufficient'
  | 'store_unavailable'

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
  /** Extra identity headers from JWT claims (SPEC §9 claimHeaders), values not yet encoded. */
  readonly claimHeaders?: readonly ClaimHeader[] | undefined
}

/** [header name, a value or a list of values]; a list is sent joined by `,`, each element encoded. */
export type ClaimHeader = readonly [string, string | readonly string[]]

export interface ApiRef {
  readonly name: string
  readonly public: boolean
}

export type Decision =
  | {
      readonly ok: true
      readonly path: string
      readonly api: ApiRef | null
      readonly identity: Identity | null
      /** Effective permissions (credential ∩ user now); null on public APIs. */
      readonly permissions: Permissions | null
      readonly clientIp: string
    }
  | {
      readonly ok: false
      readonly reason: DenyReason
      /** Safe to show the caller: never contains the credential. */
      readonly detail?: string | undefined
      readonly api: ApiRef | null
      readonly clientIp: string | null
    }

export type Status = 400 | 401 | 403 | 405 | 413 | 429 | 431 | 503

interface ReasonInfo {
  readonly status: Status
  readonly title: string
  /** RFC 6750 §3.1 error code for the Bearer challenge. */
  readonly bearerError?: 'invalid_request' | 'invalid_token' | 'insufficient_scope'
  /**
   * What the caller is shown as the problem type. API-key failures all look the
   * same from outside (security-cases #75: no oracle for which keys exist); logs
   * and metrics keep the precise reason.
   */
  readonly shownAs?: string
  /** Seconds for Retry-After (RFC 9110 §10.2.3): the refusal is temporary. */
  readonly retryAfterSeconds?: number
}

// A new reason does not compile until it has a row here.
export const REASONS: Readonly<Record<DenyReason, ReasonInfo>> = Object.freeze({
  request_malformed: { status: 400, title: 'Request malformed' },
  headers_too_large: { status: 431, title: 'Too many request header fields' },
  body_too_large: { status: 413, title: 'Request body too large' },
  path_invalid: { status: 400, title: 'Request path cannot be normalised safely' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  ip_denied: { status: 403, title: 'Client address not allowed' },
  no_api: { status: 403, title: 'No API serves this path' },
  credential_missing: { status: 401, title: 'Credential required' },
  credential_ambiguous: { status: 400, title: 'More than one credential', bearerError: 'invalid_request' },
  credential_malformed: { status: 401, title: 'Credential malformed', bearerError: 'invalid_token' },
  token_invalid: { status: 401, title: 'Token invalid', bearerError: 'invalid_token' },
  token_expired: { status: 401, title: 'Token expired', bearerError: 'invalid_token' },
  key_malformed: { status: 401, title: 'API key invalid', bearerError: 'invalid_token', shownAs: 'key_invalid' },
  key_unknown: { status: 401, title: 'API key invalid', bearerError: 'invalid_token', shownAs: 'key_invalid' },
  key_disabled: { status: 401, title: 'API key invalid', bearerError: 'invalid_token', shownAs: 'key_invalid' },
  key_expired: { status: 401, title: 'API key invalid', bearerError: 'invalid_token', shownAs: 'key_invalid' },
  credential_ip_denied: { status: 403, title: 'Client address not allowed for this credential' },
  // security-cases #76: the window of pipeline/failure-throttle.ts.
  credential_throttled: { status: 429, title: 'Too many failed credentials from this address', retryAfterSeconds: 60 },
  permission_insufficient: { status: 403, title: 'Permission insufficient', bearerError: 'insufficient_scope' },
  // SPEC §8: the store reconnects by itself (within a second of Redis answering again).
  store_unavailable: { status: 503, title: 'Credential store unavailable', retryAfterSeconds: 1 },
})

export const DENY_REASONS = Object.freeze(Object.keys(REASONS) as DenyReason[])

/** Problem `type` URI for a reason (RFC 9457 §3.1.1). */
export function problemType(reason: DenyReason): string {
  return `https://gatehouse.dev/problems/${REASONS[reason].shownAs ?? reason}`
}
