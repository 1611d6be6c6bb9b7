// Runs an external tool to completion with a time limit; never through a shell.
import { spawnSync } from 'node:child_process'

export interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export function run(bin: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; uid?: number; gid?: number } = {}): RunResult {
  const r = spawnSync(bin, args, {
    cwd: opts.cwd,
    uid: opts.uid,
    gid: opts.gid,
    env: opts.env ?? process.env,
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
  })
  if (r.error) throw new Error(`${bin} ${args.join(' ')}: ${r.error.message}`)
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Like run, but throws with the tool's output unless it exits 0. */
export function runOk(bin: string, args: readonly string[], opts: Parameters<typeof run>[2] = {}): RunResult {
  const r = run(bin, args, opts)
  if (r.code !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`)
  return r
}
