// Every process the benchmark starts is registered here and stopped by its own
// PID at the end — on success, on failure, on Ctrl-C, on the global deadline.
// Pinning uses `taskset -c CPU cmd…`, which execs cmd: the PID we hold is the
// pinned process itself, and threads it creates inherit the affinity.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import path from 'node:path'

const live = new Map<number, { name: string; child: ChildProcess; graceMs: number }>()
/** Children spawned `detached` lead their own process group: signals go to the whole group (-pid). */
const groupLeaders = new WeakSet<ChildProcess>()

export function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue
    try {
      accessSync(path.join(dir, name), constants.X_OK)
      return path.join(dir, name)
    } catch {
      // not here
    }
  }
  return null
}

export const TASKSET = onPath('taskset')

/** A process's CPU affinity list (e.g. "0,1"), or null without taskset. */
export function affinityOf(pid: number): string | null {
  if (!TASKSET) return null
  const r = spawnSync(TASKSET, ['-p', '-c', String(pid)], { encoding: 'utf8', timeout: 5000 })
  return /list:\s*(\S+)/.exec(r.stdout ?? '')?.[1] ?? null
}

/**
 * Spawns `cmd args` (pinned to `cpu` when taskset exists and cpu is not null) and registers it.
 * With `opts.detached` it leads its own process group and is stopped as a group;
 * `graceMs` is how long stopAll lets it clean up after SIGTERM.
 */
export function spawnTracked(name: string, cpu: number | null, cmd: string, args: readonly string[], opts: SpawnOptions, graceMs = 3000): ChildProcess {
  const child = cpu !== null && TASKSET ? spawn(TASKSET, ['-c', String(cpu), cmd, ...args], opts) : spawn(cmd, args, opts)
  if (child.pid === undefined) {
    // spawn failed synchronously (ENOENT is reported through 'error'); keep the error visible
    child.once('error', () => {})
    throw new Error(`could not start ${name} (${cmd})`)
  }
  const pid = child.pid
  if (opts.detached) groupLeaders.add(child)
  live.set(pid, { name, child, graceMs })
  child.once('exit', () => live.delete(pid))
  return child
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
}

/** The PID to signal: -pid (its process group) for a group leader. */
const target = (child: ChildProcess, pid: number) => (groupLeaders.has(child) ? -pid : pid)

/** SIGTERM, then SIGKILL after graceMs; resolves when it has exited. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  const done = exited(child)
  try {
    process.kill(target(child, child.pid), 'SIGTERM')
  } catch {
    return
  }
  let timer: NodeJS.Timeout | undefined
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(target(child, child.pid), 'SIGKILL')
      } catch {
        // already gone
      }
      resolve()
    }, graceMs)
  })
  await Promise.race([done, killed])
  clearTimeout(timer)
  await Promise.race([done, new Promise((r) => setTimeout(r, 2000))])
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live.values()].map(({ child, graceMs }) => stopChild(child, graceMs)))
}

export function liveChildren(): { pid: number; name: string }[] {
  return [...live.entries()].map(([pid, v]) => ({ pid, name: v.name }))
}

// Last resort: whatever is still registered when this process exits gets SIGKILL, by PID.
process.on('exit', () => {
  for (const [pid, { child }] of live) {
    try {
      process.kill(target(child, pid), 'SIGKILL')
    } catch {
      // already gone
    }
  }
})
