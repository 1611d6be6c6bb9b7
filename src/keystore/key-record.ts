// Validation of ApiKeyRecord (SPEC §5) for every KeyStore and the `keys` CLI: what
// a store accepts is exactly what it can read back. Problems name the field, never
// its value, so a message can be logged without leaking a hash.
import { isKeyId, isSecretHash } from '../credentials/api-key-format.js'
import { toPermissions } from '../credentials/permissions.js'
import { parseCidrs } from '../net/ip-filter.js'
import type { ApiKeyPatch, ApiKeyRecord } from './key-store.js'

export type RecordResult = { ok: true; record: ApiKeyRecord } | { ok: false; problems: string[] }

const FIELDS = new Set([
  'id', 'user', 'description', 'permissions', 'ipFilter', 'expiresAt', 'enabled', 'createdAt', 'lastUsedAt', 'secretHash', 'actor', 'parentKeyId',
])
// Printable ASCII without surrounding spaces: the user becomes the X-Auth-User header (SPEC §4).
const USER_RE = /^[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?$/
// No control characters: descriptions are printed on terminals by `keys list`.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/
const API_NAME_RE = /^[A-Za-z0-9_.-]+$/ // as config apis[].name
const MAX_DESCRIPTION = 1024
/**
 * The longest lifetime any key may be given (P36500D, a hundred years): well inside
 * what a Date can show, so every record a store holds can be listed (issue 12).
 * issuer.apiKeyMaxTtl (default P3650D) may only lower it.
 */
export const MAX_KEY_TTL_SECONDS = 36500 * 86400
/** The latest instant an ISO 8601 string can show (year 9999), in Unix seconds. */
export const MAX_SHOWN_SECONDS = 253402300799
const MAX_CIDRS = 100

/** Checks an unknown value (a parsed file entry, or a record handed to create). Returns a frozen record. */
export function validateRecord(value: unknown, at = 'record'): RecordResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad([`${at}: must be an object`])
  const v = value as Record<string, unknown>
  const problems: string[] = []
  const need = (ok: boolean, field: string, what: string): void => {
    if (!ok) problems.push(`${at}.${field}: ${what}`)
  }
  for (const field of Object.keys(v)) need(FIELDS.has(field), field, 'is not a known field')
  need(typeof v.id === 'string' && isKeyId(v.id), 'id', 'must be 12 letters or digits')
  need(isUserName(v.user), 'user', 'must be 1-256 printable ASCII characters, no surrounding spaces')
  need(isDescription(v.description), 'description', `must be text of at most ${MAX_DESCRIPTION} characters, no control characters`)
  const permissions = toPermissions(v.permissions)
  need(permissions !== null && Object.keys(permissions).every((api) => API_NAME_RE.test(api)), 'permissions', 'must map API names to none, r or rw')
  need(isCidrList(v.ipFilter), 'ipFilter', `must be a list of at most ${MAX_CIDRS} IPv4 or IPv6 addresses or CIDR ranges`)
  need(v.expiresAt === null || isSeconds(v.expiresAt), 'expiresAt', 'must be Unix seconds or null')
  need(typeof v.enabled === 'boolean', 'enabled', 'must be true or false')
  need(isSeconds(v.createdAt), 'createdAt', 'must be Unix seconds')
  need(v.lastUsedAt === null || isSeconds(v.lastUsedAt), 'lastUsedAt', 'must be Unix seconds or null')
  need(typeof v.secretHash === 'string' && isSecretHash(v.secretHash), 'secretHash', 'must be a hash made by gatehouse')
  need(v.actor === undefined || (isUserName(v.actor) && v.actor !== v.user), 'actor', 'must be a user name other than user')
  need(v.parentKeyId === undefined || (typeof v.parentKeyId === 'string' && isKeyId(v.parentKeyId) && v.parentKeyId !== v.id), 'parentKeyId', 'must be the id of another key')
  if (problems.length > 0) return bad(problems)
  return {
    ok: true,
    record: Object.freeze({
      id: v.id as string,
      user: v.user as string,
      description: v.description as string,
      permissions: permissions as ApiKeyRecord['permissions'],
      ipFilter: Object.freeze([...(v.ipFilter as string[])]),
      expiresAt: v.expiresAt as number | null,
      enabled: v.enabled as boolean,
      createdAt: v.createdAt as number,
      lastUsedAt: v.lastUsedAt as number | null,
      secretHash: v.secretHash as string,
      ...(v.actor === undefined ? {} : { actor: v.actor as string }),
      ...(v.parentKeyId === undefined ? {} : { parentKeyId: v.parentKeyId as string }),
    }),
  }
}

/** The record with the patch applied, validated; only the fields ApiKeyPatch names can change. */
export function applyPatch(record: ApiKeyRecord, patch: ApiKeyPatch): RecordResult {
  const next: Record<string, unknown> = { ...record }
  for (const field of ['description', 'enabled', 'ipFilter', 'expiresAt', 'permissions'] as const) {
    if (patch[field] !== undefined) next[field] = patch[field]
  }
  return validateRecord(next, 'patch')
}

export function isUserName(value: unknown): value is string {
  return typeof value === 'string' && USER_RE.test(value)
}

export function isDescription(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_DESCRIPTION && !CONTROL_RE.test(value)
}

// The same parser as the pipeline's createIpFilter, so a stored list always compiles there.
function isCidrList(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.length <= MAX_CIDRS &&
    value.every((c) => typeof c === 'string' && c.length <= 64) &&
    parseCidrs(value as string[]).ok
  )
}

function isSeconds(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0
}

function bad(problems: string[]): RecordResult {
  return { ok: false, problems }
}

/** The first field of a record that no ISO 8601 time can show, or null. */
export function unreadableField(r: ApiKeyRecord): string | null {
  for (const field of ['expiresAt', 'createdAt', 'lastUsedAt'] as const) {
    const v = r[field]
    if (v !== null && v > MAX_SHOWN_SECONDS) return `${field} is beyond the year 9999`
  }
  return null
}
