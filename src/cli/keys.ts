// `gatehouse keys create|list|revoke` (SPEC §1) against the configured KeyStore.
// The key is printed once, by create; list never prints secrets or hashes.
import { formatDuration, parseDuration } from '../config/duration.js'
import { isKeyId } from '../credentials/api-key-format.js'
import { formatPermissions, parsePermissionList } from '../credentials/permissions.js'
import { isDescription, isUserName, MAX_KEY_TTL_SECONDS, unreadableField, validateRecord } from '../keystore/key-record.js'
import { KeyExistsError, type ApiKeyRecord, type KeyStore } from '../keystore/key-store.js'
import { parseCidrs } from '../net/ip-filter.js'
import { CONFIG_OPTIONS, parseCommandArgs, type ArgValues, type OptionSpec } from './args.js'
import type { KeysIo } from './keys-io.js'
import { runMigrate } from './keys-migrate.js'

const USAGE = `usage:
  gatehouse keys create --config FILE --user NAME --permissions api:rw,api2:r [--expires PT1H] [--ip-filter CIDR,CIDR] [--description TEXT] [--disabled] [--json]
  gatehouse keys list --config FILE [--user NAME] [--json]
  gatehouse keys revoke --config FILE ID…
  gatehouse keys migrate --config FILE --from file --to redis [--json]   (or --from redis --to file)
`

const COMMON = CONFIG_OPTIONS
const OPTIONS = {
  create: {
    ...COMMON,
    user: { type: 'string' },
    permissions: { type: 'string' },
    expires: { type: 'string' },
    'ip-filter': { type: 'string' },
    description: { type: 'string' },
    disabled: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  list: { ...COMMON, user: { type: 'string' }, json: { type: 'boolean' } },
  revoke: { ...COMMON },
  migrate: { ...COMMON, from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } },
} as const satisfies Record<string, OptionSpec>

class UsageError extends Error {}

/** Runs one `keys` subcommand; returns the exit code (0 ok, 1 usage, 2 the store failed). */
export async function keysCommand(argv: string[], io: KeysIo): Promise<number> {
  const [sub, ...args] = argv
  if (sub === '-h' || sub === '--help' || sub === 'help') return help(io)
  if (sub !== 'create' && sub !== 'list' && sub !== 'revoke' && sub !== 'migrate') {
    return usage(io, sub ? `unknown keys command "${sub}"` : 'keys needs a command: create, list, revoke or migrate')
  }
  const read = parseCommandArgs(args, OPTIONS[sub], sub === 'revoke')
  if (!read.ok) return usage(io, `keys ${sub}: ${read.message}`)
  const parsed = read.value
  if (parsed.values.help) return help(io)
  const configPath = (parsed.values.config as string | undefined) ?? (io.env ?? process.env).GATEHOUSE_CONFIG
  if (!configPath) return usage(io, `keys ${sub} needs --config FILE`)
  if (sub === 'migrate') {
    const code = await runMigrate(parsed.values, configPath, io)
    return typeof code === 'string' ? usage(io, code) : code
  }

  let run: (store: KeyStore) => Promise<number>
  try {
    run = sub === 'create' ? planCreate(parsed.values, io) : sub === 'list' ? planList(parsed.values, io) : planRevoke(parsed.positionals, io)
  } catch (err) {
    if (err instanceof UsageError) return usage(io, err.message)
    throw err
  }
  if (sub === 'create' && io.loadHolders) {
    // Loaded here, not at the top: the users file's reader (bcrypt, its validator) is for create only.
    const { keyBeyondHolders } = await import('./key-holders.js')
    const user = parsed.values.user as string
    const permissions = parsePermissionList(parsed.values.permissions as string)
    const refused = permissions.ok ? keyBeyondHolders(user, permissions.value, await io.loadHolders(configPath)) : null
    if (refused) {
      io.stderr.write(`gatehouse keys create: ${refused}; nothing created\n`)
      return 1
    }
  }
  const store = await io.loadStore(configPath)
  try {
    return await run(store)
  } catch (err) {
    io.stderr.write(`gatehouse keys ${sub}: ${(err as Error).message}\n`)
    return 2
  } finally {
    await store.close()
  }
}

/** Checks every argument before the store is opened: a usage error touches nothing. */
function planCreate(v: ArgValues, io: KeysIo): (store: KeyStore) => Promise<number> {
  const user = v.user as string | undefined
  if (user === undefined) throw new UsageError('keys create needs --user NAME')
  if (!isUserName(user)) throw new UsageError('--user must be 1-256 printable ASCII characters, no surrounding spaces')
  if (v.permissions === undefined) throw new UsageError('keys create needs --permissions api:level,… (level none, r or rw)')
  const perms = parsePermissionList(v.permissions as string)
  if (!perms.ok) throw new UsageError(`--permissions: ${perms.message}`)
  if (Object.keys(perms.value).length === 0) throw new UsageError('--permissions must name at least one api:level')
  const description = (v.description as string | undefined) ?? ''
  if (!isDescription(description)) throw new UsageError('--description must be at most 1024 characters, no control characters')
  const ipFilter = splitList(v['ip-filter'] as string | undefined)
  const cidrs = parseCidrs(ipFilter)
  if (!cidrs.ok) throw new UsageError(`--ip-filter: ${cidrs.problems.map((p) => p.message).join('; ')}`)
  let ttl: number | null = null
  if (v.expires !== undefined) {
    const d = parseDuration(v.expires as string)
    if (!d.ok) throw new UsageError(`--expires: ${d.message}`)
    if (d.seconds > MAX_KEY_TTL_SECONDS) throw new UsageError(`--expires: at most ${formatDuration(MAX_KEY_TTL_SECONDS)} is allowed`)
    ttl = d.seconds
  }
  return async (store) => {
    // Generating and parsing keys loads node:crypto: `keys list` does neither (issue 17).
    const { generateApiKey } = await import('../credentials/api-key.js')
    const createdAt = Math.floor((io.now ?? Date.now)() / 1000)
    const base = { user, description, permissions: perms.value, ipFilter, enabled: v.disabled !== true, createdAt, lastUsedAt: null }
    const fields = { ...base, expiresAt: ttl === null ? null : createdAt + ttl }
    for (let attempt = 0; ; attempt++) {
      const { id, key, secretHash } = generateApiKey()
      const checked = validateRecord({ id, secretHash, ...fields })
      if (!checked.ok) throw new UsageError(checked.problems.join('; '))
      try {
        await store.create(checked.record)
      } catch (err) {
        if (err instanceof KeyExistsError && attempt < 3) continue // a 71-bit id collision: astronomically rare
        throw err
      }
      reportCreated(io, checked.record, key, ttl, v.json === true)
      return 0
    }
  }
}

function reportCreated(io: KeysIo, record: ApiKeyRecord, key: string, ttl: number | null, json: boolean): void {
  if (json) {
    io.stdout.write(`${JSON.stringify({ id: record.id, key, ...metadata(record) })}\n`)
    return
  }
  io.stdout.write(`${key}\n`)
  const expiry = ttl === null ? 'never expires' : `expires in ${formatDuration(ttl)} (${isoTime(record.expiresAt)})`
  const state = record.enabled ? '' : ', disabled'
  io.stderr.write(
    `created key ${record.id} for ${record.user} (${formatPermissions(record.permissions) || 'no permissions'}), ${expiry}${state}.\n` +
      'The key above is shown only this once; store it now.\n',
  )
}

function planList(v: ArgValues, io: KeysIo): (store: KeyStore) => Promise<number> {
  const user = v.user as string | undefined
  return async (store) => {
    const all = await store.list(user === undefined ? {} : { user })
    // A record no date can show is reported on stderr; every other key is still listed (issue 12).
    const records = all.filter((r) => {
      const problem = unreadableField(r)
      if (problem) io.stderr.write(`key ${r.id} cannot be shown: ${problem}\n`)
      return problem === null
    })
    if (v.json === true) {
      io.stdout.write(`${JSON.stringify(records.map(metadataWithId))}\n`)
      return 0
    }
    if (records.length === 0) {
      io.stderr.write('no API keys\n')
      return 0
    }
    const nowSeconds = Math.floor((io.now ?? Date.now)() / 1000)
    const rows = records.map((r) => [
      r.id,
      r.user,
      status(r, nowSeconds),
      r.expiresAt === null ? 'never' : isoTime(r.expiresAt),
      r.lastUsedAt === null ? 'never' : isoTime(r.lastUsedAt),
      formatPermissions(r.permissions) || '-',
      r.ipFilter.join(',') || 'any',
      r.description,
    ])
    io.stdout.write(table([['ID', 'USER', 'STATUS', 'EXPIRES', 'LAST USED', 'PERMISSIONS', 'IP FILTER', 'DESCRIPTION'], ...rows]))
    return 0
  }
}

function planRevoke(ids: string[], io: KeysIo): (store: KeyStore) => Promise<number> {
  if (ids.length === 0) throw new UsageError('keys revoke needs at least one key id')
  const valid = ids.filter(isKeyId)
  return async (store) => {
    const { parseApiKey } = await import('../credentials/api-key.js')
    const revoked = valid.length > 0 ? await store.revoke(valid) : []
    for (const id of revoked) io.stdout.write(`revoked ${id}\n`)
    let unknown = 0
    ids.forEach((arg, i) => {
      if (revoked.includes(arg)) return
      unknown++
      // Never echo an argument that is not an id: it may be a whole key pasted by mistake.
      const key = parseApiKey(arg)
      if (key) io.stderr.write(`argument ${i + 1} is a whole API key, not an id (its id is ${key.id}); nothing revoked for it\n`)
      else if (isKeyId(arg)) io.stderr.write(`unknown key id ${arg}\n`)
      else io.stderr.write(`argument ${i + 1} is not a key id (12 letters and digits)\n`)
    })
    return unknown > 0 ? 1 : 0
  }
}

/** The metadata of a key as JSON output shows it: times as ISO 8601, never the hash. */
function metadata(r: ApiKeyRecord): object {
  return {
    user: r.user,
    description: r.description,
    permissions: { ...r.permissions },
    ipFilter: [...r.ipFilter],
    expiresAt: r.expiresAt === null ? null : isoTime(r.expiresAt),
    enabled: r.enabled,
    createdAt: isoTime(r.createdAt),
    lastUsedAt: r.lastUsedAt === null ? null : isoTime(r.lastUsedAt),
  }
}

function metadataWithId(r: ApiKeyRecord): object {
  return { id: r.id, ...metadata(r) }
}

function status(r: ApiKeyRecord, nowSeconds: number): string {
  if (!r.enabled) return 'disabled'
  return r.expiresAt !== null && nowSeconds >= r.expiresAt ? 'expired' : 'active'
}

function isoTime(seconds: number | null): string {
  return new Date((seconds ?? 0) * 1000).toISOString().replace('.000Z', 'Z')
}

function splitList(text: string | undefined): string[] {
  return (text ?? '').split(',').map((s) => s.trim()).filter(Boolean)
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? []
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join('  ').trimEnd() + '\n').join('')
}

function help(io: KeysIo): number {
  io.stdout.write(USAGE)
  return 0
}

function usage(io: KeysIo, message: string): number {
  io.stderr.write(`gatehouse keys: ${message}\n${USAGE}`)
  return 1
}
