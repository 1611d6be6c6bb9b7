// The JWS algorithms an issuer may list (SPEC §2 jwt.issuers[].algorithms). Apart
// from schema.ts so that the verifier can read them without loading the schema
// builder at start-up (issue 17).
export const JWT_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
  'HS256', 'HS384', 'HS512',
] as const
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number]
