// The undici keep-alive pool to the upstream, replaced on reload only when a
// setting it was built with changed (the old one closes once its requests finish).
import { readFileSync } from 'node:fs'
import type { Pool } from 'undici'
// Only the pool, not undici's index: the index loads every dispatcher, fetch, the
// WebSocket and cache code and its mocks, ~14 MB of RSS in a sidecar that uses one
// Pool's dispatch() (issue 17; measured with /proc/PID/status, see README Performance).
import UndiciPool from 'undici/lib/dispatcher/pool.js'
import type { Config } from '../config/schema.js'

export interface UpstreamPool {
  current(): Pool
  /** A new pool when the upstream's origin, CA, timeouts or connection count changed. */
  configure(c: Config): void
  close(): Promise<void>
}

export function createUpstreamPool(config: Config): UpstreamPool {
  let pool = createPool(config)
  let key = poolKeyOf(config)
  return {
    current: () => pool,
    configure(c) {
      const next = poolKeyOf(c)
      if (next === key) return
      const old = pool
      pool = createPool(c)
      key = next
      void old.close().catch(() => {})
    },
    close: () => pool.close().catch(() => {}),
  }
}

function createPool(c: Config): Pool {
  return new UndiciPool(new URL(c.upstream.url).origin, {
    connections: c.upstream.connections,
    pipelining: 1,
    connect: {
      timeout: c.upstream.connectTimeoutMs,
      ...(c.upstream.caFile ? { ca: readFileSync(c.upstream.caFile) } : {}),
    },
    headersTimeout: c.upstream.timeoutMs,
    bodyTimeout: c.upstream.timeoutMs,
    keepAliveTimeout: 4_000,
  })
}

function poolKeyOf(c: Config): string {
  const u = c.upstream
  return JSON.stringify([new URL(u.url).origin, u.caFile, u.connectTimeoutMs, u.timeoutMs, u.connections])
}
