// Runs the built `gatehouse` entry (dist/main.js, SPEC §1) as a real child process:
// one-shot commands with their exit code and output, and a `serve` child whose
// JSON log lines, signals and exit the lifecycle tests wait on. Every wait is
// bounded; a child is only ever stopped by its own pid.
import { spawn, type ChildProcess } from 'node:child_process'
import { rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { msUntil } from './wait.js'

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const MAIN = path.join(PROJECT_ROOT, 'dist', 'main.js')

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface RunOptions {
  /** Written to stdin, which is then closed (an empty stdin when absent). */
  readonly stdin?: string | Buffer
  /** Merged over the test's environment; GATEHOUSE_CONFIG is removed unless given here. */
  readonly env?: NodeJS.ProcessEnv
  readonly timeoutMs?: number
}

/** The environment of a child: the test's own, without test-runner or config leftovers. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.GATEHOUSE_CONFIG
  delete env.NODE_TEST_CONTEXT
  delete env.NODE_OPTIONS
  return { ...env, ...extra }
}

/** `node dist/main.js ...args` to completion; rejects (after killing it) past timeoutMs. */
export function runCli(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: PROJECT_ROOT, env: childEnv(opts.env), stdio: 'pipe' })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  child.stdin.on('error', () => {}) // the child may exit before reading stdin
  child.stdin.end(opts.stdin ?? '')
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`gatehouse ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${stderr}`))
    }, timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

export interface ServeProcess {
  readonly pid: number
  readonly child: ChildProcess
  /** http://127.0.0.1:PORT of the traffic port, from the "gatehouse listening" log line. */
  readonly proxyUrl: string
  readonly adminUrl: string
  stdout(): string
  stderr(): string
  /** stdout's JSON log lines so far, parsed (other lines skipped). */
  logs(): Record<string, unknown>[]
  /** Resolves with the first log line (already seen or to come) that matches, or rejects after timeoutMs. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  isRunning(): boolean
  /** SIGTERM, then SIGKILL if it has not exited within timeoutMs. */
  stop(timeoutMs?: number): Promise<void>
}

/** `node dist/main.js serve --config FILE` (or with GATEHOUSE_CONFIG in env and no args). */
export async function startServe(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [MAIN, 'serve', ...args], { cwd: PROJECT_ROOT, env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  let running = true
  const waiters = new Set<() => void>()
  const notify = () => {
    for (const w of [...waiters]) w()
  }
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c
    notify()
  })
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    err += c
    notify()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('error', (e) => {
      err += `spawn failed: ${e.message}\n`
      running = false
      resolve({ code: null, signal: null })
      notify()
    })
    child.on('close', (code, signal) => {
      running = false
      resolve({ code, signal })
      notify()
    })
  })
  const logs = () => parseJsonLines(out)

  function waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = logs().find(match)
        if (found) {
          done()
          resolve(found)
        } else if (!running) {
          done()
          reject(new Error(`gatehouse exited before the expected log line; stderr: ${err}`))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`no matching log line within ${timeoutMs} ms; stdout: ${out.slice(-2000)}; stderr: ${err.slice(-2000)}`))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })
  }

  async function stop(timeoutMs = 5000): Promise<void> {
    if (!running) return
    child.kill('SIGTERM')
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    await exited
    clearTimeout(t)
  }

  let listening: Record<string, unknown>
  try {
    listening = await waitForLog((l) => l.msg === 'gatehouse listening', opts.timeoutMs ?? 20_000)
  } catch (e) {
    await stop(1000)
    throw e
  }
  return {
    pid: child.pid as number,
    child,
    proxyUrl: String(listening.proxy),
    adminUrl: String(listening.admin),
    stdout: () => out,
    stderr: () => err,
    logs,
    waitForLog,
    exited,
    isRunning: () => running,
    stop,
  }
}

export function parseJsonLines(text: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = []
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>)
    } catch {
      // a line still being written
    }
  }
  return lines
}

/** A config for a child `serve`: loopback listeners on port 0, the file store beside it. */
export function serveConfig(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    listen: '127.0.0.1:0',
    admin: { listen: '127.0.0.1:0' },
    store: { type: 'file', path: './apikeys.json' },
    log: { level: 'info' },
    ...extra,
  }
}

/** Writes YAML (or text) through a temp file and a rename, so a watcher never sees half a file. */
export async function writeAtomically(file: string, content: Record<string, unknown> | string): Promise<void> {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  await writeFile(temp, typeof content === 'string' ? content : stringify(content), { mode: 0o600 })
  await rename(temp, file)
}

/** Calls `probe` every intervalMs until it returns true or timeoutMs passes: the ms it took, or null (test/support/wait.ts). */
export const pollUntil = (probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<number | null> => msUntil(probe, timeoutMs, intervalMs)
