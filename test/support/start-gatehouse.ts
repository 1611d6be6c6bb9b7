// Boots Gatehouse in-process from a config object on loopback port 0; captures
// its JSON log lines for assertions (and for the no-secrets test).
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

/** `config` is merged over loopback listeners and a file store inside a fresh temp dir. */
export async function startTestGatehouse(config: Record<string, unknown>, opts: StartOptions = {}): Promise<TestGatehouse> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-test-'))
  for (const [name, content] of Object.entries(opts.files ?? {})) await writeFile(path.join(dir, name), content, { mode: 0o600 })
  const configFile = path.join(dir, 'gatehouse.yaml')
  const full = (c: Record<string, unknown>) => ({
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
      await rm(dir, { recursive: true, force: true })
    },
  }
}
