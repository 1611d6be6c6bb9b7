// Every answer Gatehouse gives that is not a forwarded upstream response, as one
// typed table: proxy refusals (SPEC §3), wire-level refusals, upstream failures,
// token-service errors (SPEC §6) and RFC 6749 §5.2 errors. A new refusal is one
// row here; outcome/answer.ts turns a row into status, headers and body.

/** SPEC §3 refusals: the same string is the log field and the `gatehouse_auth_failures_total{reason}` label. */
export type DenyReason =
  | 'request_malformed'
  | 'headers_too_large'
  | 'body_too_large'
  | 'path_invalid'
  | 'path_ambiguous'
  | 'client_address_invalid'
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
  | 'authority_revoked'
  | 'store_unavailable'
  | 'caller_untrusted'

/** Refused by node's HTTP parser or before a request exists (malformed, oversize, slow, CONNECT). */
export type WireCode = 'wire_malformed' | 'wire_headers_too_large' | 'wire_chunk_extensions_too_large' | 'wire_request_timeout' | 'wire_connect'

/** SPEC §2 upstream timeouts and failures. */
export type UpstreamCode = 'upstream_connect' | 'upstream_timeout' | 'upstream_reset' | 'upstream_other'

/** The traffic port's answers that are neither refusals nor upstream failures. */
export type ProxyCode = 'internal_error' | 'service_off' | 'upgrade_unsupported' | 'upgrade_to_service' | 'upgrade_decision'

/** CORS preflights of APIs with a cors policy (pipeline/cors.ts): answered here, never forwarded. */
export type CorsCode = 'cors_preflight' | 'cors_preflight_refused'

/** The token service's problem+json errors (SPEC §6). */
export type ServiceCode =
  | 'unauthenticated'
  | 'jwt_not_accepted'
  | 'forbidden'
  | 'permission_exceeds_user'
  | 'not_found'
  | 'invalid_body'
  | 'too_many_attempts'
  | 'too_many_keys'
  | 'store_unavailable'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'conflict'
  | 'internal'

/** RFC 6749 §5.2 errors of /oauth/token and /oauth/introspect (RFC 7662 §2.3 uses the same). */
export type OAuthCode =
  | 'oauth_invalid_request'
  | 'oauth_method_not_allowed'
  | 'oauth_invalid_client'
  | 'oauth_too_many_attempts'
  | 'oauth_invalid_scope'
  | 'oauth_unsupported_grant_type'

export type OutcomeCode = DenyReason | WireCode | UpstreamCode | ProxyCode | CorsCode | ServiceCode | OAuthCode

export type OAuthError = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope'

export interface OutcomeRow {
  readonly status: 200 | 204 | 400 | 401 | 403 | 404 | 405 | 408 | 409 | 413 | 415 | 429 | 431 | 500 | 502 | 503 | 504
  readonly title: string
  /**
   * `problem`: RFC 9457 application/problem+json; `oauth`: the RFC 6749 §5.2 JSON
   * object; `none`: an empty body (wire-level refusals, where no request was parsed).
   */
  readonly body: 'problem' | 'oauth' | 'none'
  /** RFC 9457 §3.1.1 problem type. */
  readonly type: string
  /** RFC 6749 §5.2 `error`, for `oauth` bodies. */
  readonly oauthError?: OAuthError
  readonly wwwAuthenticate?: string
  /** RFC 6750 §3.1 error code of the Bearer challenge, when there is one. */
  readonly bearerError?: 'invalid_request' | 'invalid_token' | 'insufficient_scope'
  /** Seconds for Retry-After (RFC 9110 §10.2.3): the refusal is temporary. */
  readonly retryAfterSeconds?: number
  /** The `reason` label of gatehouse_auth_failures_total, for SPEC §3 refusals. */
  readonly metricReason?: DenyReason
  /** The level of the log line that reports the outcome beyond the request line. */
  readonly logLevel: 'info' | 'warn' | 'error'
}

const PROBLEMS = 'https://gatehouse.dev/problems/'
const REALM = 'realm="gatehouse"'

type Spec = Partial<OutcomeRow> & Pick<OutcomeRow, 'status' | 'title'>

/**
 * A SPEC §3 refusal. RFC 6750 §3: no error code when no credential was sent;
 * otherwise the reason's code. `shownAs`: API-key failures all look the same from
 * outside (attack #75: no oracle for which keys exist); logs and metrics
 * keep the precise reason.
 */
function refusal(reason: DenyReason, s: Spec & { shownAs?: string }): OutcomeRow {
  const { shownAs, ...row } = s
  let wwwAuthenticate: string | undefined
  if (row.status === 401 && !row.bearerError) wwwAuthenticate = `Bearer ${REALM}, ApiKey ${REALM}`
  else if (row.bearerError) wwwAuthenticate = `Bearer ${REALM}, error="${row.bearerError}", error_description="${row.title}"`
  return { body: 'problem', type: PROBLEMS + (shownAs ?? reason), metricReason: reason, logLevel: 'info', ...(wwwAuthenticate ? { wwwAuthenticate } : {}), ...row }
}

const problem = (code: string, s: Spec): OutcomeRow => ({ body: 'problem', type: PROBLEMS + code, logLevel: 'info', ...s })
const wire = (s: Spec): OutcomeRow => ({ body: 'none', type: 'about:blank', logLevel: 'info', ...s })
const oauth = (oauthError: OAuthError, s: Spec): OutcomeRow => ({ body: 'oauth', type: 'about:blank', oauthError, logLevel: 'info', ...s })

const ROWS = {
  // SPEC §3, in pipeline order.
  request_malformed: refusal('request_malformed', { status: 400, title: 'Request malformed' }),
  headers_too_large: refusal('headers_too_large', { status: 431, title: 'Too many request header fields' }),
  body_too_large: refusal('body_too_large', { status: 413, title: 'Request body too large' }),
  path_invalid: refusal('path_invalid', { status: 400, title: 'Request path cannot be normalised safely' }),
  // Issue 13: a legacy upstream could read the path as another API's (pathReadings:).
  path_ambiguous: refusal('path_ambiguous', { status: 400, title: 'Request path reads as another API to a legacy upstream' }),
  // The right-most untrusted X-Forwarded-For hop is not an address: never attributed to the proxy.
  client_address_invalid: refusal('client_address_invalid', { status: 400, title: 'Forwarded client address unreadable' }),
  method_not_allowed: refusal('method_not_allowed', { status: 405, title: 'Method not allowed' }),
  ip_denied: refusal('ip_denied', { status: 403, title: 'Client address not allowed' }),
  no_api: refusal('no_api', { status: 403, title: 'No API serves this path' }),
  credential_missing: refusal('credential_missing', { status: 401, title: 'Credential required' }),
  credential_ambiguous: refusal('credential_ambiguous', { status: 400, title: 'More than one credential', bearerError: 'invalid_request' }),
  credential_malformed: refusal('credential_malformed', { status: 401, title: 'Credential malformed', bearerError: 'invalid_token' }),
  token_invalid: refusal('token_invalid', { status: 401, title: 'Token invalid', bearerError: 'invalid_token' }),
  token_expired: refusal('token_expired', { status: 401, title: 'Token expired', bearerError: 'invalid_token' }),
  key_malformed: refusal('key_malformed', { status: 401, title: 'API key invalid', bearerError: 'invalid_token', shownAs: 'key_invalid' }),
  key_unknown: refusal('key_unknown', { status: 401, title: 'API key invalid', bearerError: 'invalid_token', shownAs: 'key_invalid' }),
  key_disabled: refusal('key_disabled', { status: 401, title: 'API key invalid', bearerError: 'invalid_token', shownAs: 'key_invalid' }),
  key_expired: refusal('key_expired', { status: 401, title: 'API key invalid', bearerError: 'invalid_token', shownAs: 'key_invalid' }),
  credential_ip_denied: refusal('credential_ip_denied', { status: 403, title: 'Client address not allowed for this credential' }),
  // attack #76: the window of pipeline/failure-throttle.ts.
  credential_throttled: refusal('credential_throttled', { status: 429, title: 'Too many failed credentials from this address', retryAfterSeconds: 60 }),
  permission_insufficient: refusal('permission_insufficient', { status: 403, title: 'Permission insufficient', bearerError: 'insufficient_scope' }),
  // pipeline/authority.ts: the user, client, impersonator or parent key behind a credential is gone.
  authority_revoked: refusal('authority_revoked', { status: 401, title: 'Credential no longer valid', bearerError: 'invalid_token' }),
  // SPEC §8: the store reconnects by itself (within a second of Redis answering again). The token service answers the same.
  store_unavailable: refusal('store_unavailable', { status: 503, title: 'Credential store unavailable', retryAfterSeconds: 1 }),
  // SPEC §10: only forwardAuth.trustedCallers may ask for decisions.
  caller_untrusted: refusal('caller_untrusted', { status: 403, title: 'Caller may not ask for decisions' }),

  // node's parser refused the request (attack #65–#72, #99): what node's own clientError handler would answer.
  wire_malformed: wire({ status: 400, title: 'Bad Request' }),
  wire_headers_too_large: wire({ status: 431, title: 'Request Header Fields Too Large' }),
  wire_chunk_extensions_too_large: wire({ status: 413, title: 'Payload Too Large' }),
  wire_request_timeout: wire({ status: 408, title: 'Request Timeout' }),
  // CONNECT would open a tunnel past the pipeline: 405 like TRACE (SPEC §3.8; attack #51).
  wire_connect: wire({ status: 405, title: 'Method Not Allowed' }),

  upstream_connect: problem('upstream_connect', { status: 502, title: 'Upstream unreachable', logLevel: 'warn' }),
  upstream_timeout: problem('upstream_timeout', { status: 504, title: 'Upstream timed out', logLevel: 'warn' }),
  upstream_reset: problem('upstream_reset', { status: 502, title: 'Upstream closed the connection', logLevel: 'warn' }),
  upstream_other: problem('upstream_other', { status: 502, title: 'Upstream failed', logLevel: 'warn' }),

  // decide() threw: answered 500, never a pass.
  internal_error: { body: 'problem', type: 'about:blank', status: 500, title: 'Internal error', logLevel: 'error' },
  service_off: { body: 'problem', type: 'about:blank', status: 404, title: 'Not found', logLevel: 'info' },
  // Every request must pass the pipeline on its own (attack #59): no h2c, no tunnel to the token service.
  upgrade_unsupported: { body: 'problem', type: 'about:blank', status: 400, title: 'Only websocket upgrades are proxied', logLevel: 'info' },
  // SPEC §10: a decision is one request and one answer.
  upgrade_decision: { body: 'problem', type: 'about:blank', status: 400, title: 'Decision requests are not upgraded', logLevel: 'info' },
  upgrade_to_service: { body: 'problem', type: 'about:blank', status: 400, title: 'No websocket here', logLevel: 'info' },

  // Fetch standard §3.2: an allowed preflight gets the Access-Control-Allow-* headers and no body.
  cors_preflight: { body: 'none', type: 'about:blank', status: 204, title: 'Preflight allowed', logLevel: 'info' },
  // A preflight the policy does not allow: answered, not forwarded, as Envoy (forward_not_matching_preflights:
  // false) and Kong do: 200 without Access-Control-Allow-* headers, which the browser refuses.
  cors_preflight_refused: { body: 'none', type: 'about:blank', status: 200, title: 'Preflight not allowed', logLevel: 'info' },

  unauthenticated: problem('unauthenticated', { status: 401, title: 'Authentication required' }),
  // RFC 8725 §3.12: a JWT must not mint credentials.
  jwt_not_accepted: problem('jwt_not_accepted', { status: 403, title: 'A JWT cannot be used here' }),
  forbidden: problem('forbidden', { status: 403, title: 'Forbidden' }),
  permission_exceeds_user: problem('permission_exceeds_user', { status: 403, title: 'Permission beyond what the user holds' }),
  not_found: problem('not_found', { status: 404, title: 'Not found' }),
  invalid_body: problem('invalid_body', { status: 400, title: 'Invalid request' }),
  too_many_attempts: problem('too_many_attempts', { status: 429, title: 'Too many attempts' }),
  // issuer.maxKeysPerUser.
  too_many_keys: problem('too_many_keys', { status: 409, title: 'Too many keys' }),
  unsupported_media_type: problem('unsupported_media_type', { status: 415, title: 'Unsupported media type' }),
  conflict: problem('conflict', { status: 409, title: 'Conflict' }),
  internal: problem('internal', { status: 500, title: 'Internal error', logLevel: 'error' }),

  oauth_invalid_request: oauth('invalid_request', { status: 400, title: 'Invalid request' }),
  oauth_method_not_allowed: oauth('invalid_request', { status: 405, title: 'Use POST with a form body' }),
  oauth_invalid_client: oauth('invalid_client', { status: 401, title: 'Client authentication failed' }),
  oauth_too_many_attempts: oauth('invalid_client', { status: 429, title: 'Too many failed attempts' }),
  oauth_invalid_scope: oauth('invalid_scope', { status: 400, title: 'Invalid scope' }),
  oauth_unsupported_grant_type: oauth('unsupported_grant_type', { status: 400, title: 'Unsupported grant type' }),
} satisfies Record<OutcomeCode, OutcomeRow>

// A new code does not compile until it has a row (fastify's errors test, moved to the type checker).
export const OUTCOMES: Readonly<Record<OutcomeCode, OutcomeRow>> = Object.freeze(ROWS)

export const OUTCOME_CODES = Object.freeze(Object.keys(OUTCOMES) as OutcomeCode[])
export const DENY_REASONS = Object.freeze(OUTCOME_CODES.filter((c) => OUTCOMES[c].metricReason === c) as DenyReason[])
