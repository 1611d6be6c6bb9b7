// usersFile (SPEC §6): who may hold what. The proxy needs it for SPEC §3.7 — a
// credential never does more than its user is allowed *now* — so a lowered user
// lowers their existing tokens and keys at once, without re-issuing them.
import { readFile } from 'node:fs/promises'
import type { ErrorObject, ValidateFunction } from 'ajv'
import generatedValidate from './users-validator.js'
import type { UsersFile } from './users-schema.js'
import { parse as parseYaml } from 'yaml'
import type { Permissions } from '../credentials/permissions.js'
import type { Checked, Problem } from '../config/problem.js'
import { hashCost, isSupportedHash } from './password-hash.js'

// Generated from users-schema.ts (npm run generate:validators): no schema compiler at start-up.
const validate = (): ValidateFunction<UsersFile> => generatedValidate as unknown as ValidateFunction<UsersFile>

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
  /**
   * A hash with the algorithm and cost most users' hashes have, for
   * `dummyVerify(secret, dummyHash)` on an unknown name (attack #81).
   */
  readonly dummyHash?: string | undefined
}

export async function loadUsersFile(file: string): Promise<Checked<UserDirectory>> {
  const data = await readYaml(file, 'issuer.usersFile')
  if (!data.ok) return data
  const check = validate()
  if (!check(data.value)) return { ok: false, problems: schemaProblems('usersFile', check.errors) }
  const problems: Problem[] = []
  const map = new Map<string, User>()
  for (const [i, u] of data.value.users.entries()) {
    if (map.has(u.name)) problems.push({ path: `usersFile.users[${i}].name`, message: `user "${u.name}" is listed twice` })
    if (!isSupportedHash(u.passwordHash)) problems.push({ path: `usersFile.users[${i}].passwordHash`, message: UNSUPPORTED_HASH })
    map.set(u.name, Object.freeze({ ...u, permissions: Object.freeze({ ...u.permissions }) }))
  }
  if (problems.length > 0) return { ok: false, problems }
  const dummyHash = typicalHash([...map.values()].map((u) => u.passwordHash))
  return { ok: true, value: Object.freeze({ get: (name: string) => map.get(name), size: map.size, dummyHash }) }
}

export const UNSUPPORTED_HASH =
  'is not a supported hash: expected $scrypt$… from `gatehouse hash-secret`, or bcrypt $2a$/$2b$/$2y$ with a cost from 04 to 15'

/** The YAML document of an accounts file, or one problem located at the config key that names the file. */
export async function readYaml(file: string, configPath: string): Promise<Checked<unknown>> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    return { ok: false, problems: [{ path: configPath, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` }] }
  }
  try {
    return { ok: true, value: parseYaml(text) ?? {} }
  } catch (err) {
    return { ok: false, problems: [{ path: configPath, message: `YAML: ${(err as Error).message.split('\n')[0]}` }] }
  }
}

/** Ajv errors as problems with paths like `usersFile.users[0].passwordHash`. */
export function schemaProblems(root: string, errors: readonly ErrorObject[] | null | undefined): Problem[] {
  return (errors ?? []).map((e) => {
    const at = root + e.instancePath.replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.')
    if (e.keyword === 'additionalProperties') {
      return { path: `${at}.${String((e.params as { additionalProperty: string }).additionalProperty)}`, message: 'unknown field' }
    }
    return { path: at, message: e.message ?? 'invalid' }
  })
}

/** One of the hashes with the most common algorithm and cost; undefined for none. */
export function typicalHash(hashes: readonly string[]): string | undefined {
  const counts = new Map<string, { hash: string; n: number }>()
  for (const hash of hashes) {
    const cost = hashCost(hash)
    if (cost === null) continue
    const seen = counts.get(cost)
    counts.set(cost, { hash: seen?.hash ?? hash, n: (seen?.n ?? 0) + 1 })
  }
  let best: { hash: string; n: number } | undefined
  for (const c of counts.values()) if (best === undefined || c.n > best.n) best = c
  return best?.hash
}
