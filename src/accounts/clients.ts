// clientsFile (SPEC §6): the OAuth2 clients of `POST /oauth/token` (RFC 6749
// §4.4), each with a hashed secret, the most permissions its tokens may carry, and
// their lifetime.
import { Type, type Static } from '@sinclair/typebox'
import { Ajv, type ValidateFunction } from 'ajv'
import { parseDuration } from '../config/duration.js'
import type { Checked, Problem } from '../config/problem.js'
import type { Permissions } from '../credentials/permissions.js'
import { isSupportedHash } from './password-hash.js'
import { readYaml, schemaProblems, typicalHash, UNSUPPORTED_HASH } from './users.js'

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
const ClientsFileSchema = Type.Object({ clients: Type.Array(ClientSchema, { default: [] }) }, { additionalProperties: false })
// Compiled on first use: a config without this file never pays for it (start-up CPU, issue 17).
let validator: ValidateFunction<Static<typeof ClientsFileSchema>> | undefined
const validate = (): ValidateFunction<Static<typeof ClientsFileSchema>> =>
  (validator ??= new Ajv({ allErrors: true, useDefaults: true }).compile<Static<typeof ClientsFileSchema>>(ClientsFileSchema))

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
