// SPEC §2 `issuer:`: the token service (SPEC §6). Absent: no token service.
import { Type } from '@sinclair/typebox'
import { Duration, FilePath, Strict } from './schema-common.js'

export const IssuerServiceSchema = Type.Object(
  {
    prefix: Type.String({ pattern: '^/[^?#]*[^/?#]$', default: '/_gatehouse' }),
    name: Type.String({ minLength: 1, default: 'gatehouse' }),
    signingKeyFile: Type.Optional(FilePath),
    previousKeyFiles: Type.Array(FilePath, {
      default: [],
      description: 'keys of earlier signing keys, still accepted for verification after a rotation',
    }),
    usersFile: Type.Optional(FilePath),
    clientsFile: Type.Optional(FilePath),
    jwtMaxTtl: Type.String({ ...Duration, default: 'P1D' }),
    jwtDefaultTtl: Type.String({ ...Duration, default: 'PT1H' }),
    impersonationMaxTtl: Type.String({
      ...Duration,
      default: 'PT15M',
      description: 'longest lifetime of a JWT or API key minted with targetUser (acting for someone else)',
    }),
    apiKeyMaxTtl: Type.String({
      ...Duration,
      default: 'P3650D',
      description: 'longest `expires` of an API key made through the token service (at most P36500D, which also bounds `keys create`)',
    }),
    maxKeysPerUser: Type.Integer({ minimum: 1, default: 100, description: 'most API keys one user may hold; more -> 409' }),
  },
  Strict,
)
