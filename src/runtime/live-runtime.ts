// The Runtime in use, and its reloads (SIGHUP, a changed users or clients file).
// Everything a request reads hangs off this one reference, swapped whole, so a
// request sees the old config or the new, never a mix.
import { unwatchFile, watchFile } from 'node:fs'
import { loadConfigFile } from '../config/load.js'
import type { Problem } from '../config/problem.js'
import type { Config } from '../config/schema.js'
import type { Logger } from '../telemetry/logger.js'
import { compileRuntime, type CompileDeps, type Runtime } from './compile.js'

export interface LiveRuntime {
  current(): Runtime
  /** Re-reads config and users file; returns false (keeping the old Runtime) when the new one is bad. */
  reload(): Promise<boolean>
  /** Reloads when the users or clients file changes (SPEC §8), from now on. */
  watchAccounts(): void
  /** Stops watching the users and clients files (the start of a drain). */
  stopWatching(): void
  /** Closes the current Runtime (the end of a drain). */
  close(): void
}

export interface LiveRuntimeOptions {
  readonly configFile: string
  readonly env: NodeJS.ProcessEnv
  readonly compileDeps: CompileDeps
  readonly logger: Logger
  /** Counts a reload (gatehouse_config_reloads_total). */
  onReload(ok: boolean): void
  /** Called with the new Runtime once it is installed, before the old one is closed. */
  onInstall(next: Runtime): void
}

/** `first` is the Runtime the process started with; settings it names that only a restart changes stay as they are. */
export function createLiveRuntime(first: Runtime, opts: LiveRuntimeOptions): LiveRuntime {
  const { logger } = opts
  const started: Config = first.config
  let runtime = first

  // One reload at a time, each reading the files only once the previous one is
  // installed: overlapping reloads (SIGHUP and the file watcher) could otherwise
  // finish out of order and install the older files last.
  let reloading: Promise<boolean> = Promise.resolve(true)
  function reload(): Promise<boolean> {
    reloading = reloading.then(reloadNow, reloadNow)
    return reloading
  }

  async function reloadNow(): Promise<boolean> {
    const next = await loadConfigFile(opts.configFile, opts.env)
    const problems: Problem[] = next.ok ? [] : next.problems
    let nextRuntime: Runtime | null = null
    if (next.ok && started.issuer?.prefix !== next.value.config.issuer?.prefix) {
      // The token service is started with the process, and issuer: caps every key by its
      // users file: a Runtime that disagrees with the running service is never installed.
      problems.push({ path: 'issuer', message: `${serviceChange(started, next.value.config)} only on restart; restart Gatehouse to apply it` })
    } else if (next.ok) {
      const unchangeable = restartOnly(started, next.value.config)
      if (unchangeable.length > 0) logger.warn({ fields: unchangeable }, 'these settings change only on restart; keeping the running ones')
      const c = await compileRuntime(next.value, opts.compileDeps)
      if (c.ok) nextRuntime = c.value
      else problems.push(...c.problems)
    }
    if (!nextRuntime) {
      // Caches the failed compile created are closed; the running runtime's stay.
      opts.compileDeps.jwksPool?.retainOnly(runtime.jwt.poolKeys)
      opts.onReload(false)
      logger.error({ problems }, 'reload failed; keeping the running configuration')
      return false
    }
    const old = runtime
    runtime = nextRuntime
    opts.onInstall(nextRuntime)
    old.close()
    opts.compileDeps.jwksPool?.retainOnly(nextRuntime.jwt.poolKeys)
    watchAccounts(nextRuntime)
    opts.onReload(true)
    logger.info('configuration reloaded')
    return true
  }

  // The users and clients files are re-read when they change (SPEC §8), like a SIGHUP.
  let watched: string[] = []
  const onAccountsChange = () => void reload()
  function watchAccounts(rt: Runtime) {
    const files = [rt.config.issuer?.usersFile, rt.config.issuer?.clientsFile].filter((f): f is string => typeof f === 'string')
    for (const f of watched) if (!files.includes(f)) unwatchFile(f, onAccountsChange)
    for (const f of files) if (!watched.includes(f)) watchFile(f, { interval: 500, persistent: false }, onAccountsChange)
    watched = files
  }

  return {
    current: () => runtime,
    reload,
    watchAccounts: () => watchAccounts(runtime),
    stopWatching() {
      for (const f of watched) unwatchFile(f, onAccountsChange)
      watched = []
    },
    close: () => runtime.close(),
  }
}

function serviceChange(a: Config, b: Config): string {
  if (!a.issuer) return 'the token service (issuer:) is turned on'
  if (!b.issuer) return 'the token service (issuer:) is turned off'
  return 'issuer.prefix changes'
}

/** Settings a reload cannot change: they are bound into listeners, the store, the cache or the logger at start. */
function restartOnly(a: Config, b: Config): string[] {
  const out: string[] = []
  if (a.listen !== b.listen) out.push('listen')
  if (a.admin.listen !== b.admin.listen) out.push('admin.listen')
  if (JSON.stringify(a.tls) !== JSON.stringify(b.tls)) out.push('tls')
  if (JSON.stringify(a.store) !== JSON.stringify(b.store)) out.push('store')
  if (JSON.stringify(a.cache) !== JSON.stringify(b.cache)) out.push('cache')
  if (a.log.level !== b.log.level) out.push('log.level')
  if (a.log.levelFormat !== b.log.levelFormat) out.push('log.levelFormat')
  if (a.limits.maxHeaderBytes !== b.limits.maxHeaderBytes) out.push('limits.maxHeaderBytes')
  return out
}
