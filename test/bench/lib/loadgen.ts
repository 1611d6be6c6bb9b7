// The load generators as the orchestrator sees them: wrk (a child per run, when
// installed: C, microsecond histogram, the cheapest per request) or the
// autocannon worker for closed-loop runs, and the paced worker for fixed-rate
// runs. Every run is bounded: duration + a grace period, then the generator is
// killed (wrk) or the run fails (worker).
import type { ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { LoadJob, LoadResult } from '../load-worker.js'
import { exited, spawnTracked, stopChild } from './children.js'
import { PERCENTILES, pKey, type LatencySummary } from './histogram.js'

export type { LoadResult }

const HERE = path.dirname(fileURLToPath(import.meta.url))
const WRK_SCRIPT = path.join(HERE, '..', 'wrk-requests.lua')
const WORKER = path.join(HERE, '..', 'load-worker.ts')
const TSX = import.meta.resolve('tsx')

export interface RunSpec {
  readonly host: string
  readonly port: number
  readonly requestFile: string
  readonly connections: number
  readonly durationS: number
  /** Fixed offered rate (req/s): paced, open loop. Absent: closed loop. */
  readonly rate?: number
}

export interface LoadGenerator {
  readonly name: string
  run(spec: RunSpec): Promise<LoadResult>
  close(): Promise<void>
}

/** The worker process (autocannon closed loop, paced fixed rate), pinned to `cpu`. */
export async function startWorker(cpu: number | null, env: NodeJS.ProcessEnv): Promise<LoadGenerator & { readonly pid: number }> {
  const child: ChildProcess = spawnTracked('load-worker', cpu, process.execPath, ['--import', TSX, WORKER], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env,
  })
  let nextId = 1
  const waiting = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>()
  child.on('message', (m: { type: string; id?: number; result?: LoadResult; message?: string }) => {
    const w = m.id === undefined ? undefined : waiting.get(m.id)
    if (!w || m.id === undefined) return
    waiting.delete(m.id)
    if (m.type === 'result' && m.result) w.resolve(m.result)
    else w.reject(new Error(`load worker: ${m.message ?? 'failed'}`))
  })
  void exited(child).then(({ code, signal }) => {
    for (const w of waiting.values()) w.reject(new Error(`load worker exited (${code ?? signal})`))
    waiting.clear()
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('load worker did not start within 20 s')), 20_000)
    child.once('message', () => {
      clearTimeout(timer)
      resolve()
    })
    child.once('exit', () => {
      clearTimeout(timer)
      reject(new Error('load worker exited during start-up'))
    })
  })
  return {
    name: 'autocannon',
    pid: child.pid as number,
    run(spec) {
      const id = nextId++
      const job: LoadJob = { id, mode: spec.rate ? 'paced' : 'closed', ...spec }
      return new Promise<LoadResult>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id)
          reject(new Error(`load worker run did not finish within ${spec.durationS + 30} s`))
        }, (spec.durationS + 30) * 1000)
        waiting.set(id, {
          resolve: (r) => {
            clearTimeout(timer)
            resolve(r)
          },
          reject: (e) => {
            clearTimeout(timer)
            reject(e)
          },
        })
        child.send({ type: 'job', job })
      })
    },
    async close() {
      if (child.connected) child.send({ type: 'exit' })
      await stopChild(child, 2000)
    },
  }
}

/** wrk, one child per run: closed loop only. */
export function wrkGenerator(wrkPath: string, cpu: number | null, env: NodeJS.ProcessEnv): LoadGenerator {
  // As in the worker: each run continues the rotation where the last run against
  // the same target stopped. Requests still in flight when wrk stopped are
  // unknown, so a connection's worth is skipped rather than risk a repeat.
  const offsets = new Map<string, number>()
  return {
    name: 'wrk',
    async run(spec) {
      if (spec.rate) throw new Error('wrk cannot pace a fixed rate; the paced worker does that')
      const key = `${spec.requestFile}|${spec.port}`
      const offset = offsets.get(key) ?? 0
      const args = ['-t1', `-c${spec.connections}`, `-d${spec.durationS}s`, '--timeout', '10s', '-s', WRK_SCRIPT, `http://${spec.host}:${spec.port}/`, '--', spec.requestFile, String(offset)]
      const child = spawnTracked('wrk', cpu, wrkPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
      let out = ''
      let err = ''
      child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c))
      child.stderr?.setEncoding('utf8').on('data', (c: string) => (err += c))
      const timer = setTimeout(() => void stopChild(child, 1000), (spec.durationS + 20) * 1000)
      const { code, signal } = await exited(child)
      clearTimeout(timer)
      const line = out.split('\n').find((l) => l.startsWith('BENCH '))
      if (!line) throw new Error(`wrk gave no result (exit ${code ?? signal}): ${(err || out).trim().slice(-500)}`)
      const f: Record<string, number> = {}
      for (const kv of line.slice(6).trim().split(/\s+/)) {
        const [k, v] = kv.split('=')
        if (k && v !== undefined) f[k] = Number(v)
      }
      const num = (k: string) => f[k] ?? Number.NaN
      const requests = num('requests')
      offsets.set(key, offset + (Number.isFinite(requests) ? requests : 0) + spec.connections)
      const durationS = num('duration_us') / 1e6
      const latencyUs: LatencySummary = { min: num('min'), max: num('max'), mean: num('mean') }
      for (const p of PERCENTILES) latencyUs[pKey(p)] = num(pKey(p))
      const non2xx = num('non2xx')
      const statuses: Record<string, number> = { '2xx/3xx': requests - non2xx }
      if (non2xx > 0) statuses['4xx/5xx'] = non2xx
      return {
        requests,
        durationS,
        rps: requests / durationS,
        latencyUs,
        statuses,
        errors: num('connect_err') + num('read_err') + num('write_err'),
        timeouts: num('timeout_err'),
        missed: 0,
        generatorCpuUs: Number.NaN, // counted through the orchestrator's reaped-children time
      }
    },
    async close() {},
  }
}
