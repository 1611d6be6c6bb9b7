// Tail attribution (issue 17): which share of a fixed-rate run's p99 samples
// coincided with a GC pause, a log flush or a timer callback in Gatehouse, from the
// load worker's slowest samples and test/bench/tail-probe.mjs's record.
import { readFileSync } from 'node:fs'
import type { TailAttribution } from './report.js'

type Span = [number, number]
interface ProbeRecord {
  eventLoopDelayMs: Record<string, number>
  gc: [number, number, string][]
  flushes: [number, number][]
  timers: [number, number][]
}

/** Events as [start, end] sorted by start, and the longest one (bounds the search). */
function spans(events: readonly (readonly [number, number, ...unknown[]])[]): { s: Span[]; longest: number } {
  const s = events.map((e): Span => [e[0], e[0] + e[1]]).sort((a, b) => a[0] - b[0])
  return { s, longest: Math.max(0, ...s.map((x) => x[1] - x[0])) }
}

function overlaps(ev: { s: Span[]; longest: number }, [from, to]: Span): boolean {
  // first event that could still be running at `from`
  let lo = 0
  let hi = ev.s.length
  const earliest = from - ev.longest
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((ev.s[mid] as Span)[0] < earliest) lo = mid + 1
    else hi = mid
  }
  for (let i = lo; i < ev.s.length; i++) {
    const e = ev.s[i] as Span
    if (e[0] > to) break
    if (e[1] >= from) return true
  }
  return false
}

export function attributeTail(probeFile: string, slowest: readonly Span[], windows: readonly Span[]): TailAttribution | null {
  let rec: ProbeRecord
  try {
    rec = JSON.parse(readFileSync(probeFile, 'utf8')) as ProbeRecord
  } catch {
    return null
  }
  const inRuns = (t: number) => windows.some(([a, b]) => t >= a && t <= b)
  const gcIn = rec.gc.filter((g) => inRuns(g[0]))
  const flushIn = rec.flushes.filter((x) => inRuns(x[0]))
  const timersIn = rec.timers.filter((x) => inRuns(x[0]))
  const gc = spans(gcIn)
  const major = spans(gcIn.filter((g) => g[2] === 'major'))
  const flush = spans(flushIn)
  const timer = spans(timersIn)
  let nGc = 0
  let nMajor = 0
  let nFlush = 0
  let nTimer = 0
  let nNone = 0
  for (const sp of slowest) {
    const a = overlaps(gc, sp)
    const b = overlaps(flush, sp)
    const c = overlaps(timer, sp)
    if (a) nGc++
    if (overlaps(major, sp)) nMajor++
    if (b) nFlush++
    if (c) nTimer++
    if (!a && !b && !c) nNone++
  }
  const pct = (n: number) => (slowest.length > 0 ? (100 * n) / slowest.length : Number.NaN)
  const byKind: Record<string, number> = {}
  for (const g of gcIn) byKind[g[2]] = (byKind[g[2]] ?? 0) + 1
  return {
    samples: slowest.length,
    pct: { gc: pct(nGc), gcMajor: pct(nMajor), logFlush: pct(nFlush), timer: pct(nTimer), none: pct(nNone) },
    gc: { count: gcIn.length, totalMs: gcIn.reduce((t, g) => t + g[1], 0), maxMs: Math.max(0, ...gcIn.map((g) => g[1])), byKind },
    logFlushes: { count: flushIn.length, maxMs: Math.max(0, ...flushIn.map((x) => x[1])) },
    timers: { count: timersIn.length, maxMs: Math.max(0, ...timersIn.map((x) => x[1])) },
    eventLoopDelayMs: rec.eventLoopDelayMs,
  }
}
