// The clientsFile's shape (SPEC §6), for `npm run generate:validators` and the types;
// clients.ts validates with the generated clients-validator.ts.
import { Type, type Static } from '@sinclair/typebox'

const DEFAULT_TTL = 'PT1H'

export const ClientSchema = Type.Object(
  {
    // RFC 6749 unreserved characters only, so the id reads the same in a form body,
    // in form-encoded Basic (§2.3.1) and in a log line.
    clientId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._~-]+$' }),
    secretHash: Type.String({ minLength: 1 }),
    permissions: Type.Record(Type.String({ minLength: 1 }), Type.Union([Type.Literal('none'), Type.Literal('r'), Type.Literal('rw')]), {
      default: {},
    }),
    ttl: Type.String({ minLength: 1, default: DEFAULT_TTL, description: 'ISO 8601 PnDTnHnMnS lifetime of the tokens issued' }),
    canIntrospect: Type.Boolean({ default: false, description: 'a resource server: may introspect any token, not only its own (SPEC §11)' }),
  },
  { additionalProperties: false },
)
export const ClientsFileSchema = Type.Object({ clients: Type.Array(ClientSchema, { default: [] }) }, { additionalProperties: false })

export type ClientsFile = Static<typeof ClientsFileSchema>
