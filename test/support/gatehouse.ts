// The one way tests start Gatehouse in-process: from a config object, on loopback
// port 0, with a file store in a fresh temp dir, its JSON log lines captured for
// assertions (and for the no-secrets test). The presets below are the config
// sections the shared setups are made of (fixture.ts: proxy; token-service.ts: the
// token service; replicas.ts: a Redis store). A test that must go through the CLI
// binary or the demo spawns it through gatehouse-process.ts instead.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { stringify } from 'yaml'
import { startGatehouse, type Gatehouse } from '../../src/cli/serve.js'

export interface TestGatehouse {
  readonly gh: Gatehouse
  readonly url: string
  readonly adminUrl: string
  readonly dir: string
  readonly configFile: string
  /** Every log line so far, parsed. */
  logs(): Record<string, unknown>[]
  /** Raw log text (the no-secrets test greps it). */
  logText(): string
  /** Rewrites the config file (for reload tests). */
  writeConfig(config: Record<string, unknown>): Promise<void>
  close(): Promise<void>
}

export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv
  readonly now?: () => number
  /** Files to write into the temp dir before start (relative name -> content). */
  readonly files?: Record<string, string>
}

type Section = Record<string, unknown>

export const presets = {
  /** In front of `upstreamUrl`: these APIs, any other path denied; `upstream` options merged in. */
  proxy(upstreamUrl: string, apis: readonly Section[], upstream: Section = {}): Section {
    return { upstream: { url: upstreamUrl, ...upstream }, apis, unmatched: 'deny' }
  },
  /** The loopback test client is a trusted proxy: its X-Forwarded-For is believed, so a test can act from any address. */
  trustLoopback: { trustedProxies: ['127.0.0.1/32'] } as Section,
  /** The token service, its users and clients files in the temp dir (`files` writes them); `issuer` options merged in. */
  tokenService(issuer: Section = {}): Section {
    return { issuer: { usersFile: './users.yaml', clientsFile: './clients.yaml', ...issuer } }
  },
  /** A Redis key store at `url` (redis://, rediss://; null with store.sentinels); `store` options merged in. */
  redisStore(url: string | null, store: Section = {}): Section {
    return { store: { type: 'redis', ...(url !== null ? { url } : {}), ...store } }
  },
}

/** `config` is merged over loopback listeners and a file store inside a fresh temp dir. */
export async function startTestGatehouse(config: Section, opts: StartOptions = {}): Promise<TestGatehouse> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-test-'))
  for (const [name, content] of Object.entries(opts.files ?? {})) await writeFile(path.join(dir, name), content, { mode: 0o600 })
  const configFile = path.join(dir, 'gatehouse.yaml')
  const full = (c: Section) => ({
    listen: '127.0.0.1:0',
    admin: { listen: '127.0.0.1:0' },
    store: { type: 'file', path: path.join(dir, 'apikeys.json') },
    log: { level: 'info' },
    ...c,
  })
  await writeFile(configFile, stringify(full(config)))
  let text = ''
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString('utf8')
      cb()
    },
  })
  const gh = await startGatehouse({ configFile, env: opts.env ?? process.env, logDestination: sink, now: opts.now })
  return {
    gh,
    url: gh.proxyUrl,
    adminUrl: gh.adminUrl,
    dir,
    configFile,
    logs: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    logText: () => text,
    writeConfig: (c) => writeFile(configFile, stringify(full(c))),
    async close() {
      await gh.shutdown(1000)
      // Retried: a file written at the last moment (ENOTEMPTY) must not fail the test's after hook.
      await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 })
    },
  }
}
