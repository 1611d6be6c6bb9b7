// The token service's refusals: rows of outcome/catalogue.ts, problem+json (RFC 9457)
// like the proxy's, except under /oauth where RFC 6749 §5.2 fixes the error shape.
import { OUTCOMES, type OAuthCode, type OAuthError as OAuthErrorName, type ServiceCode } from '../outcome/catalogue.js'

export class ServiceError extends Error {
  readonly status: number
  constructor(
    readonly code: ServiceCode,
    readonly detail: string,
    /** Headers that vary by call: a computed Retry-After, a Basic challenge. */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail)
    this.status = OUTCOMES[code].status
  }
}

/** RFC 6749 §5.2. */
export class OAuthError extends Error {
  readonly status: number
  readonly error: OAuthErrorName
  constructor(
    readonly code: OAuthCode,
    readonly description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description)
    this.status = OUTCOMES[code].status
    this.error = OUTCOMES[code].oauthError ?? 'invalid_request'
  }
}

export const basicChallenge = { 'www-authenticate': 'Basic realm="gatehouse", charset="UTF-8"' }
