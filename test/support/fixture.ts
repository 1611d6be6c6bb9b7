// The standard e2e setup: a recording upstream, a JWKS IdP, and Gatehouse in front
// with three issuers (PEM file, remote JWKS, HS256 secret), three APIs and
// address rules that tests reach through X-Forwarded-For from a trusted loopback peer.
import { makeKeyPair, jwksOf, mintJwt, bytes, type TestKey } from './mint.js'
import { startJwksServer, type JwksServer } from './jwks-server.js'
import { startRecordingUpstream, type RecordingUpstream } from './recording-upstream.js'
import { request, type Reply } from './http.js'
import { presets, startTestGatehouse, type TestGatehouse } from './gatehouse.js'
import type { JWTPayload } from 'jose'

export const HS_SECRET = 'an-hs256-secret-of-at-least-32-bytes-for-tests!'

export interface Fixture {
  readonly upstream: RecordingUpstream
  readonly idp: JwksServer
  readonly gh: TestGatehouse
  readonly rsa: TestKey
  readonly ec: TestKey
  /** POSIX seconds, now. */
  now(): number
  /** A valid RS256 token of `test-idp` for alice with users:rw unless overridden. */
  token(claims?: JWTPayload, header?: Record<string, unknown>): Promise<string>
  ecToken(claims?: JWTPayload, header?: Record<string, unknown>): Promise<string>
  hsToken(claims?: JWTPayload): Promise<string>
  close(): Promise<void>
}

export async function startFixture(extraConfig: Record<string, unknown> = {}): Promise<Fixture> {
  const upstream = await startRecordingUpstream()
  const rsa = await makeKeyPair('RS256', 'rsa-1')
  const ec = await makeKeyPair('ES256', 'ec-1')
  const idp = await startJwksServer({ keys: jwksOf(ec) })
  const gh = await startTestGatehouse(
    {
      listen: '[::]:0',
      ...presets.proxy(
        upstream.url,
        [
          { name: 'users', prefixes: ['/api/v1/users', '/api/v1/roles'] },
          { name: 'sessions', prefixes: ['/api/v1/sessions'] },
          { name: 'version', prefixes: ['/api/v1/version'], public: true },
        ],
        { timeoutMs: 1500, connectTimeoutMs: 1000 },
      ),
      ...presets.trustLoopback,
      ipFilter: { allow: [], deny: ['198.51.100.0/24', '2001:db8:bad::/48'] },
      jwt: {
        leewaySeconds: 30,
        issuers: [
          { issuer: 'test-idp', audience: 'legacy-api', publicKeyFile: './idp.pub', algorithms: ['RS256'] },
          { issuer: 'jwks-idp', jwksUri: idp.url, algorithms: ['ES256'], jwksCooldownSeconds: 30 },
          { issuer: 'hs-app', secretEnv: 'GH_TEST_HS_SECRET', algorithms: ['HS256'] },
        ],
      },
      ...extraConfig,
    },
    { files: { 'idp.pub': rsa.publicPem }, env: { ...process.env, GH_TEST_HS_SECRET: HS_SECRET } },
  )
  const now = () => Math.floor(Date.now() / 1000)
  const base = (): JWTPayload => ({ sub: 'alice', iat: now(), exp: now() + 600, jti: `jti-${Math.random().toString(36).slice(2)}` })
  return {
    upstream,
    idp,
    gh,
    rsa,
    ec,
    now,
    token: (claims = {}, header = {}) =>
      mintJwt({ iss: 'test-idp', aud: 'legacy-api', permissions: { users: 'rw' }, ...base(), ...claims }, rsa, header),
    ecToken: (claims = {}, header = {}) => mintJwt({ iss: 'jwks-idp', permissions: { users: 'rw' }, ...base(), ...claims }, ec, header),
    hsToken: (claims = {}) => mintJwt({ iss: 'hs-app', permissions: { users: 'rw' }, ...base(), ...claims }, bytes(HS_SECRET)),
    async close() {
      await gh.close()
      await idp.stop()
      await upstream.close()
    },
  }
}

/** A request through Gatehouse, as if from `clientIp` behind the trusted loopback proxy when given. */
export function call(
  f: Fixture,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; clientIp?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...init.headers }
  if (init.clientIp) headers['x-forwarded-for'] = init.clientIp
  return request(f.gh.url.replace('[::]', '127.0.0.1') + path, { method: init.method ?? 'GET', headers, body: init.body ?? null })
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
