// The one spawn helper of the tests, for what must run as its own process: the
// built `gatehouse` entry (dist/main.js, SPEC §1) — one-shot commands with their
// exit code and output, a `serve` child whose JSON log lines, signals and exit the
// lifecycle tests wait on — and the demo (dist/demo/demo.js). Everything else starts
// Gatehouse in-process (gatehouse.ts). Every wait is bounded; a child is only ever
// stopped by its own pid.
import { spawn, type ChildProcess } from 'node:child_process'
import { rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { msUntil } from './wait.js'

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const MAIN = path.join(PROJECT_ROOT, 'dist', 'main.js')
export const DEMO = path.join(PROJECT_ROOT, 'dist', 'demo', 'demo.js')

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface CliResult extends Exit {
  readonly stdout: string
  readonly stderr: string
}

/** The environment of a child: the test's own, without test-runner or config leftovers. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.GATEHOUSE_CONFIG
  delete env.NODE_TEST_CONTEXT
  delete env.NODE_OPTIONS
  return { ...env, ...extra }
}

export interface NodeChild {
  readonly pid: number
  readonly child: ChildProcess
  stdout(): string
  stderr(): string
  /** Resolves once `ready()` holds (checked on every output); rejects when the child exits first or after timeoutMs. */
  waitUntil(ready: () => boolean, timeoutMs: number, what: string): Promise<void>
  /** Resolves when the process has exited (and its output is closed). */
  readonly exited: Promise<Exit>
  isRunning(): boolean
  /** `signal` (SIGTERM), then SIGKILL if it has not exited within timeoutMs. */
  stop(timeoutMs?: number, signal?: NodeJS.Signals): Promise<Exit>
}

export interface SpawnOptions {
  /** The whole environment of the child (childEnv() builds one). */
  readonly env: NodeJS.ProcessEnv
  readonly cwd?: string
  /** Written to stdin, which is then closed; stdin is ignored when absent. */
  readonly stdin?: string | Buffer
}

/** `node ...args`, its output collected. */
export function spawnNode(args: readonly string[], opts: SpawnOptions): NodeChild {
  const child = spawn(process.execPath, args, { cwd: opts.cwd ?? PROJECT_ROOT, env: opts.env, stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  let running = true
  const waiters = new Set<() => void>()
  const notify = () => {
    for (const w of [...waiters]) w()
  }
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    out += c
    notify()
  })
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    err += c
    notify()
  })
  if (child.stdin) {
    child.stdin.on('error', () => {}) // the child may exit before reading stdin
    child.stdin.end(opts.stdin)
  }
  const exited = new Promise<Exit>((resolve) => {
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

  function waitUntil(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (ready()) {
          done()
          resolve()
        } else if (!running) {
          done()
          reject(new Error(`the child exited before ${what}; stdout: ${out.slice(-2000)}; stderr: ${err.slice(-2000)}`))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`no ${what} within ${timeoutMs} ms; stdout: ${out.slice(-2000)}; stderr: ${err.slice(-2000)}`))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })
  }

  async function stop(timeoutMs = 5000, signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (running) {
      child.kill(signal)
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      await exited
      clearTimeout(t)
    }
    return exited
  }

  return { pid: child.pid as number, child, stdout: () => out, stderr: () => err, waitUntil, exited, isRunning: () => running, stop }
}

export interface RunOptions {
  /** Written to stdin, which is then closed (an empty stdin when absent). */
  readonly stdin?: string | Buffer
  /** Merged over the test's environment; GATEHOUSE_CONFIG is removed unless given here. */
  readonly env?: NodeJS.ProcessEnv
  readonly timeoutMs?: number
}

/** `node dist/main.js ...args` to completion; rejects (after killing it) past timeoutMs. */
export async function runCli(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000
  const p = spawnNode([MAIN, ...args], { env: childEnv(opts.env), stdin: opts.stdin ?? '' })
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      p.child.kill('SIGKILL')
      reject(new Error(`gatehouse ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${p.stderr()}`))
    }, timeoutMs)
  })
  try {
    const exit = await Promise.race([p.exited, late])
    return { ...exit, stdout: p.stdout(), stderr: p.stderr() }
  } finally {
    clearTimeout(timer)
  }
}

export interface ServeProcess extends NodeChild {
  /** http://127.0.0.1:PORT of the traffic port, from the "gatehouse listening" log line. */
  readonly proxyUrl: string
  readonly adminUrl: string
  /** stdout's JSON log lines so far, parsed (other lines skipped). */
  logs(): Record<string, unknown>[]
  /** Resolves with the first log line (already seen or to come) that matches, or rejects after timeoutMs. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>
}

/** `node dist/main.js serve --config FILE` (or with GATEHOUSE_CONFIG in env and no args). */
export async function startServe(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ServeProcess> {
  const p = spawnNode([MAIN, 'serve', ...args], { env: childEnv(opts.env) })
  const logs = () => parseJsonLines(p.stdout())
  async function waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
    await p.waitUntil(() => logs().some(match), timeoutMs, 'the expected log line')
    return logs().find(match) as Record<string, unknown>
  }
  let listening: Record<string, unknown>
  try {
    listening = await waitForLog((l) => l.msg === 'gatehouse listening', opts.timeoutMs ?? 20_000)
  } catch (e) {
    await p.stop(1000)
    throw e
  }
  return { ...p, proxyUrl: String(listening.proxy), adminUrl: String(listening.admin), logs, waitForLog }
}

export interface DemoProcess extends NodeChild {
  /** Everything it printed so far, stdout and stderr in arrival order. */
  output(): string
}

/** `node dist/demo/demo.js` (`npm start`) on port 0 with its data in `dir`, once it printed "Stop with Ctrl-C." */
export async function startDemo(dir: string, timeoutMs: number): Promise<DemoProcess> {
  const p = spawnNode([DEMO], { env: { ...process.env, GATEHOUSE_DEMO_DIR: dir, GATEHOUSE_DEMO_PORT: '0', GATEHOUSE_DEMO_ADMIN_PORT: '0' } })
  let both = ''
  p.child.stdout?.on('data', (c: string) => (both += c))
  p.child.stderr?.on('data', (c: string) => (both += c))
  const demo: DemoProcess = { ...p, output: () => both }
  // A start-up bound, not a claim under test: generous for a loaded machine.
  await p.waitUntil(() => (p.stdout() + p.stderr()).includes('Stop with Ctrl-C.'), timeoutMs, '"Stop with Ctrl-C." (demo started)').catch(async (err: Error) => {
    await p.stop(1000)
    throw err
  })
  return demo
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
