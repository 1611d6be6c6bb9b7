// Request and response schemas of the token service (SPEC §6): the same objects
// validate requests (Ajv, unknown fields refused) and describe the API in OpenAPI.
import { Type, type Static } from '@sinclair/typebox'

const Level = Type.Union([Type.Literal('none'), Type.Literal('r'), Type.Literal('rw')])
export const PermissionsBody = Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]+$', maxLength: 128 }), Level, {
  description: 'API name -> none | r | rw, e.g. {"users": "rw", "sessions": "r"}',
  maxProperties: 256,
})
const UserName = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._@-]+$', description: 'a user of the users file' })
const Duration = Type.String({ minLength: 2, maxLength: 40, description: 'ISO 8601 duration PnDTnHnMnS, e.g. PT1H or P30D' })
const Cidrs = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 100, description: 'IPv4/IPv6 addresses or CIDR ranges' })
// No control characters, as the key store requires (keystore/key-record.ts): otherwise a 500 at store time.
const Description = Type.String({ maxLength: 1024, pattern: '^[^\\x00-\\x1f\\x7f-\\x9f]*$', description: 'text, no control characters' })

export const JwtRequest = Type.Object(
  {
    targetUser: Type.Optional(UserName),
    expires: Type.Optional(Duration),
    permissions: PermissionsBody,
  },
  // Swagger UI pre-fills "Try it out" with the example; a generated one ("expires": "string") is a 400.
  { additionalProperties: false, examples: [{ permissions: { users: 'r' }, expires: 'PT15M' }] },
)
export type JwtRequest = Static<typeof JwtRequest>

export const JwtResponse = Type.Object({
  token: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresAt: Type.String({ format: 'date-time' }),
  expiresIn: Type.Integer({ description: 'seconds' }),
})

export const ApiKeyCreateRequest = Type.Object(
  {
    targetUser: Type.Optional(UserName),
    expires: Type.Optional(Duration),
    permissions: PermissionsBody,
    description: Type.Optional(Description),
    ipFilter: Type.Optional(Cidrs),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, examples: [{ permissions: { users: 'r' }, description: 'laptop', expires: 'P30D' }] },
)
export type ApiKeyCreateRequest = Static<typeof ApiKeyCreateRequest>

export const ApiKeyPatchRequest = Type.Object(
  {
    description: Type.Optional(Description),
    enabled: Type.Optional(Type.Boolean()),
    ipFilter: Type.Optional(Cidrs),
    expires: Type.Optional(Type.Union([Duration, Type.Null()], { description: 'new lifetime from now, or null for none' })),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ enabled: false }] },
)
export type ApiKeyPatchRequest = Static<typeof ApiKeyPatchRequest>

export const ApiKeyIds = Type.Array(Type.String({ pattern: '^[A-Za-z0-9]{12}$' }), { minItems: 1, maxItems: 1000, uniqueItems: true })

export const ApiKeyView = Type.Object({
  id: Type.String(),
  user: Type.String(),
  actor: Type.Optional(Type.String()),
  parentKeyId: Type.Optional(Type.String({ description: 'the API key this key was minted with' })),
  description: Type.String(),
  permissions: PermissionsBody,
  ipFilter: Type.Array(Type.String()),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  enabled: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
})

export const ApiKeyCreated = Type.Intersect([Type.Object({ key: Type.String({ description: 'shown only this once' }) }), ApiKeyView])

export const Problem = Type.Object(
  { type: Type.String(), title: Type.String(), status: Type.Integer(), detail: Type.String() },
  { additionalProperties: true },
)

export const OAuthForm = Type.Object(
  {
    grant_type: Type.String({ description: 'client_credentials', examples: ['client_credentials'] }),
    scope: Type.Optional(Type.String({ description: 'space-separated api:level, e.g. "users:r"; empty: all the client holds', examples: [''] })),
    client_id: Type.Optional(Type.String({ description: 'only without ClientBasicAuth', examples: [''] })),
    client_secret: Type.Optional(Type.String({ description: 'only without ClientBasicAuth', examples: [''] })),
  },
  { additionalProperties: true },
)

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  scope: Type.String(),
})

export const IntrospectForm = Type.Object(
  { token: Type.String({ examples: [''] }), token_type_hint: Type.Optional(Type.String({ examples: [''] })) },
  { additionalProperties: true },
)

export const TokenInfo = Type.Object(
  {
    active: Type.Boolean(),
    user: Type.Optional(Type.String()),
    actor: Type.Optional(Type.String()),
    method: Type.Optional(Type.Union([Type.Literal('jwt'), Type.Literal('apikey')])),
    credential_id: Type.Optional(Type.String()),
    parent_key_id: Type.Optional(Type.String({ description: 'the API key this credential was minted with; it lives no longer than that key' })),
    subject_type: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('client')])),
    issuer: Type.Optional(Type.String()),
    expire_time: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
    permissions: Type.Optional(PermissionsBody),
  },
  { additionalProperties: true },
)

/** RFC 8414 §2 authorization-server metadata (SPEC §11). */
export const ServerMetadata = Type.Object(
  {
    issuer: Type.String(),
    token_endpoint: Type.String({ format: 'uri' }),
    token_endpoint_auth_methods_supported: Type.Array(Type.String()),
    introspection_endpoint: Type.String({ format: 'uri' }),
    introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
    jwks_uri: Type.String({ format: 'uri' }),
    grant_types_supported: Type.Array(Type.String()),
    response_types_supported: Type.Array(Type.String()),
    access_token_signing_alg_values_supported: Type.Array(Type.String()),
    service_documentation: Type.String({ format: 'uri' }),
  },
  { additionalProperties: true },
)

/** RFC 6749 §5.2 error answer of the OAuth endpoints. */
export const OAuthErrorBody = Type.Object(
  {
    error: Type.Union(
      ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope'].map((e) => Type.Literal(e)),
    ),
    error_description: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
)

/** RFC 7517 §5 JWK Set of the public signing keys. */
export const JwksBody = Type.Object(
  { keys: Type.Array(Type.Object({ kty: Type.String(), kid: Type.String(), alg: Type.String(), use: Type.String() }, { additionalProperties: true })) },
  { additionalProperties: true },
)
