// The load generator process (pinned to the load core by proxy.bench.ts), so the
// generator's CPU is never Gatehouse's. It stays up for the whole run and takes
// jobs over IPC:
//  - mode "closed": autocannon, N keep-alive connections, no think time. The
//    request set is rotated globally across connections (each new request takes
//    the next buffer), so 10,000 distinct credentials are spread evenly and no
//    two connections send the same one in lockstep. Latency is recorded per
//    response in µs (autocannon's own histogram has 1 ms resolution).
//  - mode "paced": a fixed offered rate, open loop (wrk2-style): request i is
//    due at start + i/rate. A request that had to wait for a free connection
//    (every connection busy with the target) is timed from its due time, so a
//    stall shows up as latency instead of silently lowering the rate; one sent
//    on the timer tick that scheduled it is timed from its send, so the
//    generator's own ~1 ms timer granularity is not charged to the target. Not
//    autocannon's overallRate, which lets each connection send its whole
//    per-second quota back to back at the top of every second (bursts at
//    saturation, then silence) — see the README beside this file.
import autocannon from 'autocannon'
import { LatencyHistogram, type LatencySummary } from './lib/histogram.js'
import { RawConnection } from './lib/raw-client.js'
import { readRequestFile } from './lib/requests.js'

export interface LoadJob {
  readonly id: number
  readonly mode: 'closed' | 'paced'
  readonly host: string
  readonly port: number
  readonly requestFile: string
  readonly connections: number
  readonly durationS: number
  /** paced only: requests per second offered. */
  readonly rate?: number
}

export interface LoadResult {
  readonly requests: number
  readonly durationS: number
  readonly rps: number
  readonly latencyUs: LatencySummary
  readonly statuses: Record<string, number>
  readonly errors: number
  readonly timeouts: number
  /** paced: requests that were due but never sent (the target could not keep up). */
  readonly missed: number
  readonly generatorCpuUs: number
  /** paced: the samples at or above this run's p99, as [start, end] in epoch ms (tail attribution). */
  readonly slowest?: [number, number][]
}

type Message = { type: 'job'; job: LoadJob } | { type: 'exit' }

const requestCache = new Map<string, Buffer[]>()
/**
 * Where the rotation stopped, per request file and target port: the next run
 * against the same target continues from there, so a cycle of N distinct
 * credentials stays strictly cyclic across warm-up and rounds (a restart at #0
 * would resend what the warm-up just put in the cache).
 */
const offsets = new Map<string, number>()
const offsetKey = (job: LoadJob) => `${job.requestFile}|${job.port}`
function requestsOf(file: string): Buffer[] {
  let r = requestCache.get(file)
  if (!r) {
    if (requestCache.size > 4) requestCache.clear()
    r = readRequestFile(file)
    requestCache.set(file, r)
  }
  return r
}

function runClosed(job: LoadJob): Promise<LoadResult> {
  const bufs = requestsOf(job.requestFile)
  const n = bufs.length
  let next = offsets.get(offsetKey(job)) ?? 0
  const hist = new LatencyHistogram()
  const statuses: Record<string, number> = {}
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://${job.host}:${job.port}`,
        connections: job.connections,
        duration: job.durationS,
        timeout: 10,
        excludeErrorStats: false,
        setupClient: (client) => {
          client.getRequestBuffer = () => bufs[next++ % n] as Buffer
        },
      },
      (err, result) => {
        if (err) return reject(err)
        offsets.set(offsetKey(job), next % n)
        const cpu = process.cpuUsage(cpu0)
        const durationS = (performance.now() - t0) / 1000
        resolve({
          requests: hist.count,
          durationS,
          rps: hist.count / durationS,
          latencyUs: hist.summary(),
          statuses,
          errors: result.errors,
          timeouts: result.timeouts,
          missed: 0,
          generatorCpuUs: cpu.user + cpu.system,
        })
      },
    )
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      hist.record(ms * 1000)
      statuses[status] = (statuses[status] ?? 0) + 1
    })
  })
}

function runPaced(job: LoadJob): Promise<LoadResult> {
  const bufs = requestsOf(job.requestFile)
  const n = bufs.length
  const rate = job.rate ?? 1000
  const intervalMs = 1000 / rate
  const hist = new LatencyHistogram()
  const statuses: Record<string, number> = {}
  // every sample's start (performance.now ms) and latency (µs), for the p99 samples' times
  const starts: number[] = []
  const latencies: number[] = []
  const idle: RawConnection[] = []
  for (let i = 0; i < job.connections; i++) idle.push(new RawConnection(job.host, job.port))
  const all = [...idle]
  // due times of requests scheduled but not yet sent (a ring would save little here)
  const queue: number[] = []
  let qHead = 0
  let scheduled = 0
  let sent = 0
  let done = 0
  let errors = 0
  let stopping = false
  const first = offsets.get(offsetKey(job)) ?? 0
  const cpu0 = process.cpuUsage()
  const start = performance.now()
  const endAt = start + job.durationS * 1000

  return new Promise((resolve) => {
    let finishTimer: NodeJS.Timeout | undefined
    const finish = () => {
      clearTimeout(finishTimer)
      for (const c of all) c.destroy()
      offsets.set(offsetKey(job), (first + sent) % n)
      const cpu = process.cpuUsage(cpu0)
      const durationS = job.durationS
      resolve({
        requests: done,
        durationS,
        rps: done / durationS,
        latencyUs: hist.summary(),
        statuses,
        errors,
        timeouts: sent - done - errors,
        missed: scheduled - sent,
        generatorCpuUs: cpu.user + cpu.system,
        slowest: slowestOf(starts, latencies),
      })
    }
    // Queue entries at or after this index were scheduled by the running tick.
    let freshFrom = Number.POSITIVE_INFINITY
    const dispatch = () => {
      while (qHead < queue.length && idle.length > 0) {
        const fresh = qHead >= freshFrom
        const due = queue[qHead++] as number
        const from = fresh ? Math.max(due, performance.now()) : due
        const c = idle.pop() as RawConnection
        const buf = bufs[(first + sent++) % n] as Buffer
        c.send(buf, (err, res) => {
          if (err || !res) errors++
          else {
            done++
            const us = (performance.now() - from) * 1000
            hist.record(us)
            starts.push(from)
            latencies.push(us)
            statuses[res.status] = (statuses[res.status] ?? 0) + 1
          }
          idle.push(c)
          if (stopping) {
            if (idle.length === all.length) finish()
          } else dispatch()
        })
      }
      if (qHead > 4096 && qHead * 2 > queue.length) {
        queue.splice(0, qHead)
        if (Number.isFinite(freshFrom)) freshFrom -= qHead
        qHead = 0
      }
    }
    const tick = () => {
      const now = performance.now()
      const dueCount = Math.floor((Math.min(now, endAt) - start) / intervalMs) + 1
      freshFrom = queue.length
      while (scheduled < dueCount) queue.push(start + scheduled++ * intervalMs)
      dispatch()
      freshFrom = Number.POSITIVE_INFINITY
      if (now < endAt) setTimeout(tick, 1)
      else {
        stopping = true
        if (idle.length === all.length) finish()
        else finishTimer = setTimeout(finish, 10_000) // in-flight requests get 10 s
      }
    }
    tick()
  })
}

/** Samples at or above the p99 of their run, as [start, end] in epoch ms. */
function slowestOf(starts: number[], latencies: number[]): [number, number][] {
  if (latencies.length === 0) return []
  const sorted = Float64Array.from(latencies).sort()
  const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] as number
  const out: [number, number][] = []
  for (let i = 0; i < latencies.length; i++) {
    const us = latencies[i] as number
    if (us >= p99) {
      const start = performance.timeOrigin + (starts[i] as number)
      out.push([start, start + us / 1000])
    }
  }
  return out
}

process.on('message', (msg: Message) => {
  if (msg.type === 'exit') process.exit(0)
  const job = msg.job
  const run = job.mode === 'paced' ? runPaced(job) : runClosed(job)
  run.then(
    (result) => process.send?.({ type: 'result', id: job.id, result }),
    (err: unknown) => process.send?.({ type: 'error', id: job.id, message: err instanceof Error ? err.message : String(err) }),
  )
})
process.on('disconnect', () => process.exit(0))
process.send?.({ type: 'ready' })
