// The Redis store's data model (README "Several replicas: the Redis store") and its
// atomic writes. Every key starts with `store.keyPrefix` (P):
//   P key:<id>            hash   one API key: a field per ApiKeyRecord field, each a JSON value; no TTL
//   P keys                set    every key id (list())
//   P user:<user>         set    the key ids of one user (list({user}))
//   P jwt-revoked:<jti>   string a revoked JWT: its end (Unix s), expiring then (EXAT)
//   P changes             channel pub/sub: {"o": origin, "k": [ids]} | {"o": origin, "j": [[jti, until]]}
// Each write is one Lua script (atomic: replicas racing each other never leave a
// half-written or resurrected record) that publishes what it changed.
import type { Redis } from 'ioredis'
import { validateRecord, type RecordResult } from './key-record.js'
import type { ApiKeyPatch, ApiKeyRecord } from './key-store.js'
import { isJti } from './revoked-jwts.js'

export interface RedisKeys {
  record(id: string): string
  readonly ids: string
  user(user: string): string
  jwt(jti: string): string
  readonly jwtPattern: string
  readonly channel: string
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    record: (id) => `${prefix}key:${id}`,
    ids: `${prefix}keys`,
    user: (user) => `${prefix}user:${user}`,
    jwt: (jti) => `${prefix}jwt-revoked:${jti}`,
    // SCAN MATCH is a glob: the prefix is taken literally.
    jwtPattern: `${prefix.replace(/[*?[\]\\]/g, '\\$&')}jwt-revoked:*`,
    channel: `${prefix}changes`,
  }
}

/** The record as HSET arguments: field, JSON value, field, JSON value… */
export function encodeRecord(r: ApiKeyRecord): string[] {
  const out: string[] = []
  for (const [field, value] of Object.entries(r)) if (value !== undefined) out.push(field, JSON.stringify(value))
  return out
}

/** Only the fields a patch names, with their new values taken from the patched record. */
export function encodePatch(patch: ApiKeyPatch, next: ApiKeyRecord): string[] {
  const out: string[] = []
  for (const field of ['description', 'enabled', 'ipFilter', 'expiresAt', 'permissions'] as const) {
    if (patch[field] !== undefined) out.push(field, JSON.stringify(next[field]))
  }
  return out
}

/** A hash as Redis returns it (object from HGETALL, or the flat array a script returns). Null when empty. */
export function decodeRecord(hash: Record<string, string> | readonly string[] | null): RecordResult | null {
  const entries: [string, string][] = []
  if (Array.isArray(hash)) for (let i = 0; i + 1 < hash.length; i += 2) entries.push([hash[i] as string, hash[i + 1] as string])
  else if (hash) entries.push(...Object.entries(hash as Record<string, string>))
  if (entries.length === 0) return null
  const value: Record<string, unknown> = {}
  for (const [field, text] of entries) {
    try {
      value[field] = JSON.parse(text)
    } catch {
      return { ok: false, problems: [`record.${field}: is not JSON`] }
    }
  }
  return validateRecord(value)
}

/** The message a write of `origin` publishes about the key ids it changed. */
export function changeMessage(origin: string, ids: readonly string[]): string {
  return JSON.stringify({ o: origin, k: ids })
}

/** What another replica's message says changed; null when it is not a message, or it is `ownOrigin`'s own. */
export function readChangeMessage(text: string, ownOrigin: string): { keyIds: string[]; jwts: [string, number][] } | null {
  let m: { o?: unknown; k?: unknown; j?: unknown }
  try {
    m = JSON.parse(text) as typeof m
  } catch {
    return null
  }
  if (m === null || typeof m !== 'object' || m.o === ownOrigin) return null
  const jwts = (Array.isArray(m.j) ? (m.j as unknown[]) : []).filter(
    (e): e is [string, number] => Array.isArray(e) && isJti(e[0]) && Number.isSafeInteger(e[1]),
  )
  const keyIds = (Array.isArray(m.k) ? (m.k as unknown[]) : []).filter((x): x is string => typeof x === 'string')
  return { keyIds, jwts }
}

// KEYS: record, ids, user index. ARGV: id, channel, message, then field/value pairs.
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`

// KEYS: record. ARGV: channel, message, then field/value pairs. Never creates a record that is gone.
const UPDATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if #ARGV > 2 then redis.call('HSET', KEYS[1], unpack(ARGV, 3)) end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return redis.call('HGETALL', KEYS[1])`

// KEYS: records. ARGV: prefix, channel, origin, then the ids in KEYS' order. Returns the ids that existed.
const REVOKE = `
local gone = {}
for i, key in ipairs(KEYS) do
  local user = redis.call('HGET', key, 'user')
  if user then
    local id = ARGV[i + 3]
    redis.call('DEL', key)
    redis.call('SREM', ARGV[1] .. 'keys', id)
    redis.call('SREM', ARGV[1] .. 'user:' .. cjson.decode(user), id)
    gone[#gone + 1] = id
  end
end
if #gone > 0 then redis.call('PUBLISH', ARGV[2], cjson.encode({o = ARGV[3], k = gone})) end
return gone`

// KEYS: records. ARGV: Unix seconds in KEYS' order. Only existing records, and never back in time.
const TOUCH = `
for i, key in ipairs(KEYS) do
  local last = redis.call('HGET', key, 'lastUsedAt')
  if last and (last == 'null' or tonumber(last) < tonumber(ARGV[i])) then
    redis.call('HSET', key, 'lastUsedAt', ARGV[i])
  end
end
return 0`

// KEYS: the jti's key. ARGV: until (Unix s), channel, origin, jti. The later end wins; the key expires then.
const REVOKE_JWT = `
local ends = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current > ends then ends = current else redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[1]) end
redis.call('PUBLISH', ARGV[2], cjson.encode({o = ARGV[3], j = {{ARGV[4], ends}}}))
return ends`

/** The scripts, as ioredis commands (EVALSHA, falling back to EVAL after a Redis restart). */
export interface RedisScripts {
  ghCreate(k1: string, k2: string, k3: string, ...argv: string[]): Promise<number>
  ghUpdate(k1: string, ...argv: string[]): Promise<string[] | null>
  ghRevoke(numKeys: number, ...keysAndArgv: string[]): Promise<string[]>
  ghTouch(numKeys: number, ...keysAndArgv: string[]): Promise<number>
  ghRevokeJwt(k1: string, ...argv: string[]): Promise<number>
}

export function defineScripts(redis: Redis): Redis & RedisScripts {
  redis.defineCommand('ghCreate', { numberOfKeys: 3, lua: CREATE })
  redis.defineCommand('ghUpdate', { numberOfKeys: 1, lua: UPDATE })
  redis.defineCommand('ghRevoke', { lua: REVOKE })
  redis.defineCommand('ghTouch', { lua: TOUCH })
  redis.defineCommand('ghRevokeJwt', { numberOfKeys: 1, lua: REVOKE_JWT })
  return redis as Redis & RedisScripts
}

/** Every revoked JWT in Redis (SCAN, bounded), for a replica's memory after a (re)connect. */
export async function scanRevokedJwts(redis: Redis, keys: RedisKeys): Promise<{ jti: string; expiresAt: number }[]> {
  const out: { jti: string; expiresAt: number }[] = []
  const skip = keys.jwt('').length
  let cursor = '0'
  for (let round = 0; round < 100_000; round++) {
    const [next, found] = await redis.scan(cursor, 'MATCH', keys.jwtPattern, 'COUNT', 1000)
    if (found.length > 0) {
      const values = await redis.mget(...found)
      found.forEach((key, i) => {
        const ends = Number(values[i])
        if (Number.isSafeInteger(ends)) out.push({ jti: key.slice(skip), expiresAt: ends })
      })
    }
    cursor = next
    if (cursor === '0') break
  }
  return out
}
