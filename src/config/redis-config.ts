// `store.type: redis` (SPEC §2, §8): the URL and Sentinel settings, checked at load
// with every problem located, turned into ioredis options, and described with the
// password hidden — the only form of the URL that ever reaches a log or an error.
import { readFileSync } from 'node:fs'
import type { RedisOptions } from 'ioredis'
import type { Problem } from './problem.js'
import { parseIp } from '../net/ip-address.js'
import type { Config } from './schema.js'

export type StoreConfig = Config['store']

interface Target {
  readonly host: string
  readonly port: number
  readonly username?: string
  readonly password?: string
  readonly db: number
  readonly tls: boolean
}

/** Problems of a redis store section; messages never quote the URL (it may hold a password). */
export function checkRedisStore(store: Partial<StoreConfig> | undefined): Problem[] {
  if (!store || store.type !== 'redis') return []
  const problems: Problem[] = []
  const sentinels = Array.isArray(store.sentinels) ? store.sentinels : undefined
  if (typeof store.url !== 'string') {
    if (!sentinels) problems.push({ path: 'store.url', message: 'required when store.type is redis' })
  } else {
    const parsed = parseRedisUrl(store.url)
    if (typeof parsed === 'string') problems.push({ path: 'store.url', message: parsed })
  }
  sentinels?.forEach((s, i) => {
    if (typeof s === 'string' && !parseHostPort(s)) problems.push({ path: `store.sentinels[${i}]`, message: 'must be host:port' })
  })
  if (sentinels && !store.sentinelName) problems.push({ path: 'store.sentinelName', message: 'required with store.sentinels' })
  if (!sentinels && store.sentinelName) problems.push({ path: 'store.sentinelName', message: 'only used with store.sentinels' })
  if (typeof store.caFile === 'string' && !(typeof store.url === 'string' && store.url.toLowerCase().startsWith('rediss:'))) {
    problems.push({ path: 'store.caFile', message: 'only used with a rediss:// URL' })
  }
  return problems
}

/** `redis://user:***@host:port/db`, or the Sentinel group and its sentinels. */
export function describeRedis(store: StoreConfig): string {
  const t = targetOf(store)
  const auth = t.password !== undefined ? `${t.username ?? ''}:***@` : t.username ? `${t.username}@` : ''
  const scheme = t.tls ? 'rediss' : 'redis'
  if (store.sentinels) return `${scheme}://${auth}${store.sentinelName ?? ''}/${t.db} via sentinels ${store.sentinels.join(',')}`
  return `${scheme}://${auth}${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}/${t.db}`
}

/** The strings that must never appear in a log line or an error: the password, raw and URL-encoded. */
export function secretsOf(store: StoreConfig): string[] {
  const p = targetOf(store).password
  if (!p) return []
  return [...new Set([p, encodeURIComponent(p)])].filter((s) => s.length > 0).sort((a, b) => b.length - a.length)
}

/**
 * ioredis options for one connection. Nothing ever waits for Redis: no offline
 * queue, no retry of a command, every command bounded by timeoutMs, so during an
 * outage a request fails at once (503) instead of piling up; reconnection is
 * automatic, at most one second apart.
 */
export function redisOptions(store: StoreConfig, connectionName: string): RedisOptions {
  const t = targetOf(store)
  const retry = (times: number) => Math.min(50 * 2 ** Math.min(times, 10), 1000)
  const base: RedisOptions = {
    username: t.username,
    password: t.password,
    db: t.db,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: store.timeoutMs,
    connectTimeout: Math.max(store.timeoutMs, 2000),
    retryStrategy: retry,
    // A primary demoted by a failover answers writes with READONLY: reconnect to find the new one.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 1 : false),
    connectionName,
    keepAlive: 5000,
    // With Sentinel the host is whichever node is primary now: no name to check it against but the certificate's own.
    ...(t.tls ? { tls: tlsOptions(store, store.sentinels ? '' : t.host) } : {}),
  }
  if (!store.sentinels) return { ...base, host: t.host, port: t.port }
  return {
    ...base,
    sentinels: store.sentinels.map((s) => parseHostPort(s) as { host: string; port: number }),
    name: store.sentinelName,
    sentinelRetryStrategy: retry,
    sentinelCommandTimeout: store.timeoutMs,
    // The replica promoted by Sentinel must be a primary before a write goes to it.
    role: 'master',
  }
}

function tlsOptions(store: StoreConfig, host: string): NonNullable<RedisOptions['tls']> {
  return {
    ...(store.caFile ? { ca: readFileSync(store.caFile) } : {}),
    // SNI takes a name, never an address (RFC 6066 §3). Our parser, not node:net's isIP:
    // every command loads this file, and node:net costs ~8 ms to load when standard
    // output is not a terminal or pipe, which are net sockets (issue 17).
    ...(parseIp(host) === null && host !== '' ? { servername: host } : {}),
  }
}

function targetOf(store: StoreConfig): Target {
  const parsed = typeof store.url === 'string' ? parseRedisUrl(store.url) : null
  if (typeof parsed === 'string') throw new Error(`store.url: ${parsed}`)
  return parsed ?? { host: '', port: 6379, db: 0, tls: false }
}

/** The URL's parts, or why it is refused (never quoting it). */
function parseRedisUrl(url: string): Target | string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return 'not a URL: use redis://[:password@]host:port/db or rediss://'
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return 'must be redis:// or rediss://'
  // Query options would reach ioredis unchecked: everything it needs has a config key.
  if (u.search || u.hash) return 'must not have a query or fragment'
  const db = u.pathname === '' || u.pathname === '/' ? 0 : Number(u.pathname.slice(1))
  if (!Number.isSafeInteger(db) || db < 0 || db > 1_000_000) return 'the path must be a database number, e.g. /0'
  const port = u.port === '' ? 6379 : Number(u.port)
  let username: string | undefined
  let password: string | undefined
  try {
    username = u.username ? decodeURIComponent(u.username) : undefined
    password = u.password || u.username ? decodeURIComponent(u.password) : undefined
  } catch {
    return 'the user or password is not valid percent-encoding'
  }
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    tls: u.protocol === 'rediss:',
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined && password !== '' ? { password } : {}),
  }
}

function parseHostPort(value: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s/]+)):(\d{1,5})$/.exec(value)
  if (!m) return null
  const port = Number(m[3])
  return port >= 1 && port <= 65535 ? { host: (m[1] ?? m[2]) as string, port } : null
}
