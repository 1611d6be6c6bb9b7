// Turning runs into the report: per-scenario medians over rounds, ratios to the
// direct upstream computed inside each round (then the median of those), the
// same for node-floor run beside Gatehouse in each round (issue 17), the
// issue-7 and issue-17 targets that this run can judge, and the Markdown table.
import { PERCENTILES, pKey, type LatencySummary } from './histogram.js'

export interface RunRecord {
  readonly round: number
  /** node-floor: test/bench/node-floor.ts run in the same round as Gatehouse, on the same core, with the same requests. */
  readonly target: 'direct' | 'node-floor' | 'gatehouse'
  readonly requests: number
  readonly durationS: number
  readonly rps: number
  readonly latencyUs: LatencySummary
  readonly statuses: Record<string, number>
  readonly errors: number
  readonly timeouts: number
  /** paced runs: requests due but never sent. */
  readonly missed: number
  /** Answers other than the expected status, plus socket errors and timeouts. */
  readonly unexpected: number
  readonly gh: {
    readonly cpuUs: number
    readonly cpuUsPerReq: number
    /** Gatehouse's CPU over the run's wall time: 100 = one full core. */
    readonly corePct: number
    /** the kernel's share of cpuUsPerReq (stime): syscalls, socket and pipe writes */
    readonly sysUsPerReq: number
    readonly rssMaxMb: number
    readonly rssEndMb: number
    /** the private part of RSS (RssAnon), max over the run */
    readonly rssAnonMaxMb: number
    readonly hwmMb: number
    readonly rssSlopeMbPerMin: number
    readonly cacheHitPct: number | null
    readonly logLinesPerReq: number
  } | null
  readonly upstreamCpuUsPerReq: number
  readonly generatorPctOfCore: number
  readonly cpu: { readonly busy: Record<string, number>; readonly loadBusy: number; readonly proxyBusy: number; readonly stealMax: number }
  /** CPU used by processes that are not part of this benchmark, in % of one core. */
  readonly otherPctOfCore: number
}

export interface ScenarioSummary {
  readonly gh: {
    readonly rps: number
    readonly rpsMin: number
    readonly rpsMax: number
    readonly latencyUs: LatencySummary
    readonly cpuUsPerReq: number
    readonly sysUsPerReq: number
    readonly corePct: number
    readonly rssMaxMb: number
    readonly rssAnonMaxMb: number
    readonly rssSlopeMbPerMin: number
    readonly cacheHitPct: number | null
    readonly logLinesPerReq: number
  }
  readonly direct: { readonly rps: number; readonly latencyUs: LatencySummary; readonly upstreamCpuUsPerReq: number }
  readonly ratio: { readonly rps: number; readonly p50: number; readonly p99: number; readonly p99_9: number }
  readonly p99AddedUs: number
  readonly loadBusy: number
  readonly proxyBusy: number
  readonly otherPctMax: number
  readonly unexpected: number
  readonly missed: number
  readonly bound: string
  /** node-floor beside Gatehouse in the same rounds; null when the scenario had no node-floor runs. */
  readonly floor: FloorPairing | null
}

export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
}

/**
 * Gatehouse against node-floor run in the same round (direct, node-floor, Gatehouse,
 * a few seconds apart): each ratio and difference is taken inside one round, then
 * summarised over rounds, so the machine's drift between rounds cancels out.
 */
export interface FloorPairing {
  /** Rounds that had both a Gatehouse and a node-floor run. */
  readonly rounds: number
  readonly perRound: readonly {
    readonly round: number
    /** Gatehouse CPU µs/req ÷ node-floor CPU µs/req. */
    readonly cpuRatio: number
    /** p99 over the round's direct run (µs); NaN without a direct run. */
    readonly ghP99AddedUs: number
    readonly floorP99AddedUs: number
  }[]
  readonly cpuRatio: Spread
  readonly ghCpuUsPerReq: Spread
  readonly floorCpuUsPerReq: Spread
  readonly ghP99AddedUs: Spread
  readonly floorP99AddedUs: Spread
}

export interface ScenarioResult {
  readonly name: string
  readonly title: string
  readonly expect: number
  readonly paced: boolean
  readonly rate: number | null
  readonly connections: number
  readonly note: string | null
  skipped: string | null
  failed: string | null
  readonly preflight: string[]
  readonly runs: RunRecord[]
  summary: ScenarioSummary | null
  /** RSS right after start, before any request (MB). */
  rssIdleMb?: number | null
  rssIdleAnonMb?: number | null
  /** Fixed-rate scenarios: what the p99 samples of the Gatehouse runs coincided with (test/bench/tail-probe.mjs). */
  tail?: TailAttribution | null
}

export interface TailAttribution {
  readonly samples: number
  /** % of the p99 samples whose [start, end] overlaps at least one such event. */
  readonly pct: { readonly gc: number; readonly gcMajor: number; readonly logFlush: number; readonly timer: number; readonly none: number }
  /** Inside the timed Gatehouse runs. */
  readonly gc: { readonly count: number; readonly totalMs: number; readonly maxMs: number; readonly byKind: Record<string, number> }
  readonly logFlushes: { readonly count: number; readonly maxMs: number }
  readonly timers: { readonly count: number; readonly maxMs: number }
  /** monitorEventLoopDelay over the whole process life (ms). */
  readonly eventLoopDelayMs: Record<string, number>
}

export interface StartupRow {
  readonly command: string
  readonly runs: number
  /** user+system CPU per run, from the children's ticks in /proc (10 ms resolution, averaged). */
  readonly cpuMs: number
}

export interface VerifyRow {
  readonly alg: string
  readonly how: string
  readonly verifies: number
  readonly wallUsPerVerify: number
  readonly cpuUsPerVerify: number
}

export interface Target {
  readonly target: string
  readonly measured: string
  readonly verdict: 'met' | 'missed' | 'n/a'
}

/** One timed run of the peer harness (a row of bench-peers' results.tsv). */
export interface PeerRow {
  readonly round: number
  readonly regime: string
  readonly setup: string
  readonly rps: number
  readonly p50Us: number
  readonly p99Us: number
  readonly non2xx: number
  readonly sockErrors: number
  /** CPU used by processes outside the harness run while timing, % of one core. */
  readonly otherCpuPct: number
  readonly attempts: number
}

/** Gatehouse ÷ the reference peer, req/s, each ratio taken inside one round (the two runs seconds apart). */
export interface PeerPairing {
  readonly candidate: string
  readonly reference: string
  readonly regime: string
  readonly perRound: readonly { readonly round: number; readonly candidateRps: number; readonly referenceRps: number; readonly ratio: number; readonly quiet: boolean }[]
  /** As bench-peers' summarize.mjs: pairs with a noisy run are left out, unless no pair is quiet (then all are used). */
  readonly used: 'quiet' | 'all'
  readonly rounds: number
  readonly ratio: Spread
  readonly candidateRps: Spread
  readonly referenceRps: Spread
  /** non-2xx answers and socket errors in the pairs used. */
  readonly bad: number
}

/** The peer harness (bench-peers/run.sh) run at the end of the bench, or why it was not. */
export interface PeerRun {
  readonly status: 'measured' | 'off' | 'absent' | 'failed'
  /** Why it is off, absent or failed. */
  readonly reason: string | null
  readonly dir: string | null
  /** The knobs given to run.sh. */
  readonly settings: Record<string, string>
  readonly exitCode: number | null
  readonly seconds: number
  /** Every row of its results.tsv (raw). */
  readonly rows: readonly PeerRow[]
  readonly pairing: PeerPairing | null
  /** The end of its stderr log. */
  readonly logTail: string
}

export interface BenchReport {
  readonly startedAt: string
  readonly finishedAt: string
  readonly gatehouse: { readonly commit: string; readonly srcDirty: boolean; readonly main: string }
  readonly machine: { readonly cpuModel: string; readonly cpus: number; readonly kernel: string; readonly node: string; readonly loadavgAtEnd: number[] }
  readonly settings: Record<string, unknown>
  readonly verify: VerifyRow[]
  readonly scenarios: ScenarioResult[]
  startup?: StartupRow[]
  peers?: PeerRun
  targets?: Target[]
}

export function median(xs: readonly number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return Number.NaN
  const m = Math.floor(v.length / 2)
  return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2
}

export function spread(xs: readonly number[]): Spread {
  const v = xs.filter((x) => Number.isFinite(x))
  return { median: median(v), min: v.length ? Math.min(...v) : Number.NaN, max: v.length ? Math.max(...v) : Number.NaN }
}

/** Pairs each round's Gatehouse run with that round's node-floor (and direct) run; null without any such pair. */
export function pairFloor(runs: readonly RunRecord[]): FloorPairing | null {
  const inRound = (target: RunRecord['target'], round: number) => runs.find((r) => r.target === target && r.round === round)
  const p99 = (r: RunRecord | undefined) => r?.latencyUs.p99 ?? Number.NaN
  const cpu = (r: RunRecord) => r.gh?.cpuUsPerReq ?? Number.NaN
  const pairs = runs
    .filter((g) => g.target === 'gatehouse')
    .flatMap((g) => {
      const fl = inRound('node-floor', g.round)
      return fl ? [{ g, fl, d: inRound('direct', g.round) }] : []
    })
  if (pairs.length === 0) return null
  const perRound = pairs.map(({ g, fl, d }) => ({
    round: g.round,
    cpuRatio: cpu(g) / cpu(fl),
    ghP99AddedUs: p99(g) - p99(d),
    floorP99AddedUs: p99(fl) - p99(d),
  }))
  return {
    rounds: pairs.length,
    perRound,
    cpuRatio: spread(perRound.map((x) => x.cpuRatio)),
    ghCpuUsPerReq: spread(pairs.map((x) => cpu(x.g))),
    floorCpuUsPerReq: spread(pairs.map((x) => cpu(x.fl))),
    ghP99AddedUs: spread(perRound.map((x) => x.ghP99AddedUs)),
    floorP99AddedUs: spread(perRound.map((x) => x.floorP99AddedUs)),
  }
}

function medianLatency(runs: readonly RunRecord[]): LatencySummary {
  const out: LatencySummary = {}
  for (const k of ['min', 'max', 'mean', ...PERCENTILES.map(pKey)]) out[k] = median(runs.map((r) => r.latencyUs[k] ?? Number.NaN))
  return out
}

export function summarize(s: ScenarioResult): ScenarioSummary | null {
  const gh = s.runs.filter((r) => r.target === 'gatehouse')
  const direct = s.runs.filter((r) => r.target === 'direct')
  if (gh.length === 0 || direct.length === 0) return null
  const perRound = (f: (g: RunRecord, d: RunRecord) => number) =>
    median(gh.map((g) => {
      const d = direct.find((x) => x.round === g.round)
      return d ? f(g, d) : Number.NaN
    }))
  const lat = (r: RunRecord, k: string) => r.latencyUs[k] ?? Number.NaN
  const hit = gh.map((r) => r.gh?.cacheHitPct).filter((x): x is number => typeof x === 'number')
  const loadBusy = median(gh.map((r) => r.cpu.loadBusy))
  const proxyBusy = median(gh.map((r) => r.cpu.proxyBusy))
  const corePct = median(gh.map((r) => r.gh?.corePct ?? Number.NaN))
  const bound = s.paced
    ? 'offered rate'
    : proxyBusy >= 90
      ? corePct >= 85
        ? 'proxy core'
        : `proxy core, shared (Gatehouse had ${corePct.toFixed(0)} %)`
      : loadBusy >= 95
        ? 'load core'
        : 'neither (latency)'
  return {
    gh: {
      rps: median(gh.map((r) => r.rps)),
      rpsMin: Math.min(...gh.map((r) => r.rps)),
      rpsMax: Math.max(...gh.map((r) => r.rps)),
      latencyUs: medianLatency(gh),
      cpuUsPerReq: median(gh.map((r) => r.gh?.cpuUsPerReq ?? Number.NaN)),
      sysUsPerReq: median(gh.map((r) => r.gh?.sysUsPerReq ?? Number.NaN)),
      corePct: median(gh.map((r) => r.gh?.corePct ?? Number.NaN)),
      rssMaxMb: Math.max(...gh.map((r) => r.gh?.rssMaxMb ?? 0)),
      rssAnonMaxMb: Math.max(...gh.map((r) => r.gh?.rssAnonMaxMb ?? 0)),
      rssSlopeMbPerMin: median(gh.map((r) => r.gh?.rssSlopeMbPerMin ?? Number.NaN)),
      cacheHitPct: hit.length ? median(hit) : null,
      logLinesPerReq: median(gh.map((r) => r.gh?.logLinesPerReq ?? Number.NaN)),
    },
    direct: { rps: median(direct.map((r) => r.rps)), latencyUs: medianLatency(direct), upstreamCpuUsPerReq: median(direct.map((r) => r.upstreamCpuUsPerReq)) },
    ratio: {
      rps: perRound((g, d) => g.rps / d.rps),
      p50: perRound((g, d) => lat(g, 'p50') / lat(d, 'p50')),
      p99: perRound((g, d) => lat(g, 'p99') / lat(d, 'p99')),
      p99_9: perRound((g, d) => lat(g, 'p99_9') / lat(d, 'p99_9')),
    },
    p99AddedUs: perRound((g, d) => lat(g, 'p99') - lat(d, 'p99')),
    loadBusy,
    proxyBusy,
    otherPctMax: Math.max(...s.runs.map((r) => r.otherPctOfCore)),
    unexpected: gh.reduce((n, r) => n + r.unexpected, 0),
    missed: gh.reduce((n, r) => n + r.missed, 0),
    bound,
    floor: pairFloor(s.runs),
  }
}

// ------------------------------------------------------------------ formatting
const n0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–')
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–')
const ms = (us: number | undefined) => (us !== undefined && Number.isFinite(us) ? (us / 1000).toFixed(us < 10_000 ? 2 : 1) : '–')
const plusMs = (us: number) => (Number.isFinite(us) ? `${us < 0 ? '−' : '+'}${f(Math.abs(us) / 1000, 2)}` : '–')
/** "median × (min–max ×)" */
const ratioSpread = (x: Spread) => `${f(x.median)} × (${f(x.min)}–${f(x.max)} ×)`
/** "+median ms (+min – +max)" */
const addedMs = (x: Spread) => `${plusMs(x.median)} ms (${plusMs(x.min)} – ${plusMs(x.max)})`

export function computeTargets(r: BenchReport): Target[] {
  const s = (name: string) => r.scenarios.find((x) => x.name === name)?.summary ?? null
  const out: Target[] = []
  const pub = s('public')
  const rep = s('jwt-rs256')
  const dis = s('jwt-rs256-distinct')
  const floor = s('node-floor')
  const rateJwt = s('rate-jwt-rs256')
  const ratePub = s('rate-public')
  // Issue 17's table, in its order.
  for (const [a, name] of [
    [rateJwt, 'cached RS256 JWT'],
    [ratePub, 'public API'],
  ] as const) {
    if (a) {
      out.push({
        target: `p99 added over direct at the fixed rate, ${name} ≤ 1 ms`,
        measured: `${f(a.p99AddedUs / 1000, 3)} ms (p99 ${ms(a.gh.latencyUs.p99)} vs direct ${ms(a.direct.latencyUs.p99)} ms)${a.missed > 0 ? `; ${a.missed} requests could not be sent on time` : ''}`,
        verdict: a.p99AddedUs <= 1000 && a.missed === 0 ? 'met' : 'missed',
      })
      if (a.floor) {
        const fl = a.floor
        out.push({
          target: `reference: p99 added over direct at the fixed rate, ${name}: Gatehouse and node-floor in the same rounds`,
          measured:
            `Gatehouse ${addedMs(fl.ghP99AddedUs)}, node-floor ${addedMs(fl.floorP99AddedUs)} (medians of ${fl.rounds} rounds, min–max in brackets); ` +
            `CPU/req ÷ node-floor, same round ${ratioSpread(fl.cpuRatio)}`,
          verdict: 'n/a',
        })
      }
    }
  }
  const rateFloor = s('rate-node-floor')
  if (rateFloor) {
    out.push({
      target: 'reference: p99 added over direct at the fixed rate by node-floor (no checks, no log, no metrics)',
      measured: `${f(rateFloor.p99AddedUs / 1000, 3)} ms (p99 ${ms(rateFloor.gh.latencyUs.p99)} vs direct ${ms(rateFloor.direct.latencyUs.p99)} ms)${rateFloor.missed > 0 ? `; ${rateFloor.missed} requests could not be sent on time` : ''}`,
      verdict: 'n/a',
    })
  }
  for (const [a, name, limit] of [
    [pub, 'public', 1.3],
    [rep, 'cached RS256 JWT', 1.4],
  ] as const) {
    // The same-round ratio judges when there is one; the ratio to the separate node-floor
    // scenario (minutes apart, as noisy as the machine's drift) is then only a reference.
    if (a?.floor) {
      const fl = a.floor
      out.push({
        target: `CPU/req ÷ node-floor, same round, ${name} ≤ ${limit} ×`,
        measured: `${ratioSpread(fl.cpuRatio)} over ${fl.rounds} rounds (Gatehouse ${f(fl.ghCpuUsPerReq.median, 1)} µs/req, node-floor ${f(fl.floorCpuUsPerReq.median, 1)} µs/req, medians)`,
        verdict: fl.cpuRatio.median <= limit ? 'met' : 'missed',
      })
    }
    if (a && floor) {
      const ratio = a.gh.cpuUsPerReq / floor.gh.cpuUsPerReq
      out.push({
        target: a.floor ? `reference: CPU per request, ${name} ÷ the node-floor scenario (run minutes apart)` : `CPU per request, ${name} ÷ node-floor ≤ ${limit} ×`,
        measured: `${f(a.gh.cpuUsPerReq, 1)} ÷ ${f(floor.gh.cpuUsPerReq, 1)} µs = ${f(ratio)} ×`,
        verdict: a.floor ? 'n/a' : ratio <= limit ? 'met' : 'missed',
      })
    }
  }
  const syncCheck = r.verify.find((v) => v.alg === 'RS256' && v.how.startsWith('node:crypto.verify'))
  if (dis && pub && syncCheck) {
    const base = syncCheck.cpuUsPerVerify + pub.gh.cpuUsPerReq
    const ratio = dis.gh.cpuUsPerReq / base
    out.push({
      target: 'uncached RS256 ÷ (sync signature check + public) ≤ 1.3 ×, CPU µs/request',
      measured: `${f(dis.gh.cpuUsPerReq, 1)} µs vs ${f(syncCheck.cpuUsPerVerify, 1)} + ${f(pub.gh.cpuUsPerReq, 1)} = ${f(base, 1)} µs → ${f(ratio)} ×`,
      verdict: ratio <= 1.3 ? 'met' : 'missed',
    })
  } else out.push({ target: 'uncached RS256 ÷ (sync signature check + public) ≤ 1.3 ×', measured: 'needs public, jwt-rs256-distinct and the verify loop', verdict: 'n/a' })
  const c = s('c1000')
  const idle = r.scenarios.find((x) => x.name === 'public')?.rssIdleMb ?? null
  const idleAnon = r.scenarios.find((x) => x.name === 'public')?.rssIdleAnonMb ?? null
  const priv = (mb: number | null | undefined) => (mb === null || mb === undefined || !Number.isFinite(mb) ? '' : ` (private ${f(mb, 0)})`)
  if (c || idle !== null || pub) {
    const idleOk = idle !== null && idle <= 64
    const c1000Ok = c !== null && c.gh.rssMaxMb <= 128
    out.push({
      target: 'RSS idle ≤ 64 MB / at c1000 with the distinct API keys ≤ 128 MB (defaults)',
      measured:
        `idle ${idle !== null ? f(idle, 0) : '–'} MB${priv(idleAnon)}; c50 (public) ${pub ? f(pub.gh.rssMaxMb, 0) : '–'} MB${priv(pub?.gh.rssAnonMaxMb)}; ` +
        `c1000 ${c ? `${f(c.gh.rssMaxMb, 0)} MB${priv(c.gh.rssAnonMaxMb)}, slope ${f(c.gh.rssSlopeMbPerMin, 2)} MB/min over ${r.settings.durationS} s runs (soak: BENCH_DURATION=300)` : '–'}`,
      verdict: idle === null || c === null ? 'n/a' : idleOk && c1000Ok ? 'met' : 'missed',
    })
  }
  for (const row of r.startup ?? []) {
    out.push({
      target: `\`gatehouse ${row.command}\` start-up ≤ 150 ms CPU`,
      measured: `${f(row.cpuMs, 0)} ms user+system (mean of ${row.runs})`,
      verdict: row.cpuMs <= 150 ? 'met' : 'missed',
    })
  }
  if (dis && pub) {
    const verify = r.verify.find((v) => v.alg === 'RS256' && v.how.includes('50 in flight'))
    if (verify) {
      out.push({
        target: 'reference: uncached RS256 ÷ (jose jwtVerify + public), the issue-7 figure',
        measured: `${f(dis.gh.cpuUsPerReq / (verify.cpuUsPerVerify + pub.gh.cpuUsPerReq))} ×`,
        verdict: 'n/a',
      })
    }
  }
  for (const k of ['apikey', 'apikey-distinct']) {
    const a = s(k)
    if (a && rep) {
      const ok = a.gh.rps >= rep.gh.rps
      out.push({
        target: `${k}: req/s ≥ repeated RS256 JWT`,
        measured: `${n0(a.gh.rps)} vs ${n0(rep.gh.rps)} req/s (${f(a.gh.rps / rep.gh.rps)} ×); CPU ${f(a.gh.cpuUsPerReq, 1)} vs ${f(rep.gh.cpuUsPerReq, 1)} µs/req`,
        verdict: ok ? 'met' : 'missed',
      })
    }
  }
  const accepted = rep ?? s('apikey')
  for (const k of ['reject-badsig', 'reject-nocred']) {
    const a = s(k)
    if (a && accepted) {
      out.push({
        target: `${k}: req/s ≥ accepted (repeated JWT) req/s`,
        measured: `${n0(a.gh.rps)} vs ${n0(accepted.gh.rps)} req/s; CPU ${f(a.gh.cpuUsPerReq, 1)} vs ${f(accepted.gh.cpuUsPerReq, 1)} µs/req`,
        verdict: a.gh.rps >= accepted.gh.rps ? 'met' : 'missed',
      })
    }
  }
  out.push(peerTarget(r.peers))
  return out
}

/** Issue 17's peer figure from the harness run (a row saying why when there is no figure). */
export function peerTarget(p: PeerRun | undefined): Target {
  const target = 'repeated RS256 token vs HAProxy 2.6 jwt_verify, per core ≥ 0.75 ×'
  const pr = p?.pairing
  if (!p || !pr) {
    const why = !p ? 'not run by this bench' : p.status === 'measured' ? 'its results.tsv has no round with both gatehouse and haproxy-jwt' : `${p.status}: ${p.reason ?? 'no reason given'}`
    return { target, measured: `no figure — peer harness (bench-peers/run.sh) ${why}`, verdict: 'n/a' }
  }
  const noise = pr.used === 'all' ? '; no quiet pair of runs, so noisy ones are used' : pr.rounds < pr.perRound.length ? `; ${pr.perRound.length - pr.rounds} noisy pair(s) left out` : ''
  return {
    target,
    measured:
      `${ratioSpread(pr.ratio)} Gatehouse ÷ ${pr.reference} req/s, same round, over ${pr.rounds} round(s) (per round ${pr.perRound.filter((x) => pr.used === 'all' || x.quiet).map((x) => f(x.ratio)).join(', ')}); ` +
      `${pr.candidate} ${n0(pr.candidateRps.median)}, ${pr.reference} ${n0(pr.referenceRps.median)} req/s (medians); bench-peers/run.sh, one token, each alone on cpu 1` +
      `${noise}${pr.bad > 0 ? `; ${pr.bad} non-2xx answers or socket errors` : ''}`,
    verdict: pr.ratio.median >= 0.75 ? 'met' : 'missed',
  }
}

export function renderMarkdown(r: BenchReport): string {
  const L: string[] = []
  const st = r.settings
  L.push(`## Gatehouse benchmark — ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC`)
  L.push('')
  L.push(
    `Commit ${r.gatehouse.commit}${r.gatehouse.srcDirty ? ' (src/ has uncommitted changes)' : ''}, \`${r.gatehouse.main}\`; ` +
      `${r.machine.cpuModel}, ${r.machine.cpus} cpus, kernel ${r.machine.kernel}, node ${r.machine.node}. ` +
      `Gatehouse log level ${String(st.gatehouseLogLevel)}${st.gatehouseNodeArgs ? `, node flags \`${String(st.gatehouseNodeArgs)}\`` : ''}` +
      `${st.distRebuilt ? '; dist/ was rebuilt from src/ by this run' : ''}.`,
  )
  L.push(
    `Load: ${st.loadGenerator} closed loop (fixed-rate rows: ${st.pacedGenerator}); ${st.rounds} round(s) of ${st.durationS} s after ${st.warmupS} s warm-up, ` +
      `direct and Gatehouse alternating${st.floorRounds ? ' (direct, node-floor, Gatehouse in the scenarios compared to node-floor)' : ''}; ${st.proxyCpu === null ? 'no CPU pinning' : `Gatehouse pinned to cpu ${st.proxyCpu}, generator and upstream on cpu ${st.loadCpu}`}. ` +
      `Load average at the end: ${r.machine.loadavgAtEnd.join(' ')}.`,
  )
  L.push('')
  L.push('Latency columns are Gatehouse (ms); ratios are Gatehouse ÷ direct upstream within each round, median over rounds. CPU is Gatehouse\'s own per request (utime+stime of all its threads; the kernel\'s share, stime, in brackets).')
  L.push('')
  L.push('| scenario | conns | Gatehouse req/s | direct req/s | req/s ÷ direct | p50 / p99 / p99.9 ms | p50 / p99 / p99.9 ÷ direct | p99 added ms | CPU µs/req (sys) | RSS MB max | cache hits % | Gatehouse % of its core | busy % load / proxy core | others % of a core | bound by | check |')
  L.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|')
  for (const s of r.scenarios) {
    const name = `${s.name}${s.paced ? ` (@${s.rate}/s)` : ''}`
    if (s.skipped) {
      L.push(`| ${name} | | | | | | | | | | | | | | | skipped |`)
      continue
    }
    if (s.failed || !s.summary) {
      L.push(`| ${name} | ${s.connections} | | | | | | | | | | | | | | **FAILED** |`)
      continue
    }
    const m = s.summary
    const g = m.gh.latencyUs
    const check = m.unexpected === 0 && m.missed === 0 ? `ok (${s.expect})` : `**${m.unexpected} unexpected${m.missed ? `, ${m.missed} not sent` : ''}**`
    L.push(
      `| ${name} | ${s.connections} | ${n0(m.gh.rps)} | ${n0(m.direct.rps)} | ${f(m.ratio.rps)} | ${ms(g.p50)} / ${ms(g.p99)} / ${ms(g.p99_9)} | ` +
        `${f(m.ratio.p50, 1)} / ${f(m.ratio.p99, 1)} / ${f(m.ratio.p99_9, 1)} | ${f(m.p99AddedUs / 1000, 2)} | ${f(m.gh.cpuUsPerReq, 1)} (${f(m.gh.sysUsPerReq, 0)}) | ${f(m.gh.rssMaxMb, 0)} | ` +
        `${m.gh.cacheHitPct === null ? '–' : f(m.gh.cacheHitPct, 1)} | ${f(m.gh.corePct, 0)} | ${f(m.loadBusy, 0)} / ${f(m.proxyBusy, 0)} | ${f(m.otherPctMax, 0)} | ${m.bound} | ${check} |`,
    )
  }
  L.push('')
  const notes = r.scenarios.filter((s) => s.note || s.skipped || s.failed)
  for (const s of notes) {
    if (s.skipped) L.push(`- **${s.name}** skipped: ${s.skipped}`)
    else if (s.failed) L.push(`- **${s.name}** failed: ${s.failed}`)
    else L.push(`- ${s.name}: ${s.note}`)
  }
  if (notes.length) L.push('')
  L.push('Scenarios: ' + r.scenarios.map((s) => `\`${s.name}\` ${s.title}`).join('; ') + '.')
  L.push('')
  if (r.targets?.length) {
    L.push(`### Targets this run can judge (issues 7 and 17; node ${r.machine.node})`)
    L.push('')
    L.push('| target | measured | verdict |')
    L.push('|---|---|---|')
    for (const t of r.targets) L.push(`| ${t.target} | ${t.measured} | ${t.verdict === 'met' ? 'met' : t.verdict === 'missed' ? '**missed**' : 'n/a'} |`)
    L.push('')
  }
  const paired = r.scenarios.filter((x) => x.summary?.floor)
  if (paired.length) {
    L.push('### Beside node-floor, same round (issue 17)')
    L.push('')
    L.push(
      'Each round runs direct, node-floor (test/bench/node-floor.ts: no checks, no log, no metrics; same core, requests and generator) and Gatehouse, one after the other. ' +
        'The ratio and the p99 added are taken inside each round, then the median (min–max) over rounds: the drift of the machine between rounds cancels out.',
    )
    L.push('')
    L.push('| scenario | rounds | CPU µs/req Gatehouse / node-floor (medians) | CPU/req ÷ node-floor, same round: median (min–max) | per round | p99 added over direct ms, Gatehouse / node-floor: median (min – max) |')
    L.push('|---|--:|--:|--:|---|---|')
    for (const x of paired) {
      const fl = x.summary?.floor as FloorPairing
      L.push(
        `| ${x.name}${x.paced ? ` (@${x.rate}/s)` : ''} | ${fl.rounds} | ${f(fl.ghCpuUsPerReq.median, 1)} / ${f(fl.floorCpuUsPerReq.median, 1)} | ${ratioSpread(fl.cpuRatio)} | ` +
          `${fl.perRound.map((p) => f(p.cpuRatio)).join(', ')} | ${addedMs(fl.ghP99AddedUs)} / ${addedMs(fl.floorP99AddedUs)} |`,
      )
    }
    L.push('')
  }
  const tails = r.scenarios.filter((x) => x.tail)
  if (tails.length) {
    L.push('### Tail attribution (fixed-rate scenarios, Gatehouse runs; test/bench/tail-probe.mjs)')
    L.push('')
    L.push('Share of the samples at or above each run\'s p99 whose time span overlaps at least one event of the kind; "none" overlaps none of them.')
    L.push('')
    L.push('| scenario | p99 samples | GC pause | major GC | log flush | timer | none | GC in runs: count, total, max, by kind | log flushes: count, max | event-loop delay p50 / p99 / max |')
    L.push('|---|--:|--:|--:|--:|--:|--:|---|---|---|')
    for (const x of tails) {
      const t = x.tail as TailAttribution
      const kinds = Object.entries(t.gc.byKind).map(([k, v]) => `${k} ${v}`).join(', ')
      const e = t.eventLoopDelayMs
      L.push(
        `| ${x.name} | ${t.samples} | ${f(t.pct.gc, 1)} % | ${f(t.pct.gcMajor, 1)} % | ${f(t.pct.logFlush, 1)} % | ${f(t.pct.timer, 1)} % | ${f(t.pct.none, 1)} % | ` +
          `${t.gc.count}, ${f(t.gc.totalMs, 1)} ms, ${f(t.gc.maxMs, 2)} ms (${kinds}) | ${t.logFlushes.count}, ${f(t.logFlushes.maxMs, 2)} ms | ${f(e.p50 ?? NaN, 2)} / ${f(e.p99 ?? NaN, 2)} / ${f(e.max ?? NaN, 2)} ms |`,
      )
    }
    L.push('')
  }
  if (r.verify.length) {
    L.push(`### jose jwtVerify alone, ${r.settings.proxyCpu === null ? 'unpinned' : `on cpu ${r.settings.proxyCpu}`} (no HTTP)`)
    L.push('')
    L.push('| alg | how | verifies | wall µs/verify | CPU µs/verify |')
    L.push('|---|---|--:|--:|--:|')
    for (const v of r.verify) L.push(`| ${v.alg} | ${v.how} | ${n0(v.verifies)} | ${f(v.wallUsPerVerify, 1)} | ${f(v.cpuUsPerVerify, 1)} |`)
    L.push('')
  }
  L.push(
    '"busy %" is each core\'s busy time during Gatehouse\'s runs (median), whoever used it; "Gatehouse % of its core" is its own share. "bound by" says which core was saturated: ' +
      'when it is the load core, the generator and upstream limit req/s and CPU µs/req is the figure to compare; "shared" means neighbours took part of the proxy core. "others" is the CPU used during the run by processes that are not part of the benchmark (max over runs), in % of one core.',
  )
  return `${L.join('\n')}\n`
}
