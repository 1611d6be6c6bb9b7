// `gatehouse keys migrate --config FILE --from file --to redis` (issue 4): copies every
// API key (id, hash and metadata as they are: no key is re-issued) and every revoked
// JWT still in force from one store of the config to the other. The config names
// both: `store.path` is the file store, `store.url` (or `store.sentinels`) the Redis
// store, whatever `store.type` says. Idempotent: a key already in the target is
// left alone, and one that differs there is reported, never overwritten.
import type { ApiKeyRecord, KeyStore } from '../keystore/key-store.js'
import { KeyExistsError } from '../keystore/key-store.js'
import type { KeysIo, StoreType } from './keys-io.js'

export interface MigrateReport {
  /** Created in the target. */
  readonly copied: string[]
  /** Already in the target with the same content (last-used times aside). */
  readonly unchanged: string[]
  /** In the target with different content: left as they are there. */
  readonly conflicts: string[]
  /** Revoked JWTs written to the target (a later end already there wins). */
  readonly revokedJwts: number
}

export async function migrateKeys(from: KeyStore, to: KeyStore, nowSeconds: number): Promise<MigrateReport> {
  const report = { copied: [] as string[], unchanged: [] as string[], conflicts: [] as string[], revokedJwts: 0 }
  for (const record of await from.list()) {
    let existing = await to.get(record.id)
    if (!existing) {
      try {
        await to.create(record)
        report.copied.push(record.id)
        continue
      } catch (err) {
        if (!(err instanceof KeyExistsError)) throw err
        existing = await to.get(record.id) // written meanwhile by someone else
      }
    }
    if (existing && sameKey(existing, record)) {
      report.unchanged.push(record.id)
      if (record.lastUsedAt !== null) to.touch(record.id, record.lastUsedAt) // a later use wins; written on close
    } else report.conflicts.push(record.id)
  }
  for (const { jti, expiresAt } of await from.listRevokedJwts(nowSeconds)) {
    await to.revokeJwt(jti, expiresAt)
    report.revokedJwts++
  }
  return report
}

/**
 * The `keys migrate` command: checks its arguments, opens both stores (without
 * watching), copies, prints the counts. Returns the exit code, or a usage message.
 */
export async function runMigrate(v: Record<string, string | boolean | undefined>, configPath: string, io: KeysIo): Promise<number | string> {
  const from = v.from
  const to = v.to
  if (!isStoreType(from) || !isStoreType(to)) return 'keys migrate needs --from and --to, each file or redis'
  if (from === to) return 'keys migrate needs two different stores (--from file --to redis, or the reverse)'
  if (!io.openStore) return 'keys migrate cannot open stores here'
  const source = await io.openStore(configPath, from)
  let target: KeyStore
  try {
    target = await io.openStore(configPath, to)
  } catch (err) {
    await source.close()
    throw err
  }
  try {
    const report = await migrateKeys(source, target, Math.floor((io.now ?? Date.now)() / 1000))
    if (v.json === true) io.stdout.write(`${JSON.stringify({ from, to, ...report })}\n`)
    else {
      io.stdout.write(
        `${from} -> ${to}: ${report.copied.length} keys copied, ${report.unchanged.length} already there, ` +
          `${report.conflicts.length} conflicting; ${report.revokedJwts} revoked JWTs copied\n`,
      )
    }
    for (const id of report.conflicts) io.stderr.write(`key ${id} differs in the ${to} store; left as it is there\n`)
    if (v.json !== true && report.conflicts.length === 0) io.stderr.write(`The ${from} store is left as it was; point store.type at ${to} and restart.\n`)
    return report.conflicts.length > 0 ? 1 : 0
  } catch (err) {
    io.stderr.write(`gatehouse keys migrate: ${(err as Error).message}\n`)
    return 2
  } finally {
    await Promise.all([source.close(), target.close()])
  }
}

function isStoreType(value: unknown): value is StoreType {
  return value === 'file' || value === 'redis'
}

function sameKey(a: ApiKeyRecord, b: ApiKeyRecord): boolean {
  return canonical({ ...a, lastUsedAt: null }) === canonical({ ...b, lastUsedAt: null })
}

/** JSON with object keys sorted, so field order never makes two equal records differ. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`
  }
  return JSON.stringify(value)
}
