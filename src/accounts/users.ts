// usersFile (SPEC §6): who may hold what. The proxy needs it for SPEC §3.7 — a
// credential never does more than its user is allowed *now* — so a lowered user
// lowers their existing tokens and keys at once, without re-issuing them.
import { readFile } from 'node:fs/promises'
import { Type, type Static } from '@sinclair/typebox'
import { Ajv } from 'ajv'
import { parse as parseYaml } from 'yaml'
import type { Permissions } from '../credentials/permissions.js'
import type { Checked } from '../config/problem.js'

const UserSchema = Type.Object(
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
const UsersFileSchema = Type.Object({ users: Type.Array(UserSchema, { default: [] }) }, { additionalProperties: false })
const validate = new Ajv({ allErrors: true, useDefaults: true }).compile<Static<typeof UsersFileSchema>>(UsersFileSchema)

export interface User {
  readonly name: string
  readonly passwordHash: string
  readonly permissions: Permissions
  readonly admin: boolean
  readonly canImpersonate: boolean
}

export interface UserDirectory {
  get(name: string): User | undefined
  readonly size: number
}

export async function loadUsersFile(file: string): Promise<Checked<UserDirectory>> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    return { ok: false, problems: [{ path: 'issuer.usersFile', message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` }] }
  }
  let data: unknown
  try {
    data = parseYaml(text) ?? {}
  } catch (err) {
    return { ok: false, problems: [{ path: 'issuer.usersFile', message: `YAML: ${(err as Error).message.split('\n')[0]}` }] }
  }
  if (!validate(data)) {
    return {
      ok: false,
      problems: (validate.errors ?? []).map((e) => ({ path: `usersFile${e.instancePath.replace(/\//g, '.')}`, message: e.message ?? 'invalid' })),
    }
  }
  const map = new Map<string, User>()
  for (const [i, u] of data.users.entries()) {
    if (map.has(u.name)) return { ok: false, problems: [{ path: `usersFile.users[${i}].name`, message: `user "${u.name}" is listed twice` }] }
    map.set(u.name, Object.freeze({ ...u, permissions: Object.freeze({ ...u.permissions }) }))
  }
  return { ok: true, value: { get: (name) => map.get(name), size: map.size } }
}
