// clientsFile (SPEC §6): the OAuth2 clients of `POST /oauth/token` (RFC 6749
// §4.4), each with a hashed secret, the most permissions its tokens may carry, and
// their lifetime.
import type { ValidateFunction } from 'ajv'
import generatedValidate from './clients-validator.js'
import type { ClientsFile } from './clients-schema.js'
import { parseDuration } from '../config/duration.js'
import type { Checked, Problem } from '../config/problem.js'
import type { Permissions } from '../credentials/permissions.js'
import { isSupportedHash } from './password-hash.js'
import { readYaml, schemaProblems, typicalHash, UNSUPPORTED_HASH } from './users.js'

// Generated from clients-schema.ts (npm run generate:validators): no schema compiler at start-up.
const validate = (): ValidateFunction<ClientsFile> => generatedValidate as unknown as ValidateFunction<ClientsFile>

export interface Client {
  readonly clientId: string
  readonly secretHash: string
  readonly permissions: Permissions
  readonly ttlSeconds: number
  readonly canIntrospect: boolean
}

export interface ClientDirectory {
  get(id: string): Client | undefined
  readonly size: number
  /** A hash with the algorithm and cost most clients' hashes have, for `dummyVerify` on an unknown id (#81). */
  readonly dummyHash?: string | undefined
}

export async function loadClientsFile(file: string): Promise<Checked<ClientDirectory>> {
  const data = await readYaml(file, 'issuer.clientsFile')
  if (!data.ok) return data
  const check = validate()
  if (!check(data.value)) return { ok: false, problems: schemaProblems('clientsFile', check.errors) }
  const problems: Problem[] = []
  const map = new Map<string, Client>()
  for (const [i, c] of data.value.clients.entries()) {
    const at = `clientsFile.clients[${i}]`
    if (map.has(c.clientId)) problems.push({ path: `${at}.clientId`, message: `client "${c.clientId}" is listed twice` })
    // Tokens of password and API-key logins carry client_id `gatehouse` (SPEC §12): no client may be it.
    if (c.clientId === 'gatehouse') problems.push({ path: `${at}.clientId`, message: '"gatehouse" is reserved for logins (RFC 9068 client_id of their tokens)' })
    if (!isSupportedHash(c.secretHash)) problems.push({ path: `${at}.secretHash`, message: UNSUPPORTED_HASH })
    const ttl = parseDuration(c.ttl)
    if (!ttl.ok) problems.push({ path: `${at}.ttl`, message: ttl.message })
    map.set(
      c.clientId,
      Object.freeze({
        clientId: c.clientId,
        secretHash: c.secretHash,
        permissions: Object.freeze({ ...c.permissions }),
        ttlSeconds: ttl.ok ? ttl.seconds : 0,
        canIntrospect: c.canIntrospect,
      }),
    )
  }
  if (problems.length > 0) return { ok: false, problems }
  const dummyHash = typicalHash([...map.values()].map((c) => c.secretHash))
  return { ok: true, value: Object.freeze({ get: (id: string) => map.get(id), size: map.size, dummyHash }) }
}
