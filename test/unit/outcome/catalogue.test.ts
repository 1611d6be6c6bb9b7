// The outcome catalogue's guard (fastify's errors.js test, the catalogue kind):
// every SPEC §3 reason has a row, every row is produced somewhere in src/ and is
// reached by a named test, and answer() builds what RFC 9457, RFC 6750 and
// RFC 6749 §5.2 prescribe.
import { strict as assert } from 'node:assert'
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import { answer } from '../../../src/outcome/answer.js'
import { DENY_REASONS, OUTCOME_CODES, OUTCOMES, type OutcomeCode } from '../../../src/outcome/catalogue.js'

const ROOT = path.resolve(import.meta.dirname, '../../..')
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8')

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
}

/**
 * Where each outcome is reached: a test file and the title of a test in it that
 * drives a request to that answer. `defensive` rows answer failures that no input
 * can cause on purpose (a bug, an id collision); they say why instead.
 */
type Reach = { readonly test: string; readonly title: string } | { readonly defensive: string }
const at = (test: string, title: string): Reach => ({ test: `test/${test}`, title })

const REACHED: Record<OutcomeCode, Reach> = {
  request_malformed: at('security/catalogue-paths.test.ts', "'#51"),
  headers_too_large: at('security/limits.test.ts', 'maxHeaderCount 20: 20 header lines pass, 21 are 431'),
  body_too_large: at('security/limits.test.ts', 'on a chunked body: 1 000 bytes pass, 1 001 are 413'),
  path_invalid: at('unit/pipeline/decide.test.ts', 'an encoded slash is 400'),
  path_ambiguous: at('security/legacy-readings.test.ts', 'each reading that names /api/admin is 400 path_ambiguous with K1, and nothing reaches U'),
  client_address_invalid: at('security/legacy-readings.test.ts', 'an unparseable right-most untrusted X-Forwarded-For hop from a trusted proxy is 400, never the proxy address'),
  method_not_allowed: at('e2e/rejections.test.ts', 'TRACE is 405'),
  ip_denied: at('unit/pipeline/decide.test.ts', 'a denied socket address is 403 before any credential is looked at'),
  no_api: at('unit/pipeline/decide.test.ts', 'no API with unmatched: deny is 403 before any credential is looked at'),
  credential_missing: at('unit/pipeline/decide.test.ts', 'none is 401'),
  credential_ambiguous: at('security/catalogue-jwt.test.ts', '#34 multiple credentials'),
  credential_malformed: at('unit/pipeline/decide.test.ts', 'a malformed one is 401'),
  token_invalid: at('unit/pipeline/decide.test.ts', 'a bad signature is 401 invalid_token'),
  token_expired: at('unit/pipeline/decide.test.ts', 'an expired JWT is 401 invalid_token'),
  key_malformed: at('e2e/rejections.test.ts', 'key_malformed'),
  key_unknown: at('unit/pipeline/decide.test.ts', 'an unknown key is 401'),
  key_disabled: at('unit/pipeline/decide.test.ts', 'a disabled key is 401'),
  key_expired: at('unit/pipeline/decide.test.ts', 'an expired key is 401'),
  credential_ip_denied: at('unit/pipeline/decide.test.ts', "a key's own CIDR list refuses other addresses with 403"),
  credential_throttled: at('security/limits.test.ts', 'authFailuresPerMinute 5: five failures are 401, the sixth unverified credential is 429'),
  permission_insufficient: at('unit/pipeline/decide.test.ts', 'needs rw: 403 with r'),
  authority_revoked: at('e2e/authority-chain.test.ts', 'key-minted JWT: refused from the next request once its parent key is revoked'),
  caller_untrusted: at('e2e/decision.test.ts', 'a peer outside trustedCallers gets 403 caller_untrusted, even with a good credential'),
  store_unavailable: at('e2e/redis-replicas.test.ts', 'new ones answer 503 with Retry-After'),
  wire_malformed: at('security/catalogue-headers.test.ts', '#68 TE obfuscation is 400'),
  wire_headers_too_large: at('security/limits.test.ts', 'maxHeaderBytes 4096: a 4 096-byte head passes, one 64 bytes over is 431'),
  wire_chunk_extensions_too_large: at('security/catalogue-headers.test.ts', '#72 chunk extensions: a 1 MB extension is 413'),
  wire_request_timeout: at('security/limits.test.ts', 'headers never completed are cut (408)'),
  wire_connect: at('security/catalogue-paths.test.ts', 'TRACE and CONNECT 405'),
  upstream_connect: at('e2e/forwarding.test.ts', 'an upstream that is down is a fast 502'),
  upstream_timeout: at('e2e/forwarding.test.ts', 'an upstream silent past timeoutMs is a 504'),
  upstream_reset: at('security/catalogue-availability.test.ts', 'a trickle, a bad status line or a reset never hang'),
  upstream_other: at('security/catalogue-availability.test.ts', 'a trickle, a bad status line or a reset never hang'),
  internal_error: { defensive: 'decide() threw: a bug, answered 500 and never a pass' },
  service_off: { defensive: 'a reload that turns issuer: on while running (the service starts only with the process; the reload warns)' },
  upgrade_unsupported: at('security/catalogue-headers.test.ts', '#59 h2c upgrades are 400'),
  upgrade_decision: at('e2e/decision.test.ts', 'a websocket upgrade of the decision path is 400: a decision is one request, one answer'),
  upgrade_to_service: { defensive: 'a websocket upgrade under issuer.prefix: the token service has no websocket endpoint' },
  cors_preflight: at('e2e/cors.test.ts', 'an allowed preflight is 204 with the Access-Control-Allow-* headers, without a credential, and never forwarded'),
  cors_preflight_refused: at('e2e/cors.test.ts', 'a preflight the policy does not allow is answered 200 without Access-Control-Allow-* (Envoy, Kong) and never forwarded'),
  unauthenticated: at('e2e/issuer-jwt.test.ts', 'Basic authentication'),
  jwt_not_accepted: at('e2e/issuer-jwt.test.ts', 'a JWT never mints a JWT (403'),
  forbidden: at('e2e/issuer-api-keys.test.ts', "'forbidden'"),
  permission_exceeds_user: at('e2e/issuer-jwt.test.ts', 'permission_exceeds_user'),
  not_found: at('e2e/issuer-api-keys.test.ts', "'not_found'"),
  invalid_body: at('e2e/issuer-jwt.test.ts', 'invalid_body'),
  too_many_attempts: at('e2e/issuer-jwt.test.ts', 'lock the account from the guessing address: 429 with Retry-After'),
  too_many_keys: at('e2e/authority-chain.test.ts', 'issuer.maxKeysPerUser: the key above it is 409 with a clear message'),
  unsupported_media_type: { defensive: 'Fastify refuses a content type no route parses; every route declares JSON or a form' },
  conflict: { defensive: 'a new key id that already exists: 96 random bits make it a collision, retried by the caller' },
  internal: { defensive: 'a handler threw something unexpected: a bug, answered 500' },
  oauth_invalid_request: at('e2e/issuer-oauth.test.ts', 'a JSON body is 400 invalid_request'),
  oauth_method_not_allowed: at('e2e/issuer-oauth.test.ts', 'GET, even with everything in the query, is 405 with Allow: POST'),
  oauth_invalid_client: at('e2e/issuer-oauth.test.ts', 'a wrong secret via Basic is 401 invalid_client'),
  oauth_too_many_attempts: at('security/catalogue-token-service.test.ts', 'its failures are throttled (429)'),
  oauth_invalid_scope: at('e2e/issuer-oauth.test.ts', 'is 400 invalid_scope'),
  oauth_unsupported_grant_type: at('e2e/issuer-oauth.test.ts', 'is 400 unsupported_grant_type'),
}

// SPEC §3 names these statuses for its refusals; §2 limits and §8 add 413, 429, 431 and 503.
const SPEC_STATUS: Record<string, number> = {
  path_invalid: 400,
  method_not_allowed: 405,
  ip_denied: 403,
  no_api: 403,
  credential_missing: 401,
  credential_ambiguous: 400,
  credential_malformed: 401,
  token_invalid: 401,
  token_expired: 401,
  key_unknown: 401,
  key_disabled: 401,
  key_expired: 401,
  credential_ip_denied: 403,
  permission_insufficient: 403,
}

describe('the outcome catalogue', () => {
  it('has a row for every SPEC §3 reason of the DenyReason union, counted under its own name', () => {
    const union = /export type DenyReason =([^]*?)\n\n/.exec(read('src/outcome/catalogue.ts'))?.[1] ?? ''
    const declared = [...union.matchAll(/'([a-z_]+)'/g)].map((m) => m[1])
    assert.ok(declared.length >= 14, 'the union was read')
    assert.deepEqual([...DENY_REASONS].sort(), declared.sort())
    for (const reason of declared) assert.equal(OUTCOMES[reason as OutcomeCode].metricReason, reason)
    for (const [reason, status] of Object.entries(SPEC_STATUS)) assert.equal(OUTCOMES[reason as OutcomeCode].status, status, reason)
  })

  it('has every row produced somewhere in src/ outside the catalogue', () => {
    const src = sourceFiles('src')
      .filter((f) => !f.startsWith(path.join('src', 'outcome')))
      .map(read)
      .join('\n')
    for (const code of OUTCOME_CODES) {
      // upstream_* rows are named by their kind (server/upstream-errors.ts builds `upstream_${kind}`).
      const literal = code.startsWith('upstream_') ? `failure('${code.slice('upstream_'.length)}')` : `'${code}'`
      assert.ok(src.includes(literal), `${code}: no ${literal} in src/`)
    }
  })

  it('has every row reached by a named test, or saying why it cannot be', () => {
    for (const code of OUTCOME_CODES) {
      const reach = REACHED[code]
      if ('defensive' in reach) {
        assert.ok(reach.defensive.length > 20, code)
        continue
      }
      const text = read(reach.test)
      assert.ok(text.includes(reach.title), `${code}: ${reach.test} has no test "${reach.title}"`)
    }
  })
})

describe('answer()', () => {
  it('is an RFC 9457 problem with the row status, title and type, the detail, and the request as instance', () => {
    const a = answer('ip_denied', { detail: 'not from here', requestId: 'r-1' })
    assert.equal(a.status, 403)
    assert.equal(a.headers['content-type'], 'application/problem+json')
    assert.equal(a.headers['x-request-id'], 'r-1')
    assert.equal(a.headers['cache-control'], 'no-store')
    assert.equal(a.headers['content-length'], String(Buffer.byteLength(a.body)))
    assert.deepEqual(JSON.parse(a.body), {
      type: 'https://gatehouse.dev/problems/ip_denied',
      title: OUTCOMES.ip_denied.title,
      status: 403,
      detail: 'not from here',
      instance: 'urn:gatehouse:request:r-1',
    })
  })

  it('challenges a 401 without a credential with both schemes and no error code (RFC 6750 §3.1)', () => {
    assert.equal(answer('credential_missing').headers['www-authenticate'], 'Bearer realm="gatehouse", ApiKey realm="gatehouse"')
  })

  it('challenges a bad token with Bearer error="invalid_token" (RFC 6750 §3.1)', () => {
    assert.match(answer('token_expired').headers['www-authenticate'] ?? '', /^Bearer realm="gatehouse", error="invalid_token"/)
  })

  it('shows every API-key failure as one problem type, so no answer tells which keys exist', () => {
    const types = new Set(['key_malformed', 'key_unknown', 'key_disabled', 'key_expired'].map((r) => JSON.parse(answer(r as OutcomeCode).body).type))
    assert.deepEqual([...types], ['https://gatehouse.dev/problems/key_invalid'])
  })

  it('tells a temporary refusal when to come back (RFC 9110 §10.2.3)', () => {
    assert.equal(answer('store_unavailable').headers['retry-after'], '1')
    assert.equal(answer('ip_denied').headers['retry-after'], undefined)
  })

  it('is the RFC 6749 §5.2 object under /oauth, with the status of its row', () => {
    const a = answer('oauth_invalid_client', { detail: 'client authentication failed', headers: { 'www-authenticate': 'Basic realm="gatehouse"' } })
    assert.equal(a.status, 401)
    assert.deepEqual(JSON.parse(a.body), { error: 'invalid_client', error_description: 'client authentication failed' })
    assert.equal(a.headers['www-authenticate'], 'Basic realm="gatehouse"')
    assert.equal(answer('oauth_too_many_attempts').status, 429)
    assert.equal(JSON.parse(answer('oauth_method_not_allowed').body).error, 'invalid_request')
  })

  it('is an empty, closing answer at the wire level', () => {
    const a = answer('wire_connect', { close: true })
    assert.equal(a.status, 405)
    assert.equal(a.body, '')
    assert.equal(a.headers['content-length'], '0')
    assert.equal(a.headers.connection, 'close')
  })
})
