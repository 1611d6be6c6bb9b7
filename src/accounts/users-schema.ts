// The usersFile's shape (SPEC §6), for `npm run generate:validators` and the types;
// users.ts validates with the generated users-validator.ts.
import { Type, type Static } from '@sinclair/typebox'

export const UserSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._@-]+$' }),
    passwordHash: Type.String({ minLength: 1 }),
    permissions: Type.Record(Type.String({ minLength: 1 }), Type.Union([Type.Literal('none'), Type.Literal('r'), Type.Literal('rw')]), {
      default: {},
    }),
    admin: Type.Boolean({ default: false }),
    canImpersonate: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
)
export const UsersFileSchema = Type.Object({ users: Type.Array(UserSchema, { default: [] }) }, { additionalProperties: false })

export type UsersFile = Static<typeof UsersFileSchema>
