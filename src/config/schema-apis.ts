// SPEC §2 `apis:`: the APIs behind Gatehouse, each a set of path prefixes.
import { Type } from '@sinclair/typebox'
import { Strict } from './schema-common.js'

export const ApiSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9_.-]+$' }),
    prefixes: Type.Array(Type.String({ minLength: 1, pattern: '^/' }), { minItems: 1 }),
    public: Type.Boolean({ default: false, description: 'no credential needed' }),
    maxBodyBytes: Type.Optional(
      Type.Integer({ minimum: 0, description: 'largest request body for this API, in bytes (-> 413); default limits.maxBodyBytes' }),
    ),
  },
  Strict,
)
