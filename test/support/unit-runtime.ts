// A Runtime for socket-free pipeline tests: a real config (the given fields over
// loopback listeners, an upstream nobody calls and a file key store in `dir`),
// compiled by runtime/compile.ts with a frozen clock.
import path from 'node:path'
import { stringify } from 'yaml'
import { parseConfigText } from '../../src/config/load.js'
import { createVerifiedCache, type VerifiedCache } from '../../src/credentials/verified-cache.js'
import type { KeyStore } from '../../src/keystore/key-store.js'
import { openKeyStore } from '../../src/keystore/open-key-store.js'
import { compileRuntime, type Runtime } from '../../src/runtime/compile.js'

export interface UnitRuntime {
  readonly runtime: Runtime
  readonly store: KeyStore
  close(): Promise<void>
}

export async function compileUnitRuntime(
  dir: string,
  config: Record<string, unknown>,
  opts: { nowMs: number; cache?: VerifiedCache; onCache?: (hit: boolean) => void },
): Promise<UnitRuntime> {
  const loaded = parseConfigText(
    stringify({
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      upstream: { url: 'http://127.0.0.1:9' },
      store: { type: 'file', path: path.join(dir, 'apikeys.json') },
      ...config,
    }),
    path.join(dir, 'gatehouse.yaml'),
  )
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems))
  const store = await openKeyStore(loaded.value.config.store)
  const compiled = await compileRuntime(loaded.value, {
    store,
    cache: opts.cache ?? createVerifiedCache(0, 0),
    onCache: opts.onCache ?? (() => {}),
    now: () => opts.nowMs,
  })
  if (!compiled.ok) {
    await store.close()
    throw new Error(JSON.stringify(compiled.problems))
  }
  const runtime = compiled.value
  return {
    runtime,
    store,
    async close() {
      runtime.close()
      await store.close()
    },
  }
}
