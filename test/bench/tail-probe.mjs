// Loaded into Gatehouse by the bench for the fixed-rate scenarios
// (`node --import test/bench/tail-probe.mjs dist/main.js serve`, TAIL_PROBE_OUT=file):
// records what could stall the event loop, so the report can say which share of
// the p99 samples coincided with what (issue 17):
//  - GC pauses (PerformanceObserver 'gc': start, duration, kind),
//  - log flushes (fs.writeSync on fd 1: the access log's batches),
//  - timer callbacks (setTimeout/setInterval, e.g. the log's periodic flush),
//  - the event-loop delay (monitorEventLoopDelay, 1 ms resolution).
// Times are epoch ms (performance.timeOrigin + now), comparable with the load
// worker's. Written once, at exit. Bench only: it wraps functions and costs CPU.
import fs, { writeFileSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks'

const out = process.env.TAIL_PROBE_OUT
const MAX = 500_000
const origin = performance.timeOrigin
const gc = []
const flushes = []
const timers = []
const push = (list, a, b) => {
  if (list.length < MAX) list.push([a, b])
}

if (out) {
  const gcKinds = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' }
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (gc.length < MAX) gc.push([origin + e.startTime, e.duration, gcKinds[e.detail?.kind] ?? String(e.detail?.kind)])
  }).observe({ entryTypes: ['gc'] })

  const eld = monitorEventLoopDelay({ resolution: 1 })
  eld.enable()

  const realWriteSync = fs.writeSync
  fs.writeSync = function (fd, ...rest) {
    if (fd !== 1) return realWriteSync.call(fs, fd, ...rest)
    const t = performance.now()
    try {
      return realWriteSync.call(fs, fd, ...rest)
    } finally {
      push(flushes, origin + t, performance.now() - t)
    }
  }
  syncBuiltinESMExports()

  const wrapTimer = (real) =>
    function (fn, ...rest) {
      if (typeof fn !== 'function') return real(fn, ...rest)
      return real(function (...args) {
        const t = performance.now()
        try {
          return fn.apply(this, args)
        } finally {
          push(timers, origin + t, performance.now() - t)
        }
      }, ...rest)
    }
  globalThis.setTimeout = wrapTimer(globalThis.setTimeout)
  globalThis.setInterval = wrapTimer(globalThis.setInterval)

  process.once('exit', () => {
    eld.disable()
    const pct = (p) => eld.percentile(p) / 1e6
    writeFileSync(
      out,
      JSON.stringify({
        eventLoopDelayMs: { p50: pct(50), p99: pct(99), p99_9: pct(99.9), max: eld.max / 1e6, mean: eld.mean / 1e6 },
        gc,
        flushes,
        timers,
      }),
    )
  })
}
