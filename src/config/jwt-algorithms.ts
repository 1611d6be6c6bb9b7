// The JWS algorithms an issuer may list (SPEC §2 jwt.issuers[].algorithms), and the
// default maxLifetime. Apart from schema.ts so that the verifier can read them without
// loading the schema builder at start-up, and from verify-jwt.ts so that compiling a
// config without JWT issuers does not load jose (issue 17).
export const JWT_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
  'HS256', 'HS384', 'HS512',
] as const
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number]

/** SPEC §12: jwt.issuers[].maxLifetime defaults to P1D. */
export const DEFAULT_MAX_LIFETIME_SECONDS = 86_400
