// The token service's refusals: problem+json (RFC 9457) like the proxy's, except
// under /oauth where RFC 6749 §5.2 fixes the error shape.
export type ServiceErrorCode =
  | 'unauthenticated'
  | 'jwt_not_accepted'
  | 'forbidden'
  | 'permission_exceeds_user'
  | 'not_found'
  | 'invalid_body'
  | 'too_many_attempts'
  | 'too_many_keys'
  | 'store_unavailable'

const STATUS: Record<ServiceErrorCode, number> = {
  unauthenticated: 401,
  jwt_not_accepted: 403,
  forbidden: 403,
  permission_exceeds_user: 403,
  not_found: 404,
  invalid_body: 400,
  too_many_attempts: 429,
  too_many_keys: 409,
  store_unavailable: 503,
}

export class ServiceError extends Error {
  readonly status: number
  constructor(
    readonly code: ServiceErrorCode,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail)
    this.status = STATUS[code]
  }
}

export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope'

/** RFC 6749 §5.2. */
export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly status: 400 | 401 | 429 = error === 'invalid_client' ? 401 : 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(description)
  }
}

export const basicChallenge = { 'www-authenticate': 'Basic realm="gatehouse", charset="UTF-8"' }
