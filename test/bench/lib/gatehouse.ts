// Gatehouse under test: `node dist/main.js serve --config FILE` as a child,
// pinned to the proxy core, its stdout (the JSON access log, one line per
// request, as in production) drained through a pipe and counted, never stored
// beyond a short head and tail. Readiness is the "gatehouse listening" line, or,
// at a log level that hides it, the admin port's /readyz on ports given up front.
import type { ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { exited, spawnTracked, stopChild } from './children.js'
import { startBenchServer } from './serve.js'

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
export const MAIN = path.join(PROJECT_ROOT, 'dist', 'main.js')

export interface RunningGatehouse {
  readonly pid: number
  readonly port: number
  readonly adminUrl: string
  /** Decision mode: the front proxy (nginx master) asking this Gatehouse; its CPU and its workers' count with Gatehouse's. */
  readonly frontPid?: number
  /** Log lines seen so far (the access log is one per request at level info). */
  lines(): number
  /** The last few hundred bytes of stdout and stderr, for error messages. */
  tail(): string
  /** The Prometheus counters the report uses (auth cache hits and misses). */
  cacheCounters(): Promise<{ hits: number; misses: number } | null>
  stop(): Promise<void>
}

/** The environment of a child: ours without loaders or test-runner settings. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.NODE_OPTIONS
  delete env.NODE_TEST_CONTEXT
  delete env.GATEHOUSE_CONFIG
  return { ...env, ...extra }
}

export async function startGatehouse(
  configFile: string,
  cpu: number | null,
  env: NodeJS.ProcessEnv,
  nodeArgs: readonly string[] = [],
  ports?: { proxy: number; admin: number },
  timeoutMs = 20_000,
): Promise<RunningGatehouse> {
  const child: ChildProcess = spawnTracked('gatehouse', cpu, process.execPath, [...nodeArgs, MAIN, 'serve', '--config', configFile], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let lines = 0
  let head = ''
  let tail = ''
  let errTail = ''
  let listening: { proxy?: string; admin?: string } | null = null
  const waiters = new Set<() => void>()
  child.stdout?.on('data', (chunk: Buffer) => {
    let at = -1
    while ((at = chunk.indexOf(10, at + 1)) >= 0) lines++
    if (head.length < 65_536) {
      head += chunk.toString('utf8')
      if (!listening) {
        const line = head.split('\n').find((l) => l.includes('"gatehouse listening"'))
        if (line) {
          try {
            listening = JSON.parse(line) as { proxy?: string; admin?: string }
          } catch {
            // not complete yet
          }
          for (const w of waiters) w()
        }
      }
    }
    tail = (tail + chunk.toString('utf8')).slice(-1000)
  })
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (errTail = (errTail + c).slice(-2000)))
  const gone = exited(child)
  if (ports) void readyOn(ports, gone, timeoutMs).then((ok) => {
    if (ok && !listening) listening = { proxy: `http://127.0.0.1:${ports.proxy}`, admin: `http://127.0.0.1:${ports.admin}` }
    for (const w of waiters) w()
  })
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs)
    const check = () => {
      if (listening) {
        clearTimeout(timer)
        resolve(true)
      }
    }
    waiters.add(check)
    void gone.then(() => {
      clearTimeout(timer)
      resolve(listening !== null)
    })
    check()
  })
  const describe = () => `${errTail.trim()}\n${tail.trim()}`.trim().slice(-1500)
  if (!ready || !listening) {
    await stopChild(child, 1000)
    throw new Error(`gatehouse did not start: ${describe() || 'no output'}`)
  }
  const l = listening as { proxy?: string; admin?: string }
  const port = Number(new URL(String(l.proxy)).port)
  const adminUrl = String(l.admin)
  return {
    pid: child.pid as number,
    port,
    adminUrl,
    lines: () => lines,
    tail: describe,
    async cacheCounters() {
      try {
        const res = await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(5000) })
        const text = await res.text()
        const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN)
        return { hits: value('gatehouse_auth_cache_hits_total'), misses: value('gatehouse_auth_cache_misses_total') }
      } catch {
        return null
      }
    },
    stop: () => stopChild(child, 8000),
  }
}

/** The node-floor proxy (test/bench/node-floor.ts) in Gatehouse's place: same core, same load, no pipeline. */
export async function startNodeFloor(upstreamUrl: string, cpu: number | null, env: NodeJS.ProcessEnv, nodeArgs: readonly string[] = []): Promise<RunningGatehouse> {
  const { child, port, stderr } = await startBenchServer('node-floor', cpu, 'node-floor.ts', { ...env, UPSTREAM_URL: upstreamUrl }, nodeArgs)
  return {
    pid: child.pid as number,
    port,
    adminUrl: '',
    lines: () => 0,
    tail: stderr,
    cacheCounters: async () => null,
    stop: () => stopChild(child, 3000),
  }
}

/** Polls GET /readyz on the admin port until 200, the child's exit or the deadline (every 100 ms). */
async function readyOn(ports: { admin: number }, gone: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let over = false
  void gone.then(() => (over = true))
  const deadline = performance.now() + timeoutMs
  while (!over && performance.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${ports.admin}/readyz`, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (res.status === 200) return true
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return false
}
