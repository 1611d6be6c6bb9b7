// Issue 17's peer figure inside `npm run bench`: the peer-benchmark harness
// (bench-peers/run.sh, kept outside this repository) run as a child once the
// bench's own processes are stopped, with Gatehouse as its candidate
// (test/bench/peer-candidate.sh), then its results.tsv read back. The harness pins
// its own processes (proxies on cpu 1, wrk and the upstream on cpu 0) and stops
// them itself; we stop it as a process group (SIGTERM lets its trap clean up).
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { exited, spawnTracked, stopChild, TASKSET } from './children.js'
import { spread, type PeerPairing, type PeerRow, type PeerRun } from './report.js'

export const CANDIDATE = 'gatehouse'
export const REFERENCE = 'haproxy-jwt'

/** The harness folder to run, or why it is not run. */
export function peerHarness(env: NodeJS.ProcessEnv, projectRoot: string, quick: boolean): { dir: string } | { status: 'off' | 'absent'; reason: string; dir: string | null } {
  if (env.BENCH_PEERS === '0') return { status: 'off', reason: 'BENCH_PEERS=0', dir: null }
  if (quick && env.BENCH_PEERS !== '1') return { status: 'off', reason: 'off in BENCH_QUICK mode (BENCH_PEERS=1 runs it)', dir: null }
  const dir = path.resolve(projectRoot, env.BENCH_PEERS_DIR || '../shared/bench-peers')
  if (!existsSync(path.join(dir, 'run.sh'))) {
    return { status: 'absent', reason: `${dir}/run.sh not found (set BENCH_PEERS_DIR to the bench-peers folder)`, dir }
  }
  return { dir }
}

/** results.tsv of run.sh (header: round regime setup rps p50_us p90_us p99_us requests non2xx sock_errors … other_cpu_pct attempts cache_hit_pct). */
export function parseResultsTsv(text: string): PeerRow[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '')
  const head = (lines.shift() ?? '').split('\t')
  const need = ['round', 'regime', 'setup', 'rps', 'p50_us', 'p99_us', 'non2xx', 'sock_errors', 'other_cpu_pct', 'attempts']
  const missing = need.filter((k) => !head.includes(k))
  if (missing.length) throw new Error(`results.tsv lacks column(s) ${missing.join(', ')}`)
  return lines.map((line) => {
    const v = line.split('\t')
    const at = (k: string) => v[head.indexOf(k)] ?? ''
    const num = (k: string) => (at(k) === '' || at(k) === '-' ? Number.NaN : Number(at(k)))
    return {
      round: num('round'),
      regime: at('regime'),
      setup: at('setup'),
      rps: num('rps'),
      p50Us: num('p50_us'),
      p99Us: num('p99_us'),
      non2xx: num('non2xx'),
      sockErrors: num('sock_errors'),
      otherCpuPct: num('other_cpu_pct'),
      attempts: num('attempts'),
    }
  })
}

/**
 * Candidate ÷ reference req/s inside each round of one regime. A run is noisy when other
 * processes used more than noiseMaxPct % of a core while it was timed; pairs with a noisy
 * run are left out unless none is quiet (summarize.mjs's rule). Null without any pair.
 */
export function pairPeers(rows: readonly PeerRow[], o: { candidate?: string; reference?: string; regime?: string; noiseMaxPct?: number } = {}): PeerPairing | null {
  const candidate = o.candidate ?? CANDIDATE
  const reference = o.reference ?? REFERENCE
  const regime = o.regime ?? 'single'
  const noiseMax = o.noiseMaxPct ?? 10
  const quiet = (r: PeerRow) => !(r.otherCpuPct > noiseMax)
  const pairs = rows
    .filter((c) => c.regime === regime && c.setup === candidate)
    .flatMap((c) => {
      const ref = rows.find((r) => r.regime === regime && r.setup === reference && r.round === c.round)
      return ref && ref.rps > 0 ? [{ c, ref }] : []
    })
    .sort((a, b) => a.c.round - b.c.round)
  if (pairs.length === 0) return null
  const quietPairs = pairs.filter(({ c, ref }) => quiet(c) && quiet(ref))
  const used = quietPairs.length ? quietPairs : pairs
  return {
    candidate,
    reference,
    regime,
    perRound: pairs.map(({ c, ref }) => ({ round: c.round, candidateRps: c.rps, referenceRps: ref.rps, ratio: c.rps / ref.rps, quiet: quiet(c) && quiet(ref) })),
    used: quietPairs.length ? 'quiet' : 'all',
    rounds: used.length,
    ratio: spread(used.map(({ c, ref }) => c.rps / ref.rps)),
    candidateRps: spread(used.map(({ c }) => c.rps)),
    referenceRps: spread(used.map(({ ref }) => ref.rps)),
    bad: used.reduce((n, { c, ref }) => n + (c.non2xx || 0) + (c.sockErrors || 0) + (ref.non2xx || 0) + (ref.sockErrors || 0), 0),
  }
}

function portsFree(ports: readonly number[]): Promise<boolean> {
  return ports.reduce<Promise<boolean>>(
    (ok, port) =>
      ok.then((yes) =>
        yes
          ? new Promise((resolve) => {
              const s = net.createServer()
              s.once('error', () => resolve(false))
              s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
            })
          : false,
      ),
    Promise.resolve(true),
  )
}

/** run.sh takes BASE_PORT (upstream), +2 (haproxy-jwt) and +6 (the candidate): its default 18400 if free, else a free random base. */
async function basePort(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.BASE_PORT) return env.BASE_PORT
  for (let i = 0; i < 20; i++) {
    const base = i === 0 ? 18_400 : 20_000 + Math.floor(Math.random() * 40_000)
    if (await portsFree([base, base + 2, base + 6])) return String(base)
  }
  return '18400'
}

export interface PeerOptions {
  readonly dir: string
  readonly projectRoot: string
  /** Where RESULTS_DIR and the candidate's config go (the bench's temp dir). */
  readonly tmp: string
  readonly rounds: number
  readonly durationS: number
  readonly warmupS: number
  /** CPU list for run.sh (ours before the bench pinned itself to the load core): it checks nproc and pins its own processes. */
  readonly cpus: string | null
  readonly env: NodeJS.ProcessEnv
  readonly log: (msg: string) => void
}

/** Runs the harness (haproxy-jwt and Gatehouse, one token) within a time limit; never throws. */
export async function runPeers(o: PeerOptions): Promise<PeerRun> {
  const resultsDir = path.join(o.tmp, 'peers')
  const candidateDir = path.join(o.tmp, 'peer-candidate')
  mkdirSync(candidateDir, { recursive: true })
  const settings: Record<string, string> = {
    SETUPS: REFERENCE, // run.sh always starts its upstream (direct); the ratio needs no direct timing
    REGIMES: 'single',
    ROUNDS: String(o.rounds),
    DURATION: `${o.durationS}s`,
    WARMUP: `${Math.max(1, o.warmupS)}s`,
    MICRO: '0',
    CANDIDATE_CMD: `bash ${JSON.stringify(path.join(o.projectRoot, 'test', 'bench', 'peer-candidate.sh'))}`,
    CANDIDATE_NAME: CANDIDATE,
    RESULTS_DIR: resultsDir,
    BASE_PORT: await basePort(o.env),
  }
  // Per timed run: warm-up, ≥ 1 s quiet wait, the run, up to 2 noisy repeats; plus install, keys and start-up.
  const limitS = Number(o.env.BENCH_PEERS_MAX_SECONDS) || 300 + o.rounds * 2 * 3 * (o.durationS + Math.max(1, o.warmupS) + 5)
  const started = performance.now()
  const here = (text: string) => portable(text, o.projectRoot)
  const base = { dir: here(o.dir), settings: Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, here(v)])), rows: [] as PeerRow[], pairing: null }
  o.log(`peer harness ${o.dir}/run.sh: ${REFERENCE} and ${CANDIDATE}, one token, ${o.rounds} round(s) of ${o.durationS} s (limit ${limitS} s)`)
  let logText = ''
  let timedOut = false
  let exitCode: number | null = null
  try {
    const runSh = ['bash', path.join(o.dir, 'run.sh')]
    const [cmd, ...args] = TASKSET && o.cpus ? [TASKSET, '-c', o.cpus, ...runSh] : runSh
    const child = spawnTracked('bench-peers', null, cmd as string, args, {
      cwd: o.dir,
      env: { ...o.env, ...settings, GATEHOUSE_PEER_DIR: candidateDir },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    }, 20_000)
    const keep = (c: string) => {
      logText = (logText + c).slice(-20_000)
      for (const line of c.split('\n')) if (line.includes(' round ')) o.log(`  peers: ${line.trim()}`)
    }
    child.stdout?.setEncoding('utf8').on('data', () => {}) // the markdown table: read back from RESULTS_DIR
    child.stderr?.setEncoding('utf8').on('data', keep)
    const timer = setTimeout(() => {
      timedOut = true
      void stopChild(child, 20_000)
    }, limitS * 1000)
    const end = await exited(child)
    clearTimeout(timer)
    exitCode = end.code
  } catch (err) {
    return { ...base, status: 'failed', reason: here(err instanceof Error ? err.message : String(err)), exitCode, seconds: (performance.now() - started) / 1000, logTail: here(logText.slice(-2000)) }
  }
  const seconds = (performance.now() - started) / 1000
  const logTail = here(logText.split('\n').slice(-25).join('\n'))
  const lastError = here(logText.split('\n').filter((l) => l.includes('ERROR')).at(-1)?.trim() ?? '')
  if (timedOut || exitCode !== 0) {
    const reason = timedOut ? `stopped after the ${limitS} s limit (BENCH_PEERS_MAX_SECONDS)` : `run.sh exited ${exitCode ?? 'on a signal'}${lastError ? `: ${lastError}` : ''}`
    return { ...base, status: 'failed', reason, exitCode, seconds, logTail }
  }
  try {
    const rows = parseResultsTsv(readFileSync(path.join(resultsDir, 'results.tsv'), 'utf8'))
    const pairing = pairPeers(rows, { noiseMaxPct: Number(o.env.NOISE_MAX_PCT) || 10 })
    const reason = pairing ? null : `no round timed both ${CANDIDATE} and ${REFERENCE} (a setup failed its accept/reject checks or did not start; see the log tail in the JSON report)`
    return { ...base, status: pairing ? 'measured' : 'failed', reason, exitCode, seconds, rows, pairing, logTail }
  } catch (err) {
    return { ...base, status: 'failed', reason: here(`reading its results.tsv: ${err instanceof Error ? err.message : String(err)}`), exitCode, seconds, logTail }
  }
}

/**
 * Text as the report keeps it, with no directory of this machine: the project root
 * becomes `.`, its parent `..` (where ../shared sits), the temp directory `$TMPDIR`.
 */
export function portable(text: string, projectRoot: string): string {
  return text.split(projectRoot).join('.').split(path.dirname(projectRoot)).join('..').split(os.tmpdir()).join('$TMPDIR')
}

/** The harness's own Markdown table (with its accept/reject checks), when it wrote one. */
export function peerTable(tmp: string): string | null {
  try {
    return readFileSync(path.join(tmp, 'peers', 'table.md'), 'utf8')
  } catch {
    return null
  }
}
