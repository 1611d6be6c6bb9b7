// What the OpenAPI document (and so Swagger UI) says each token-service route
// answers: the success with what it is, and every error the route can give, with
// its real status and media type: RFC 9457 problem+json (outcome/catalogue.ts
// service rows, written by service.ts) or, on /oauth/*, the RFC 6749 §5.2 object.
// @fastify/swagger reads a response's description from its schema; without one it
// writes "Default Response".
import type { TSchema } from '@sinclair/typebox'
import { OAuthErrorBody, Problem } from './schemas.js'

type Documented = { description: string; content: Record<string, { schema: TSchema }> }

const problem = (description: string): Documented => ({ description, content: { 'application/problem+json': { schema: Problem } } })
const oauthError = (description: string): Documented => ({ description, content: { 'application/json': { schema: OAuthErrorBody } } })

/** A success answer: its schema with the description Swagger UI shows. */
export function ok<T extends TSchema>(description: string, schema: T): T {
  return { ...schema, description }
}

/** Any route: the global ipFilter, and a failure of our own (service.ts error handler). */
const ANY = {
  403: problem('forbidden: the client address is not allowed (ipFilter)'),
  500: problem('internal error'),
}

/** Routes whose caller logs in (Basic) or presents an API key. */
const CALLER = {
  ...ANY,
  400: problem('invalid_body: the request is malformed or a field is invalid'),
  401: problem('unauthenticated: no credential, or a wrong one'),
  403: problem('forbidden, jwt_not_accepted or permission_exceeds_user: the caller may not do this (or its address is not allowed)'),
  429: problem('too_many_attempts: too many failed logins from this address; wait Retry-After seconds'),
  503: problem('store_unavailable: the key store does not answer; retry after Retry-After seconds'),
}

/** Routes with a JSON body. */
const JSON_BODY = {
  413: problem('body_too_large: the request body is over 64 KiB'),
  415: problem('unsupported_media_type: send application/json'),
}

export const RESPONSES = {
  caller: CALLER,
  callerWithBody: { ...CALLER, ...JSON_BODY },
  /** `targetUser` names no user. */
  noSuchUser: { 404: problem('not_found: targetUser names no user') },
  noSuchKey: { 404: problem('not_found: no such API key, or not one the caller manages') },
  tooManyKeys: { 409: problem('too_many_keys: the user holds issuer.maxKeysPerUser keys already (or conflict: a key id collided; retry)') },
  /** /oauth/token and /oauth/introspect: RFC 6749 §5.2 errors, and problem+json for what fails before the endpoint runs. */
  oauth: {
    ...ANY,
    400: oauthError('invalid_request, invalid_scope or unsupported_grant_type (RFC 6749 §5.2)'),
    401: oauthError('invalid_client: no client (or user) credentials, or wrong ones'),
    413: problem('body_too_large: the form is over 16 KiB'),
    415: problem('unsupported_media_type: send application/x-www-form-urlencoded'),
    429: oauthError('invalid_client after too many failures from this address: wait Retry-After seconds'),
    503: problem('store_unavailable: the key store does not answer; retry after Retry-After seconds'),
  },
  /** The public documents. */
  public: ANY,
} as const
