// Token shapes of common identity providers, as they issue them (claims copied from
// each provider's documentation and real tokens, values made up), for the recipes in
// deploy/examples/idp/. `expect` is what the recipe's mapping grants, read off the
// example file and the README table by hand: never computed by the code under test.
import type { JWTPayload } from 'jose'

export interface IdpCase {
  readonly name: string
  readonly header?: Record<string, unknown>
  /** Claims without iat/exp (added at mint time: now, now + lifetime). */
  readonly claims: JWTPayload
  readonly lifetimeSeconds?: number
  readonly method?: 'GET' | 'POST'
  readonly path?: string
  readonly status: 200 | 401 | 403
  /** Identity headers the upstream must see (200 only); null = must be absent. */
  readonly headers?: Readonly<Record<string, string | null>>
}

export interface IdpRecipe {
  readonly file: string
  readonly cases: readonly IdpCase[]
}

const KEYCLOAK_ISS = 'https://sso.example.com/realms/shop'
const keycloak = (over: JWTPayload): JWTPayload => ({
  iss: KEYCLOAK_ISS,
  aud: ['legacy-api', 'account'],
  sub: '5b1f0e4c-8a7d-4f2e-9c3b-6d5a4e3f2a1b',
  typ: 'Bearer',
  azp: 'legacy-web',
  jti: 'onrtac:1f0e4c8a-7d4f',
  session_state: '2c9a8b7d',
  scope: 'openid email profile',
  email_verified: true,
  preferred_username: 'alice',
  email: 'alice@example.com',
  ...over,
})

const AUTH0_ISS = 'https://shop.eu.auth0.com/'
const auth0 = (over: JWTPayload): JWTPayload => ({
  iss: AUTH0_ISS,
  sub: 'auth0|65f1c2d3e4b5a69788796a5b',
  aud: ['https://api.shop.example', 'https://shop.eu.auth0.com/userinfo'],
  azp: 'Xk3h7QpL2mN9vB4cR8tY1wZ6',
  scope: 'openid profile email',
  ...over,
})

const OKTA_ISS = 'https://shop.okta.com/oauth2/default'
const okta = (over: JWTPayload): JWTPayload => ({
  ver: 1,
  jti: 'AT.x1y2z3-okta',
  iss: OKTA_ISS,
  aud: 'api://default',
  cid: '0oa1b2c3d4e5f6g7h8i9',
  uid: '00u1a2b3c4d5e6f7g8h9',
  sub: 'alice@example.com',
  ...over,
})

const ENTRA_TENANT = '7f3a5c2e-1d4b-4e8a-9b6c-0a1b2c3d4e5f'
const ENTRA_ISS = `https://login.microsoftonline.com/${ENTRA_TENANT}/v2.0`
const ENTRA_API = '3c1e9a7b-5d2f-4c8e-a6b0-9f8e7d6c5b4a'
// Entra ID carries `uti`, never `jti`.
const entra = (over: JWTPayload): JWTPayload => ({
  aud: ENTRA_API,
  iss: ENTRA_ISS,
  azp: 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d',
  azpacr: '1',
  tid: ENTRA_TENANT,
  uti: 'kX3bQ9mZ2UyVwT1sR0pOAA',
  ver: '2.0',
  ...over,
})

const DEX_ISS = 'https://dex.example.com'
const dex = (over: JWTPayload): JWTPayload => ({
  iss: DEX_ISS,
  sub: 'CgVhbGljZRIEbGRhcA',
  aud: 'legacy-api',
  at_hash: 'b9kJ5lP1qR3sT7uV',
  c_hash: 'x0Yw2Zv4',
  email: 'alice@example.com',
  email_verified: true,
  groups: ['shop-staff', 'ops'],
  name: 'Alice',
  ...over,
})

const GOOGLE_ISS = 'https://accounts.google.com'
const google = (over: JWTPayload): JWTPayload => ({
  iss: GOOGLE_ISS,
  azp: '109876543210987654321',
  aud: 'https://legacy-api.shop.example',
  sub: '109876543210987654321',
  email: 'batch@shop-project.iam.gserviceaccount.com',
  email_verified: true,
  ...over,
})

export const IDP_RECIPES: readonly IdpRecipe[] = [
  {
    file: 'keycloak.yaml',
    cases: [
      {
        name: 'realm and client roles, user from preferred_username, email header',
        header: { typ: 'JWT' },
        claims: keycloak({
          realm_access: { roles: ['user-viewer', 'offline_access', 'default-roles-shop'] },
          resource_access: { 'legacy-api': { roles: ['sessions-reader'] }, account: { roles: ['manage-account'] } },
        }),
        status: 200,
        headers: {
          'x-auth-user': 'alice',
          'x-auth-permissions': 'sessions:r users:r',
          'x-auth-email': 'alice@example.com',
          'x-auth-credential-id': 'onrtac:1f0e4c8a-7d4f',
          'x-auth-issuer': KEYCLOAK_ISS,
        },
      },
      { name: 'the user-viewer role may not write', header: { typ: 'JWT' }, claims: keycloak({ realm_access: { roles: ['user-viewer'] } }), method: 'POST', status: 403 },
      { name: 'the user-admin role writes', header: { typ: 'JWT' }, claims: keycloak({ realm_access: { roles: ['user-admin'] } }), method: 'POST', status: 200 },
      {
        name: 'a permissions claim cannot widen the mapping',
        header: { typ: 'JWT' },
        claims: keycloak({ realm_access: { roles: ['offline_access'] }, permissions: { users: 'rw', sessions: 'rw' } }),
        status: 403,
      },
      { name: 'an ID token (aud is the client) is refused', header: { typ: 'JWT' }, claims: keycloak({ aud: 'legacy-web', typ: 'ID', realm_access: { roles: ['user-admin'] } }), status: 401 },
      { name: 'without preferred_username: 401', header: { typ: 'JWT' }, claims: keycloak({ preferred_username: undefined, realm_access: { roles: ['user-admin'] } }), status: 401 },
      {
        name: 'a non-ASCII email is percent-encoded',
        header: { typ: 'JWT' },
        claims: keycloak({ email: 'zoë@example.com', realm_access: { roles: ['user-viewer'] } }),
        status: 200,
        headers: { 'x-auth-email': 'zo%C3%AB@example.com' },
      },
    ],
  },
  {
    file: 'auth0.yaml',
    cases: [
      {
        name: 'RBAC permissions list; an unmapped permission grants nothing',
        claims: auth0({ permissions: ['read:users', 'delete:everything'] }),
        status: 200,
        headers: { 'x-auth-user': 'auth0|65f1c2d3e4b5a69788796a5b', 'x-auth-permissions': 'users:r', 'x-auth-credential-id': null },
      },
      { name: 'read:users may not write', claims: auth0({ permissions: ['read:users'] }), method: 'POST', status: 403 },
      { name: 'not read:sessions: no sessions', claims: auth0({ permissions: ['read:users'] }), path: '/api/v1/sessions', status: 403 },
      { name: 'write:users writes', claims: auth0({ permissions: ['write:users'] }), method: 'POST', status: 200 },
      { name: 'the issuer without its trailing slash is another issuer', claims: auth0({ iss: 'https://shop.eu.auth0.com', permissions: ['write:users'] }), status: 401 },
      { name: 'a permissions object (not a list) grants nothing: 401', claims: auth0({ permissions: { users: 'rw' } }), status: 401 },
      { name: 'another API identifier: 401', claims: auth0({ aud: 'https://other.shop.example', permissions: ['write:users'] }), status: 401 },
    ],
  },
  {
    file: 'okta.yaml',
    cases: [
      {
        name: 'scp list through scopeMap',
        claims: okta({ scp: ['users.read', 'sessions.read', 'offline_access'] }),
        status: 200,
        headers: { 'x-auth-user': 'alice@example.com', 'x-auth-permissions': 'sessions:r users:r', 'x-auth-credential-id': 'AT.x1y2z3-okta' },
      },
      { name: 'an unmapped scope grants nothing', claims: okta({ scp: ['admin'] }), status: 403 },
      { name: 'a token valid for ten years is refused (maxLifetime P1D)', claims: okta({ scp: ['users.write'] }), lifetimeSeconds: 10 * 365 * 86_400, status: 401 },
    ],
  },
  {
    file: 'entra-id.yaml',
    cases: [
      {
        name: 'delegated: scp string, user is the oid, no jti so no credential id',
        header: { typ: 'JWT' },
        claims: entra({
          scp: 'Users.Read',
          oid: '9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a',
          sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
          name: 'Alice',
          preferred_username: 'alice@shop.example',
        }),
        status: 200,
        headers: { 'x-auth-user': '9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a', 'x-auth-permissions': 'users:r', 'x-auth-credential-id': null },
      },
      {
        name: 'app-only: roles, no scp',
        header: { typ: 'JWT' },
        claims: entra({ roles: ['Users.ReadWrite.All'], idtyp: 'app', oid: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d', sub: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d' }),
        method: 'POST',
        status: 200,
        headers: { 'x-auth-user': '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d', 'x-auth-permissions': 'users:rw' },
      },
      { name: 'a delegated scope name in roles grants nothing', header: { typ: 'JWT' }, claims: entra({ roles: ['Users.Read'], oid: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d' }), status: 403 },
      { name: 'without oid: 401', header: { typ: 'JWT' }, claims: entra({ scp: 'Users.Read', sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ' }), status: 401 },
    ],
  },
  {
    file: 'dex.yaml',
    cases: [
      {
        name: 'groups; user from email; email and groups headers',
        claims: dex({}),
        status: 200,
        headers: { 'x-auth-user': 'alice@example.com', 'x-auth-permissions': 'users:r', 'x-auth-email': 'alice@example.com', 'x-auth-groups': 'shop-staff,ops' },
      },
      { name: 'shop-admins write users and read sessions', claims: dex({ groups: ['shop-admins'] }), path: '/api/v1/sessions', status: 200, headers: { 'x-auth-permissions': 'sessions:r users:rw' } },
      { name: 'no mapped group: 403', claims: dex({ groups: ['ops'] }), status: 403 },
      { name: 'groups of the wrong shape grant nothing: 401', claims: dex({ groups: 7 }), status: 401 },
    ],
  },
  {
    file: 'google.yaml',
    cases: [
      {
        name: 'a Google-signed ID token for this audience, from a listed account',
        header: { typ: 'JWT' },
        claims: google({}),
        lifetimeSeconds: 3600,
        status: 200,
        headers: { 'x-auth-user': 'batch@shop-project.iam.gserviceaccount.com', 'x-auth-permissions': 'users:r' },
      },
      { name: 'another audience: 401', header: { typ: 'JWT' }, claims: google({ aud: '32555940559.apps.googleusercontent.com' }), lifetimeSeconds: 3600, status: 401 },
      { name: 'an account not listed: 403', header: { typ: 'JWT' }, claims: google({ email: 'someone@gmail.com' }), lifetimeSeconds: 3600, status: 403 },
      { name: 'longer than its maxLifetime PT1H: 401', header: { typ: 'JWT' }, claims: google({}), lifetimeSeconds: 7200, status: 401 },
    ],
  },
]
