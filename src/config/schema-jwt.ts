// SPEC §2 `jwt:`: the JWT issuers Gatehouse accepts tokens from (SPEC §5, §9).
import { JWT_ALGORITHMS } from './jwt-algorithms.js'
import { Type } from '@sinclair/typebox'
import { Duration, HEADER_NAME_PATTERN, PermissionsSchema, Strict } from './schema-common.js'

export { JWT_ALGORITHMS, type JwtAlgorithm } from './jwt-algorithms.js'

// A dotted path (`realm_access.roles`), or its segments when a claim's own name holds a dot (SPEC §12).
const ClaimPath = Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
  description: 'a dotted claim path (realm_access.roles) or a list of path segments (["https://example.com/roles"])',
})

const IssuerSchema = Type.Object(
  {
    issuer: Type.String({ minLength: 1, description: 'the exact `iss` claim of this issuer' }),
    audience: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
        description: 'required `aud` value(s); tokens without one of them are refused',
      }),
    ),
    jwksUri: Type.Optional(Type.String({ minLength: 1, description: 'https:// (or http:// on loopback) JWKS endpoint' })),
    publicKeyFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM public key, or a JWKS JSON file' })),
    secretEnv: Type.Optional(Type.String({ minLength: 1, description: 'environment variable holding the HS* secret' })),
    algorithms: Type.Optional(
      Type.Array(Type.Union(JWT_ALGORITHMS.map((a) => Type.Literal(a))), {
        minItems: 1,
        uniqueItems: true,
        description: 'accepted `alg` values; default RS256 (HS256 for secretEnv)',
      }),
    ),
    requiredType: Type.Optional(
      Type.String({ minLength: 1, description: 'required `typ` header, e.g. at+jwt (RFC 9068); default none required' }),
    ),
    scopeMap: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), PermissionsSchema, {
        description: 'scope string -> permissions it grants, for tokens without a permissions claim',
      }),
    ),
    discovery: Type.Optional(
      Type.Boolean({
        description:
          'read jwks_uri from <issuer>/.well-known/openid-configuration (then the RFC 8414 document); its issuer must equal this one (SPEC §9)',
      }),
    ),
    userClaim: Type.Optional(
      Type.String({ minLength: 1, description: 'the claim that names the user (default sub): preferred_username, oid, email…' }),
    ),
    maxLifetime: Type.Optional(
      Type.String({ ...Duration, description: 'a token whose exp lies further ahead than this (+ leeway) is refused; default P1D' }),
    ),
    permissions: Type.Optional(
      Type.Array(
        Type.Object(
          {
            claim: ClaimPath,
            map: Type.Optional(
              Type.Record(Type.String({ minLength: 1 }), PermissionsSchema, {
                description: 'claim value -> permissions it grants; without map the claim is a permissions object',
              }),
            ),
          },
          Strict,
        ),
        { minItems: 1, description: 'where permissions come from; the union of what every source grants (SPEC §9)' },
      ),
    ),
    claimHeaders: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1, pattern: HEADER_NAME_PATTERN }), {
        description: 'claim (dotted path) -> identity header that carries its value; names start with identityHeaders.prefix',
      }),
    ),
    jwksCacheSeconds: Type.Integer({ minimum: 10, default: 300, description: 'how often a JWKS is refreshed in the background' }),
    jwksCooldownSeconds: Type.Integer({
      minimum: 1,
      default: 30,
      description: 'at most one refetch per this many seconds for an unknown kid',
    }),
  },
  Strict,
)

export const JwtSchema = Type.Object(
  {
    leewaySeconds: Type.Integer({ minimum: 0, maximum: 300, default: 30 }),
    issuers: Type.Array(IssuerSchema, { default: [] }),
    waitForKeys: Type.Boolean({
      default: false,
      description: '/readyz answers 503 until every remote issuer\'s keys were loaded once (issuers with discovery always wait)',
    }),
  },
  { ...Strict, default: {} },
)
