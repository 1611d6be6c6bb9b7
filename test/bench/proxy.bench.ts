// `npm run bench` (issue 7): what Gatehouse costs per request, measured against
// the bare upstream in the same run. See test/bench/README.md for the method.
//
// One run: build dist/ if stale; make keys, tokens and API-key files in a temp
// dir; start the upstream and the load generator on the load core; then per
// scenario start Gatehouse (dist/main.js, pinned to the proxy core, its own
// config), check it answers as expected, warm it up, and time direct, gatehouse,
// direct, gatehouse … for BENCH_ROUNDS rounds (direct, node-floor, gatehouse in
// the scenarios compared to node-floor); stop it. Last, jose jwtVerify
// alone on the proxy core. Writes Markdown, JSON, SVG and PNG to BENCH_OUT.
// Every process started is stopped by its PID at the end, on failure, on
// Ctrl-C, and at the global deadline.
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { stringify } from 'yaml'
import { chartSvg, svgToPng, type Series } from './lib/chart.js'
import { affinityOf, exited, liveChildren, onPath, spawnTracked, stopAll, stopChild, TASKSET } from './lib/children.js'
import { API, AUDIENCE, HS_SECRET_ENV, ISSUER, makeCredentials, type Alg, type Credentials } from './lib/credentials.js'
import { cleanEnv, MAIN, PROJECT_ROOT, startGatehouse, startNodeFloor, type RunningGatehouse } from './lib/gatehouse.js'
import { startWorker, wrkGenerator, type LoadGenerator, type LoadResult, type RunSpec } from './lib/loadgen.js'
import { allProcs, CLK_TCK, cpuBusy, cpuTimes, foreignTicks, HAS_PROC, pidMemory, pidStat, selfAndAncestors, type PidStat } from './lib/procfs.js'
import { requestOnce } from './lib/raw-client.js'
import { startBenchServer } from './lib/serve.js'
import { rawRequest, writeRequestFile } from './lib/requests.js'
import { freePort, nginxArgs, nginxMainConf, readTemplate, withDecisionCache } from '../support/front-proxy.js'
import { computeTargets, renderMarkdown, summarize, type BenchReport, type RunRecord, type ScenarioResult, type StartupRow } from './lib/report.js'
import { attributeTail } from './lib/tail.js'
import { peerHarness, peerTable, portable, runPeers } from './lib/peers.js'

// ------------------------------------------------------------------ knobs
const env = process.env
const QUICK = env.BENCH_QUICK === '1'
/** A bad knob is a usage error: one line, exit 2, before anything starts. */
function usage(message: string): never {
  process.stderr.write(`bench: ${message}\n`)
  process.exit(2)
}
const int = (name: string, dflt: number, min = 1): number => {
  const raw = env[name]
  if (raw === undefined || raw === '') return dflt
  const n = Number(raw)
  if (!Number.isFinite(n) || n < min) usage(`${name}=${raw}: expected a number ≥ ${min}`)
  return n
}
const ROUNDS = Math.floor(int('BENCH_ROUNDS', QUICK ? 1 : 3))
const DURATION = int('BENCH_DURATION', QUICK ? 3 : 10)
const WARMUP = int('BENCH_WARMUP', QUICK ? 1 : 3, 0)
const CONNECTIONS = Math.floor(int('BENCH_CONNECTIONS', 50))
const RATE = int('BENCH_RATE', 5000)
const DISTINCT = Math.floor(int('BENCH_DISTINCT', QUICK ? 2000 : 10_000, 2))
const VERIFY_SECONDS = int('BENCH_VERIFY_SECONDS', QUICK ? 0.6 : 2, 0.1)
const OUT_DIR = path.resolve(PROJECT_ROOT, env.BENCH_OUT ?? '.bench-results')
const KEEP = env.BENCH_KEEP === '1'
const NCPU = os.availableParallelism()
const PIN = TASKSET !== null && NCPU >= 2 && env.BENCH_PIN !== '0'
const PROXY_CPU = PIN ? Math.floor(int('BENCH_PROXY_CPU', 1, 0)) : null
const LOAD_CPU = PIN ? Math.floor(int('BENCH_LOAD_CPU', 0, 0)) : null
const LOG_LEVEL = env.BENCH_LOG_LEVEL ?? 'info'
const LOG_SHOWS_LISTENING = ['trace', 'debug', 'info'].includes(LOG_LEVEL)
/** The image's NODE_OPTIONS (deploy/Dockerfile): its heap limits are Gatehouse's defaults (issue 17). */
function imageNodeOptions(): string {
  try {
    const m = /NODE_OPTIONS="([^"]*)"/.exec(readFileSync(path.join(PROJECT_ROOT, 'deploy', 'Dockerfile'), 'utf8'))
    return m?.[1] ?? ''
  } catch {
    return ''
  }
}
/** Node flags for Gatehouse (and node-floor): the image's by default; e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (split on spaces). */
const GH_NODE_ARGS = (env.BENCH_GH_NODE_ARGS ?? imageNodeOptions()).split(' ').filter(Boolean)
const WRK = onPath('wrk')
const TAIL_PROBE = path.join(PROJECT_ROOT, 'test', 'bench', 'tail-probe.mjs')
const STARTUP_RUNS = Math.floor(int('BENCH_STARTUP_RUNS', QUICK ? 3 : 10, 0))
/** 1: node-floor runs in every round beside Gatehouse in the `floorEachRound` scenarios; 0: not (the standalone node-floor scenarios still run). */
const FLOOR_ROUNDS = Math.floor(int('BENCH_FLOOR_ROUNDS', 1, 0)) > 0
const LOADGEN = env.BENCH_LOADGEN ?? (WRK ? 'wrk' : 'autocannon')
if (LOADGEN !== 'wrk' && LOADGEN !== 'autocannon') usage(`BENCH_LOADGEN=${LOADGEN}: wrk or autocannon`)
if (LOADGEN === 'wrk' && !WRK) usage('BENCH_LOADGEN=wrk but wrk is not on PATH (apt-get install wrk)')

// ------------------------------------------------------------------ scenarios
interface Ctx {
  readonly creds: Credentials
  readonly dir: string
  token(alg: Alg): Promise<string>
  rsPool(): Promise<string[]>
  keysSmall(): Promise<string[]>
  keysLarge(): Promise<string[]>
}

interface ScenarioDef {
  readonly name: string
  readonly title: string
  readonly expect: 200 | 401
  /** Fixed offered rate (paced) instead of a closed loop. */
  readonly paced?: boolean
  readonly connections?: number
  /** Which API-key file the store reads. */
  readonly store?: 'small' | 'large'
  readonly cacheMaxEntries?: number
  /** Warm up until every request of the set has been sent once (so cacheable credentials are cached). */
  readonly warmFullPass?: boolean
  readonly note?: string
  /** Run test/bench/node-floor.ts in Gatehouse's place (the reference, not Gatehouse). */
  readonly nodeFloor?: boolean
  /**
   * Issue 17 compares this scenario to node-floor: each round also times node-floor (started
   * beside Gatehouse on the proxy core, same requests and generator), so the ratio is taken
   * between runs seconds apart, not against the node-floor scenario minutes away (BENCH_FLOOR_ROUNDS=0: off).
   */
  readonly floorEachRound?: boolean
  /**
   * Decision mode (SPEC §10): nginx with deploy/forward-auth/nginx/gatehouse.conf (and the
   * optional decision cache) in front, asking Gatehouse; both on the proxy core, CPU counted for the pair.
   */
  readonly front?: 'nginx' | 'nginx-cached'
  requests(ctx: Ctx): Promise<Buffer[]>
}

const GET = (pathname: string, headers: Record<string, string> = {}) => rawRequest({ method: 'GET', path: pathname, headers })
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` })
const DISTINCT_CACHE = Math.min(1000, Math.floor(DISTINCT / 2))

const SCENARIOS: ScenarioDef[] = [
  { name: 'public', title: 'public API, no credential', expect: 200, floorEachRound: true, requests: async () => [GET('/public/items/42')] },
  {
    name: 'node-floor',
    title: 'reference, not Gatehouse: bare node:http + undici proxy (no checks, no log, no metrics)',
    expect: 200,
    nodeFloor: true,
    note: 'test/bench/node-floor.ts in the Gatehouse column: the floor of any Node.js proxy on this machine; public ÷ node-floor is what the pipeline, log and metrics cost',
    requests: async () => [GET('/public/items/42')],
  },
  ...(['RS256', 'ES256', 'EdDSA', 'HS256'] as const).map(
    (alg): ScenarioDef => ({
      name: `jwt-${alg.toLowerCase()}`,
      title: `one ${alg} JWT, repeated`,
      expect: 200,
      floorEachRound: alg === 'RS256',
      requests: async (ctx) => [GET('/api/items/42', bearer(await ctx.token(alg)))],
    }),
  ),
  {
    name: 'jwt-rs256-distinct',
    title: `${DISTINCT.toLocaleString('en-US')} distinct RS256 JWTs, cycled`,
    expect: 200,
    cacheMaxEntries: DISTINCT_CACHE,
    note: `cache.maxEntries ${DISTINCT_CACHE} < ${DISTINCT} tokens cycled in order: an LRU gets 0 % hits, so every request pays a verification`,
    requests: async (ctx) => (await ctx.rsPool()).map((t) => GET('/api/items/42', bearer(t))),
  },
  { name: 'apikey', title: 'one API key, repeated', expect: 200, requests: async (ctx) => [GET('/api/items/42', { 'X-API-Key': (await ctx.keysSmall())[0] as string })] },
  {
    name: 'apikey-distinct',
    title: `${DISTINCT.toLocaleString('en-US')} distinct API keys, cycled`,
    expect: 200,
    store: 'large',
    warmFullPass: true,
    note: `${DISTINCT} keys in the file store; the default cache (10,000) can hold them all, and the warm-up sends each key once`,
    requests: async (ctx) => (await ctx.keysLarge()).map((k) => GET('/api/items/42', { 'X-API-Key': k })),
  },
  {
    name: 'reject-badsig',
    title: 'rejected: RS256 JWT with a bad signature',
    expect: 401,
    requests: async (ctx) => [GET('/api/items/42', bearer(ctx.creds.tamper(await ctx.token('RS256'))))],
  },
  { name: 'reject-nocred', title: 'rejected: no credential', expect: 401, requests: async () => [GET('/api/items/42')] },
  {
    name: 'body-1mb',
    title: 'POST, 1 MiB body streamed (one RS256 JWT)',
    expect: 200,
    requests: async (ctx) => [
      rawRequest({ method: 'POST', path: '/api/upload', headers: bearer(await ctx.token('RS256')), body: Buffer.alloc(1024 * 1024, 0x61) }),
    ],
  },
  {
    name: 'c1000',
    title: `1,000 keep-alive connections, ${DISTINCT.toLocaleString('en-US')} API keys`,
    expect: 200,
    connections: 1000,
    store: 'large',
    warmFullPass: true,
    note: `the memory target: 1,000 connections and ${DISTINCT} cached credentials`,
    requests: async (ctx) => (await ctx.keysLarge()).map((k) => GET('/api/items/42', { 'X-API-Key': k })),
  },
  {
    name: 'decision-nginx',
    title: 'one API key via nginx auth_request -> Gatehouse decision (the pair on the proxy core)',
    expect: 200,
    front: 'nginx',
    note: 'compare with `apikey` (Gatehouse proxying the same request alone): CPU µs/req here is nginx (master and worker) plus Gatehouse',
    requests: async (ctx) => [GET('/api/items/42', { 'X-API-Key': (await ctx.keysSmall())[0] as string })],
  },
  {
    name: 'decision-nginx-cached',
    title: 'the same with the nginx decision cache (decision-cache.conf, 5 s)',
    expect: 200,
    front: 'nginx-cached',
    note: 'repeats of one credential are answered by nginx from its cache: a revoked key keeps working through nginx for up to 5 s',
    requests: async (ctx) => [GET('/api/items/42', { 'X-API-Key': (await ctx.keysSmall())[0] as string })],
  },
  { name: 'redis', title: 'one API key, Redis store', expect: 200, requests: async () => [] },
  { name: 'rate-public', title: `public API at ${RATE} req/s`, expect: 200, paced: true, floorEachRound: true, requests: async () => [GET('/public/items/42')] },
  {
    name: 'rate-node-floor',
    title: `reference, not Gatehouse: node-floor at ${RATE} req/s`,
    expect: 200,
    paced: true,
    nodeFloor: true,
    note: 'the tail that any Node.js proxy adds on this machine at this rate: the part of the rate-* p99 that Gatehouse itself does not add',
    requests: async () => [GET('/public/items/42')],
  },
  {
    name: 'rate-jwt-rs256',
    title: `one RS256 JWT at ${RATE} req/s`,
    expect: 200,
    paced: true,
    floorEachRound: true,
    requests: async (ctx) => [GET('/api/items/42', bearer(await ctx.token('RS256')))],
  },
]
const QUICK_SET = ['public', 'node-floor', 'jwt-rs256', 'jwt-rs256-distinct', 'apikey', 'decision-nginx', 'reject-nocred', 'rate-jwt-rs256']

function selectScenarios(): ScenarioDef[] {
  const raw = env.BENCH_SCENARIOS
  const names = raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : QUICK ? QUICK_SET : SCENARIOS.map((s) => s.name)
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n))
  if (unknown.length > 0) usage(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`)
  return SCENARIOS.filter((s) => names.includes(s.name))
}

// ------------------------------------------------------------------ helpers
const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function memo<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null
  return () => (p ??= f())
}

/** Builds dist/ when a file under src/ is newer than dist/main.js (BENCH_BUILD=0 skips). */
function ensureBuilt(): boolean {
  const newest = (dir: string): number => {
    let t = 0
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name)
      t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
    }
    return t
  }
  let built = 0
  try {
    built = statSync(MAIN).mtimeMs
  } catch {
    built = 0
  }
  if (built > 0 && (env.BENCH_BUILD === '0' || newest(path.join(PROJECT_ROOT, 'src')) <= built)) return false
  log(built === 0 ? 'dist/main.js missing: building (npm run build)' : 'src/ is newer than dist/: rebuilding (npm run build)')
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: PROJECT_ROOT, stdio: 'inherit', timeout: 300_000 })
  if (r.status !== 0) throw new Error('npm run build failed; fix the build first')
  return true
}

function gitState(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 5000 }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 5000 }).trim() !== ''
    return { commit, dirty }
  } catch {
    return { commit: 'unknown', dirty: false }
  }
}

function gatehouseConfig(o: {
  upstreamUrl: string
  storePath: string
  cacheMaxEntries?: number
  store?: Record<string, unknown>
  creds: Credentials
  decision?: boolean
  /** Fixed ports for a log level that hides the "gatehouse listening" line (info); else port 0. */
  ports?: { proxy: number; admin: number } | undefined
}) {
  const issuers: Record<string, unknown>[] = (['RS256', 'ES256', 'EdDSA'] as const).map((alg) => ({
    issuer: ISSUER[alg],
    audience: AUDIENCE,
    publicKeyFile: `./${o.creds.publicKeyFiles[alg] as string}`,
    algorithms: [alg],
  }))
  issuers.push({ issuer: ISSUER.HS256, audience: AUDIENCE, secretEnv: HS_SECRET_ENV, algorithms: ['HS256'] })
  return {
    listen: `127.0.0.1:${o.ports?.proxy ?? 0}`,
    admin: { listen: `127.0.0.1:${o.ports?.admin ?? 0}` },
    upstream: { url: o.upstreamUrl },
    apis: [
      { name: API, prefixes: ['/api'] },
      { name: 'public', prefixes: ['/public'], public: true },
    ],
    unmatched: 'deny',
    jwt: { issuers },
    store: o.store ?? { type: 'file', path: o.storePath },
    ...(o.cacheMaxEntries !== undefined ? { cache: { maxEntries: o.cacheMaxEntries } } : {}),
    ...(o.decision ? { forwardAuth: { path: '/_gatehouse/decide', trustedCallers: ['127.0.0.1/32'] } } : {}),
    log: { level: LOG_LEVEL },
  }
}

interface Snapshot {
  readonly procs: Map<number, PidStat>
  readonly cpu: ReturnType<typeof cpuTimes>
  readonly gh: PidStat | null
  readonly upstream: PidStat | null
  readonly worker: PidStat | null
  readonly self: PidStat | null
}

// ------------------------------------------------------------------ main
async function main(): Promise<number> {
  const started = new Date()
  const scenarios = selectScenarios()
  if (!HAS_PROC) log('no /proc: CPU and RSS figures will be missing')
  const rebuilt = ensureBuilt()
  mkdirSync(OUT_DIR, { recursive: true })
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-'))
  // Removed on every way out: normal end, failure, signal, deadline (process.exit skips finally blocks).
  process.on('exit', () => {
    if (KEEP) process.stderr.write(`[bench] temp dir kept: ${tmp}\n`)
    else rmSync(tmp, { recursive: true, force: true })
  })
  const floored = FLOOR_ROUNDS ? scenarios.filter((s) => s.floorEachRound).length : 0
  const estimate = scenarios.length * (4 + WARMUP + ROUNDS * 2 * (DURATION + 1.5)) + floored * (4 + WARMUP + ROUNDS * (DURATION + 1.5)) + 30 + VERIFY_SECONDS * 12
  const deadlineS = int('BENCH_MAX_SECONDS', Math.ceil(estimate * 2 + 120))
  log(
    `${scenarios.length} scenarios × ${ROUNDS} round(s) × ${DURATION}s (+${WARMUP}s warm-up), ${CONNECTIONS} connections, ` +
      `load generator ${LOADGEN}, ${PIN ? `gatehouse on cpu ${PROXY_CPU}, load+upstream on cpu ${LOAD_CPU}` : 'no pinning (taskset missing or 1 cpu)'}; ` +
      `about ${Math.round(estimate)} s, hard limit ${deadlineS} s`,
  )
  const deadline = setTimeout(() => {
    log(`deadline of ${deadlineS} s exceeded: stopping everything`)
    void stopAll().finally(() => process.exit(124))
  }, deadlineS * 1000)
  deadline.unref()

  const childEnvBase = cleanEnv()
  let worker: Awaited<ReturnType<typeof startWorker>> | null = null
  let gen: LoadGenerator | null = null
  let upstreamPid = 0
  let redisPid = 0
  let redis: ChildProcess | null = null
  /** Our CPUs before pinning ourselves to the load core: the peer harness gets them back (it pins its own processes). */
  let ownCpus: string | null = null
  const results: ScenarioResult[] = []
  let verify: BenchReport['verify'] = []
  let startup: StartupRow[] = []
  try {
    // ---- credentials
    const t0 = performance.now()
    const creds = await makeCredentials(tmp)
    const ctx: Ctx = {
      creds,
      dir: tmp,
      token: (() => {
        const cache = new Map<Alg, Promise<string>>()
        return (alg: Alg) => {
          let p = cache.get(alg)
          if (!p) cache.set(alg, (p = creds.token(alg)))
          return p
        }
      })(),
      rsPool: memo(() => creds.tokenPool('RS256', DISTINCT)),
      keysSmall: memo(() => creds.apiKeyFile(path.join(tmp, 'keys-small.json'), 1)),
      keysLarge: memo(() => creds.apiKeyFile(path.join(tmp, 'keys-large.json'), DISTINCT)),
    }
    await ctx.keysSmall()
    if (scenarios.some((s) => s.store === 'large')) await ctx.keysLarge()
    if (scenarios.some((s) => s.name === 'jwt-rs256-distinct')) await ctx.rsPool()
    log(`keys, tokens and key files ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

    // ---- upstream and generators on the load core
    const { child: upstream, port: upstreamPort } = await startBenchServer('upstream', LOAD_CPU, 'upstream.ts', childEnvBase)
    upstreamPid = upstream.pid as number
    const upstreamUrl = `http://127.0.0.1:${upstreamPort}`
    worker = await startWorker(LOAD_CPU, childEnvBase)
    gen = LOADGEN === 'wrk' ? wrkGenerator(WRK as string, LOAD_CPU, childEnvBase) : worker
    // From here on this process only waits and samples: keep it off the proxy core.
    ownCpus = affinityOf(process.pid)
    if (PIN && TASKSET) spawnSync(TASKSET, ['-a', '-p', '-c', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore', timeout: 5000 })

    // ---- jwtVerify alone on the proxy core (nothing else runs there yet)
    verify = await runVerifyLoop(ctx, tmp)
    // ---- CLI start-up CPU on the proxy core
    startup = measureStartup(tmp, upstreamUrl, childEnvBase)

    const ancestors = selfAndAncestors()
    const snapshot = (gh: RunningGatehouse | null): Snapshot => {
      const procs = allProcs()
      return {
      procs,
      cpu: cpuTimes(),
      gh: gh ? (gh.frontPid !== undefined ? groupStat(procs, gh.pid, gh.frontPid) : pidStat(gh.pid)) : null,
      upstream: pidStat(upstreamPid),
      worker: worker ? pidStat(worker.pid) : null,
      self: pidStat(process.pid),
      }
    }

    // one direct warm-up for the upstream's JIT
    const warmFile = path.join(tmp, 'warm.req')
    writeRequestFile(warmFile, [GET('/public/items/42')])
    await gen.run({ host: '127.0.0.1', port: upstreamPort, requestFile: warmFile, connections: CONNECTIONS, durationS: Math.max(1, WARMUP) })

    for (const sc of scenarios) {
      const res: ScenarioResult = {
        name: sc.name,
        title: sc.title,
        expect: sc.expect,
        paced: sc.paced === true,
        rate: sc.paced ? RATE : null,
        connections: sc.connections ?? CONNECTIONS,
        note: sc.note ?? null,
        skipped: null,
        failed: null,
        preflight: [],
        runs: [],
        summary: null,
      }
      results.push(res)
      let storeOverride: Record<string, unknown> | undefined
      let requests: Buffer[]
      if (sc.name === 'redis') {
        const r = await prepareRedis(ctx, tmp, upstreamUrl, childEnvBase)
        if ('skip' in r) {
          res.skipped = r.skip
          log(`${sc.name}: skipped — ${r.skip}`)
          continue
        }
        storeOverride = r.store
        redis = r.child
        redisPid = r.child.pid as number
        requests = [GET('/api/items/42', { 'X-API-Key': r.key })]
      } else requests = await sc.requests(ctx)
      const reqFile = path.join(tmp, `${sc.name}.req`)
      writeRequestFile(reqFile, requests)

      const configFile = path.join(tmp, `${sc.name}.yaml`)
      // Above info the log has no "gatehouse listening" line to read the ports from: give fixed ones.
      const ports = LOG_SHOWS_LISTENING ? undefined : { proxy: await freePort(), admin: await freePort() }
      writeFileSync(
        configFile,
        stringify(
          gatehouseConfig({
            upstreamUrl,
            storePath: `./keys-${sc.store ?? 'small'}.json`,
            ...(sc.cacheMaxEntries !== undefined ? { cacheMaxEntries: sc.cacheMaxEntries } : {}),
            ...(storeOverride ? { store: storeOverride } : {}),
            creds,
            decision: sc.front !== undefined,
            ports,
          }),
        ),
      )
      if (sc.front && !NGINX) {
        res.skipped = 'nginx is not installed (apt-get install nginx)'
        log(`${sc.name}: skipped — ${res.skipped}`)
        continue
      }
      let gh: RunningGatehouse | null = null
      // node-floor beside Gatehouse, timed in each round between direct and Gatehouse.
      let floorSide: RunningGatehouse | null = null
      // Fixed-rate scenarios run Gatehouse with the tail probe (GC, log flushes, timers, event-loop delay).
      const probeFile = sc.paced && !sc.nodeFloor && env.BENCH_TAIL_PROBE !== '0' ? path.join(tmp, `${sc.name}.tail.json`) : null
      tailRuns.length = 0
      try {
        gh = sc.nodeFloor
          ? await startNodeFloor(upstreamUrl, PROXY_CPU, childEnvBase, GH_NODE_ARGS)
          : await startGatehouse(
              configFile,
              PROXY_CPU,
              { ...childEnvBase, [HS_SECRET_ENV]: creds.hsSecret, ...(probeFile ? { TAIL_PROBE_OUT: probeFile } : {}) },
              probeFile ? ['--import', TAIL_PROBE, ...GH_NODE_ARGS] : GH_NODE_ARGS,
              ports,
            )
        if (!sc.nodeFloor) {
          const idle = pidMemory(gh.pid)
          res.rssIdleMb = (idle?.rssKb ?? Number.NaN) / 1024
          res.rssIdleAnonMb = (idle?.anonKb ?? Number.NaN) / 1024
        }
        if (sc.front) gh = await behindNginx(gh, upstreamPort, sc.front === 'nginx-cached', childEnvBase)
        if (FLOOR_ROUNDS && sc.floorEachRound && !sc.nodeFloor && !sc.front) floorSide = await startNodeFloor(upstreamUrl, PROXY_CPU, childEnvBase, GH_NODE_ARGS)
        // ---- pre-flight: the first, middle and last request answer as expected (node-floor forwards anything: 200)
        const picks = [...new Set([0, Math.floor(requests.length / 2), requests.length - 1])]
        const answering: { who: string; port: number; expect: number }[] = [{ who: '', port: gh.port, expect: sc.expect }]
        if (floorSide) answering.push({ who: 'node-floor ', port: floorSide.port, expect: 200 })
        for (const { who, port, expect } of answering) {
          for (const i of picks) {
            const r = await requestOnce('127.0.0.1', port, requests[i] as Buffer)
            res.preflight.push(`${who}request #${i}: ${r.status}`)
            if (r.status !== expect) throw new Error(`pre-flight: ${who}request #${i} answered ${r.status}, expected ${expect}: ${r.body.toString('utf8').slice(0, 300)}`)
          }
        }
        const spec = (port: number, durationS: number): RunSpec => ({
          host: '127.0.0.1',
          port,
          requestFile: reqFile,
          connections: res.connections,
          durationS,
          ...(sc.paced ? { rate: RATE } : {}),
        })
        const runner = sc.paced ? worker : gen
        if (WARMUP > 0) {
          const warmStart = performance.now()
          let warmed = 0
          do warmed += (await runner.run(spec(gh.port, WARMUP))).requests
          while (sc.warmFullPass && warmed < requests.length && performance.now() - warmStart < 60_000)
          if (sc.warmFullPass && warmed < requests.length) log(`${sc.name}: warm-up sent ${warmed} of ${requests.length} requests in 60 s; some credentials start uncached`)
          if (floorSide) await runner.run(spec(floorSide.port, WARMUP))
        }
        log(`${sc.name}: ${sc.title}${floorSide ? ' (node-floor beside it in each round)' : ''}`)
        const byTarget = { direct: null, 'node-floor': floorSide, gatehouse: gh }
        const targets = floorSide ? (['direct', 'node-floor', 'gatehouse'] as const) : (['direct', 'gatehouse'] as const)
        for (let round = 1; round <= ROUNDS; round++) {
          for (const target of targets) {
            const proc = byTarget[target]
            const port = proc ? proc.port : upstreamPort
            const rec = await timedRun(runner, spec(port, DURATION), target, proc, round, target === 'gatehouse' ? sc.expect : 200, snapshot, ancestors, redisPid)
            res.runs.push(rec)
            log(
              `  round ${round} ${target.padEnd(10)} ${rec.rps.toFixed(0).padStart(7)} req/s  p50 ${((rec.latencyUs.p50 ?? 0) / 1000).toFixed(2)} ms` +
                `  p99 ${((rec.latencyUs.p99 ?? 0) / 1000).toFixed(2)} ms` +
                (rec.gh ? `  cpu ${rec.gh.cpuUsPerReq.toFixed(1)} µs/req (${rec.gh.corePct.toFixed(0)} % of a core)  rss ${rec.gh.rssMaxMb.toFixed(0)} MB` : '') +
                `  busy load/proxy ${rec.cpu.loadBusy.toFixed(0)}/${rec.cpu.proxyBusy.toFixed(0)} %  others ${rec.otherPctOfCore.toFixed(0)} %` +
                (rec.unexpected > 0 ? `  UNEXPECTED ${rec.unexpected}` : ''),
            )
          }
        }
        res.summary = summarize(res)
      } catch (err) {
        res.failed = err instanceof Error ? err.message : String(err)
        log(`${sc.name}: FAILED — ${res.failed}`)
      } finally {
        if (floorSide) await floorSide.stop()
        if (gh) await gh.stop()
        if (probeFile && tailRuns.length > 0) {
          res.tail = attributeTail(
            probeFile,
            tailRuns.flatMap((t) => t.slowest),
            tailRuns.map((t) => t.window),
          )
        }
        if (redis) await stopChild(redis, 3000)
        redis = null
        redisPid = 0
      }
    }
  } finally {
    clearTimeout(deadline)
    if (worker) await worker.close()
    await stopAll()
  }

  // ---- issue 17's peer figure: the harness alone on the machine, after every process of ours is stopped
  const harness = peerHarness(env, PROJECT_ROOT, QUICK)
  const peers =
    'status' in harness
      ? { status: harness.status, reason: portable(harness.reason, PROJECT_ROOT), dir: harness.dir && portable(harness.dir, PROJECT_ROOT), settings: {}, exitCode: null, seconds: 0, rows: [], pairing: null, logTail: '' }
      : await runPeers({ dir: harness.dir, projectRoot: PROJECT_ROOT, tmp, rounds: ROUNDS, durationS: DURATION, warmupS: WARMUP, cpus: ownCpus, env: childEnvBase, log })
  log(`peer harness: ${peers.status}${peers.reason ? ` — ${peers.reason}` : ''}`)

  // ---- report
  const git = gitState()
  const finished = new Date()
  const report: BenchReport = {
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    gatehouse: { commit: git.commit, srcDirty: git.dirty, main: path.relative(PROJECT_ROOT, MAIN) },
    machine: {
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      cpus: NCPU,
      kernel: os.release(),
      node: process.version,
      loadavgAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
    },
    settings: {
      quick: QUICK,
      rounds: ROUNDS,
      durationS: DURATION,
      warmupS: WARMUP,
      connections: CONNECTIONS,
      rate: RATE,
      distinct: DISTINCT,
      loadGenerator: LOADGEN,
      pacedGenerator: 'paced worker (open loop, latency from due time)',
      proxyCpu: PROXY_CPU,
      loadCpu: LOAD_CPU,
      clkTck: CLK_TCK,
      gatehouseLogLevel: LOG_LEVEL,
      gatehouseNodeArgs: GH_NODE_ARGS.join(' '),
      distRebuilt: rebuilt,
      floorRounds: FLOOR_ROUNDS,
    },
    verify,
    scenarios: results,
    startup,
    peers,
  }
  report.targets = computeTargets(report)
  const stamp = started.toISOString().replace(/[:]/g, '').replace(/\..*$/, '').replace('T', '-')
  const md = renderMarkdown(report)
  const base = path.join(OUT_DIR, `bench-${stamp}`)
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(`${base}.md`, md)
  const peersMd = peerTable(tmp)
  if (peersMd) writeFileSync(`${base}-peers.md`, peersMd)
  const series: Series[] = []
  const pub = results.find((r) => r.name === 'public' && r.summary) ?? results.find((r) => r.summary && !r.paced)
  if (pub?.summary) series.push({ label: `direct upstream, ${pub.name} (c${pub.connections})`, latencyUs: pub.summary.direct.latencyUs, dashed: true, grey: true })
  const pacedRef = results.find((r) => r.paced && r.summary)
  if (pacedRef?.summary) series.push({ label: `direct upstream, ${pacedRef.name} (@${pacedRef.rate}/s)`, latencyUs: pacedRef.summary.direct.latencyUs, grey: true })
  // closed-loop scenarios solid, fixed-rate ones dashed
  for (const r of results) {
    if (r.summary) series.push({ label: `${r.name} ${r.paced ? `(@${r.rate}/s)` : `(c${r.connections})`}`, latencyUs: r.summary.gh.latencyUs, dashed: r.paced })
  }
  const title = 'Gatehouse latency by scenario (medians of rounds; dashed: fixed offered rate)'
  const subtitle = `${started.toISOString().slice(0, 16).replace('T', ' ')} UTC · ${git.commit}${git.dirty ? '+dirty' : ''} · ${LOADGEN}, ${DURATION}s × ${ROUNDS} · ${PIN ? `gatehouse on cpu ${PROXY_CPU}` : 'unpinned'} · ${os.cpus()[0]?.model ?? ''}`
  const svg = chartSvg(title, subtitle, series)
  writeFileSync(`${base}.svg`, svg)
  let pngNote = ''
  try {
    writeFileSync(`${base}.png`, svgToPng(svg))
  } catch (err) {
    pngNote = ` (PNG failed: ${err instanceof Error ? err.message : String(err)}; the SVG is there)`
  }
  for (const ext of ['json', 'md', 'svg', 'png']) {
    try {
      copyFileSync(`${base}.${ext}`, path.join(OUT_DIR, `latest.${ext}`))
    } catch {
      // png may be missing
    }
  }
  process.stdout.write(`${md}\n`)
  log(`wrote ${path.relative(process.cwd(), base)}.{md,json,svg,png} and latest.* in ${path.relative(process.cwd(), OUT_DIR) || '.'}${pngNote}`)
  log(`total ${((finished.getTime() - started.getTime()) / 1000).toFixed(0)} s`)
  return results.some((r) => r.failed) ? 1 : 0
}

/** The current scenario's Gatehouse runs: their p99 samples and time windows (epoch ms), for the tail attribution. */
const tailRuns: { slowest: [number, number][]; window: [number, number] }[] = []

/**
 * CPU (user+system) of `gatehouse --help`, `check-config` and `keys list`, each run
 * STARTUP_RUNS times on the proxy core; from this process's reaped-children ticks.
 */
function measureStartup(tmp: string, upstreamUrl: string, childEnv: NodeJS.ProcessEnv): StartupRow[] {
  if (STARTUP_RUNS === 0 || !HAS_PROC) return []
  const config = path.join(tmp, 'startup.yaml')
  writeFileSync(
    config,
    stringify({ listen: '127.0.0.1:0', admin: { listen: '127.0.0.1:0' }, upstream: { url: upstreamUrl }, apis: [{ name: 'public', prefixes: ['/'], public: true }], store: { type: 'file', path: './keys-small.json' } }),
  )
  const rows: StartupRow[] = []
  for (const args of [['--help'], ['check-config', '--config', config], ['keys', 'list', '--config', config]]) {
    const before = pidStat(process.pid)
    for (let i = 0; i < STARTUP_RUNS; i++) {
      const cmd = PIN && TASKSET ? [TASKSET, '-c', String(PROXY_CPU), process.execPath] : [process.execPath]
      const r = spawnSync(cmd[0] as string, [...cmd.slice(1), MAIN, ...args], { cwd: tmp, env: childEnv, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 })
      // A command that fails early is fast: its time is not a start-up time.
      if (r.status !== 0) throw new Error(`start-up: gatehouse ${args.join(' ')} exited ${r.status ?? r.signal}: ${String(r.stderr).slice(0, 300)}`)
    }
    const after = pidStat(process.pid)
    const ticks = before && after ? after.childTicks - before.childTicks : Number.NaN
    rows.push({ command: args.join(' ').replace(config, 'FILE'), runs: STARTUP_RUNS, cpuMs: (ticks * 1000) / CLK_TCK / STARTUP_RUNS })
  }
  log(`start-up CPU: ${rows.map((r) => `${r.command} ${r.cpuMs.toFixed(0)} ms`).join(', ')}`)
  return rows
}

/** One timed run against `target`; `gh` is its process (Gatehouse or node-floor; null for direct), whose CPU and memory are counted. */
async function timedRun(
  gen: LoadGenerator,
  spec: RunSpec,
  target: RunRecord['target'],
  gh: RunningGatehouse | null,
  round: number,
  expect: number,
  snapshot: (gh: RunningGatehouse | null) => Snapshot,
  ancestors: Set<number>,
  redisPid: number,
): Promise<RunRecord> {
  const cacheBefore = gh ? await gh.cacheCounters() : null
  const linesBefore = gh ? gh.lines() : 0
  const rss: { t: number; kb: number }[] = []
  let hwm = 0
  let anonMax = 0
  const sample = () => {
    if (!gh) return
    const m = pidMemory(gh.pid)
    if (m) {
      rss.push({ t: performance.now() / 1000, kb: m.rssKb })
      hwm = Math.max(hwm, m.hwmKb)
      anonMax = Math.max(anonMax, m.anonKb)
    }
  }
  const b = snapshot(gh)
  sample()
  const sampler = setInterval(sample, 250)
  let r: LoadResult
  const runStart = performance.timeOrigin + performance.now()
  try {
    r = await gen.run(spec)
  } finally {
    clearInterval(sampler)
  }
  if (target === 'gatehouse' && r.slowest) tailRuns.push({ slowest: r.slowest, window: [runStart, performance.timeOrigin + performance.now()] })
  const a = snapshot(gh)
  sample()
  const cacheAfter = gh ? await gh.cacheCounters() : null
  const linesAfter = gh ? gh.lines() : 0

  const usage = cpuBusy(b.cpu, a.cpu)
  const ticksToUs = 1e6 / CLK_TCK
  const d = (x: PidStat | null, y: PidStat | null) => (x && y ? y.ticks - x.ticks : Number.NaN)
  const ours = (s: PidStat) =>
    ancestors.has(s.pid) || s.ppid === process.pid || s.pid === gh?.pid || s.pid === a.upstream?.pid || s.pid === a.worker?.pid || (redisPid > 0 && s.pid === redisPid) ||
    (gh?.frontPid !== undefined && (s.pid === gh.frontPid || s.ppid === gh.frontPid))
  const foreign = foreignTicks(b.procs, a.procs, ours)
  const elapsed = usage.elapsedTicks || 1
  const generatorTicks = gen.name === 'wrk' ? (a.self && b.self ? a.self.childTicks - b.self.childTicks : Number.NaN) : d(b.worker, a.worker)
  const okCount = expect === 200 ? (r.statuses['200'] ?? r.statuses['2xx/3xx'] ?? 0) : (r.statuses[String(expect)] ?? r.statuses['4xx/5xx'] ?? 0)
  let gstats: RunRecord['gh'] = null
  if (gh) {
    const cpuUs = d(b.gh, a.gh) * ticksToUs
    const sysUs = b.gh && a.gh ? (a.gh.stime - b.gh.stime) * ticksToUs : Number.NaN
    const hits = cacheBefore && cacheAfter ? cacheAfter.hits - cacheBefore.hits : Number.NaN
    const misses = cacheBefore && cacheAfter ? cacheAfter.misses - cacheBefore.misses : Number.NaN
    gstats = {
      cpuUs,
      cpuUsPerReq: cpuUs / r.requests,
      corePct: (100 * cpuUs) / ((elapsed * 1e6) / CLK_TCK),
      sysUsPerReq: sysUs / r.requests,
      rssMaxMb: Math.max(0, ...rss.map((x) => x.kb)) / 1024,
      rssEndMb: (rss.at(-1)?.kb ?? 0) / 1024,
      rssAnonMaxMb: anonMax / 1024,
      hwmMb: hwm / 1024,
      rssSlopeMbPerMin: slope(rss.map((x) => [x.t, x.kb / 1024])) * 60,
      cacheHitPct: hits + misses > 0 ? (100 * hits) / (hits + misses) : null,
      logLinesPerReq: (linesAfter - linesBefore) / r.requests,
    }
  }
  const cpuName = (n: number | null) => (n === null ? '' : `cpu${n}`)
  return {
    round,
    target,
    requests: r.requests,
    durationS: r.durationS,
    rps: r.rps,
    latencyUs: r.latencyUs,
    statuses: r.statuses,
    errors: r.errors,
    timeouts: r.timeouts,
    missed: r.missed,
    unexpected: r.requests - okCount + r.errors + r.timeouts,
    gh: gstats,
    upstreamCpuUsPerReq: (d(b.upstream, a.upstream) * ticksToUs) / r.requests,
    generatorPctOfCore: (100 * generatorTicks) / elapsed,
    cpu: {
      busy: usage.busy,
      loadBusy: usage.busy[cpuName(LOAD_CPU) || 'cpu0'] ?? Number.NaN,
      proxyBusy: usage.busy[cpuName(PROXY_CPU) || 'cpu1'] ?? Number.NaN,
      stealMax: usage.stealMax,
    },
    otherPctOfCore: (100 * foreign) / elapsed,
  }
}

/** Least-squares slope of y over x (NaN for fewer than 3 points). */
function slope(pts: [number, number][]): number {
  if (pts.length < 3) return Number.NaN
  const n = pts.length
  const mx = pts.reduce((s, p) => s + p[0], 0) / n
  const my = pts.reduce((s, p) => s + p[1], 0) / n
  let num = 0
  let den = 0
  for (const [x, y] of pts) {
    num += (x - mx) * (y - my)
    den += (x - mx) ** 2
  }
  return den > 0 ? num / den : Number.NaN
}

async function runVerifyLoop(ctx: Ctx, tmp: string): Promise<BenchReport['verify']> {
  const pool = (await ctx.rsPool().catch(() => null)) ?? []
  const rsTokens = pool.length > 0 ? pool.slice(0, 1000) : await ctx.creds.tokenPool('RS256', 200)
  const cases: { alg: Alg; issuer: string; audience: string; publicPem?: string; secret?: string; tokens: string[] }[] = [
    { alg: 'RS256', issuer: ISSUER.RS256, audience: AUDIENCE, publicPem: await readPem(tmp, ctx.creds.publicKeyFiles.RS256), tokens: rsTokens },
  ]
  if (!QUICK) {
    for (const alg of ['ES256', 'EdDSA'] as const) {
      cases.push({ alg, issuer: ISSUER[alg], audience: AUDIENCE, publicPem: await readPem(tmp, ctx.creds.publicKeyFiles[alg]), tokens: await ctx.creds.tokenPool(alg, 200) })
    }
    cases.push({ alg: 'HS256', issuer: ISSUER.HS256, audience: AUDIENCE, secret: ctx.creds.hsSecret, tokens: await ctx.creds.tokenPool('HS256', 200) })
  }
  const jobFile = path.join(tmp, 'verify-job.json')
  writeFileSync(jobFile, JSON.stringify({ seconds: VERIFY_SECONDS, cases }))
  log(`jwtVerify alone on ${PROXY_CPU === null ? 'an unpinned core' : `cpu ${PROXY_CPU}`} (${cases.map((c) => c.alg).join(', ')})`)
  const child = spawnTracked('verify-loop', PROXY_CPU, process.execPath, ['--import', import.meta.resolve('tsx'), path.join(PROJECT_ROOT, 'test/bench/verify-loop.ts'), jobFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: cleanEnv(),
  })
  let out = ''
  let err = ''
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c))
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (err += c))
  const timer = setTimeout(() => void stopChild(child, 1000), (VERIFY_SECONDS * 12 * cases.length + 30) * 1000)
  const { code } = await exited(child)
  clearTimeout(timer)
  try {
    if (code !== 0) throw new Error(err.trim().slice(-500))
    return JSON.parse(out.trim().split('\n').at(-1) ?? '[]') as BenchReport['verify']
  } catch (e) {
    log(`jwtVerify loop failed: ${e instanceof Error ? e.message : String(e)}`)
    return []
  }
}

async function readPem(dir: string, file: string | undefined): Promise<string> {
  const { readFile } = await import('node:fs/promises')
  return readFile(path.join(dir, file as string), 'utf8')
}

/**
 * The Redis store scenario, when it can run: redis-server must be installed (the
 * bench starts it on a free port of the load core), the config must pass
 * check-config, and `keys create` writes the one key into it.
 */
async function prepareRedis(
  _ctx: Ctx,
  tmp: string,
  upstreamUrl: string,
  childEnv: NodeJS.ProcessEnv,
): Promise<{ skip: string } | { store: Record<string, unknown>; key: string; child: ChildProcess }> {
  const port = 16_379 + Math.floor(Math.random() * 1000)
  const store = { type: 'redis', url: `redis://127.0.0.1:${port}` }
  const file = path.join(tmp, 'redis-probe.yaml')
  writeFileSync(file, stringify({ listen: '127.0.0.1:0', admin: { listen: '127.0.0.1:0' }, upstream: { url: upstreamUrl }, apis: [{ name: API, prefixes: ['/api'] }], store }))
  const run = (args: string[]) =>
    spawnSync(process.execPath, [MAIN, ...args], { cwd: PROJECT_ROOT, env: childEnv, encoding: 'utf8', timeout: 20_000 })
  const check = run(['check-config', '--config', file])
  if (check.status !== 0) return { skip: `store.type: redis is refused by check-config: ${(check.stderr || check.stdout).trim().split('\n').slice(0, 3).join(' ')}` }
  const redisServer = onPath('redis-server')
  let child: ChildProcess | null = null
  if (redisServer) {
    child = spawnTracked('redis-server', LOAD_CPU, redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
      env: childEnv,
    })
    await sleep(500)
  }
  const created = run(['keys', 'create', '--config', file, '--user', 'bench-redis', '--permissions', `${API}:rw`, '--json'])
  if (created.status !== 0) {
    if (child) await stopChild(child, 3000)
    const why = (created.stderr || created.stdout).trim().split('\n')[0] ?? ''
    return { skip: `\`gatehouse keys create\` fails with a Redis store: "${why}"${redisServer ? '' : ' (and redis-server is not installed)'}` }
  }
  if (!child) return { skip: 'redis-server is not installed (apt-get install redis-server)' }
  const key = (JSON.parse(created.stdout) as { key: string }).key
  return { store, key, child }
}

const NGINX = onPath('nginx') ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : null)

/**
 * nginx with deploy/forward-auth/nginx/gatehouse.conf (ports filled in) in front of the
 * upstream, asking `gh`; pinned to the proxy core beside it. The load goes to nginx.
 */
async function behindNginx(gh: RunningGatehouse, upstreamPort: number, cached: boolean, childEnv: NodeJS.ProcessEnv): Promise<RunningGatehouse> {
  // Not under `tmp` (mode 0700): started as root, nginx's workers run unprivileged and
  // must reach their cache and temp folders.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-nginx-'))
  chmodSync(dir, 0o755)
  const port = await freePort()
  let site = await readTemplate('deploy/forward-auth/nginx/gatehouse.conf', [
    ['server 127.0.0.1:8080;', `server 127.0.0.1:${gh.port};`],
    ['server 127.0.0.1:3000;', `server 127.0.0.1:${upstreamPort};`],
    ['listen 80;', `listen 127.0.0.1:${port};`],
  ])
  if (cached) site = withDecisionCache(site, 'decision-cache')
  writeFileSync(path.join(dir, 'site.conf'), site)
  writeFileSync(path.join(dir, 'nginx.conf'), nginxMainConf(dir, 4096))
  const child = spawnTracked('nginx', PROXY_CPU, NGINX as string, nginxArgs(dir), { stdio: 'ignore', env: childEnv })
  const deadline = Date.now() + 10_000
  for (;;) {
    const r = await requestOnce('127.0.0.1', port, GET('/_probe')).catch(() => null)
    if (r) break
    if (Date.now() > deadline || child.exitCode !== null) {
      await stopChild(child, 2000)
      await gh.stop()
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`nginx did not start on ${port}`)
    }
    await sleep(100)
  }
  return {
    ...gh,
    port,
    frontPid: child.pid as number,
    async stop() {
      await stopChild(child, 5000)
      await gh.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** One PidStat for `pid` plus `front` and its children (nginx's master and workers): the pair's CPU. */
function groupStat(procs: Map<number, PidStat>, pid: number, front: number): PidStat | null {
  const members = [...procs.values()].filter((p) => p.pid === pid || p.pid === front || p.ppid === front)
  if (!members.some((p) => p.pid === pid)) return null
  const sum = (f: (p: PidStat) => number) => members.reduce((t, p) => t + f(p), 0)
  return { pid, ppid: 0, ticks: sum((p) => p.ticks), utime: sum((p) => p.utime), stime: sum((p) => p.stime), childTicks: sum((p) => p.childTicks) }
}

// ------------------------------------------------------------------ entry
let stopping = false
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (stopping) return
    stopping = true
    log(`${sig}: stopping every process started (${liveChildren().map((c) => `${c.name} ${c.pid}`).join(', ') || 'none'})`)
    void stopAll().finally(() => process.exit(130))
  })
}

main().then(
  (code) => {
    process.exitCode = code
  },
  async (err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    await stopAll()
    process.exitCode = 1
  },
)
