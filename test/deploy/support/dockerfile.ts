// A small reader of deploy/Dockerfile (instructions, stages, the final user)
// and a replay of its build outside Docker: each stage gets a folder as its
// root, COPY copies from the build context (filtered by Dockerfile.dockerignore)
// or from an earlier stage, RUN runs with `sh -c` in the mapped WORKDIR. No
// Docker engine runs on these machines, so this keeps the recipe honest.
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs'
import path from 'node:path'

export interface Instruction {
  readonly keyword: string
  readonly args: string
  readonly line: number
}

export interface Stage {
  readonly from: string
  readonly name: string | null
  readonly instructions: Instruction[]
}

/** Instructions with continuation lines joined and comments dropped, split into stages. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const start = i
    let line = lines[i] ?? ''
    if (/^\s*(#|$)/.test(line)) continue
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      i++
      const next = lines[i] ?? ''
      if (/^\s*#/.test(next)) continue
      line = line.replace(/\\\s*$/, ' ') + next.trim()
    }
    const m = line.trim().match(/^(\S+)\s*(.*)$/)
    if (!m) continue
    const keyword = (m[1] ?? '').toUpperCase()
    const args = (m[2] ?? '').trim()
    if (keyword === 'FROM') {
      const f = args.match(/^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i)
      if (!f) throw new Error(`line ${start + 1}: cannot read FROM ${args}`)
      stages.push({ from: f[1] ?? '', name: f[2] ?? null, instructions: [] })
      continue
    }
    const stage = stages.at(-1)
    if (!stage) throw new Error(`line ${start + 1}: ${keyword} before FROM`)
    stage.instructions.push({ keyword, args, line: start + 1 })
  }
  return stages
}

/** The exec (JSON) form of ENTRYPOINT/CMD, or null for the shell form. */
export function execForm(args: string): string[] | null {
  if (!args.startsWith('[')) return null
  const v = JSON.parse(args) as unknown
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null
}

/** ENV a=b c="d e" (and the old `ENV a b`). */
export function parseEnv(args: string): Record<string, string> {
  const out: Record<string, string> = {}
  if (!args.includes('=')) {
    const [k, ...rest] = args.split(/\s+/)
    if (k) out[k] = rest.join(' ')
    return out
  }
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const raw = m[2] ?? ''
    out[m[1] ?? ''] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw
  }
  return out
}

/** The last USER of the final stage, or null when the image runs as root by default. */
export function finalUser(stages: readonly Stage[]): string | null {
  const users = (stages.at(-1)?.instructions ?? []).filter((i) => i.keyword === 'USER')
  return users.at(-1)?.args ?? null
}

/** Why the final user is not a numeric non-root uid (runAsNonRoot can verify only a number), or null. */
export function nonRootProblem(stages: readonly Stage[]): string | null {
  const user = finalUser(stages)
  if (user === null) return 'the final stage has no USER: the image runs as root'
  const m = user.match(/^(\d+)(?::(\d+))?$/)
  if (!m) return `USER ${user} is not numeric: Kubernetes' runAsNonRoot cannot verify a user name`
  if (Number(m[1]) === 0) return 'USER 0 is root'
  if (m[2] !== undefined && Number(m[2]) === 0) return 'the primary group is 0 (root)'
  return null
}

/** Dockerfile.dockerignore in the subset used here: `*`, `name`, `dir/`, each optionally negated with `!`. */
export function dockerignoreFilter(text: string): (rel: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!')
      const pattern = (negate ? l.slice(1) : l).replace(/\/$/, '')
      if (pattern !== '*' && /[*?[\]]/.test(pattern)) throw new Error(`the replay does not understand the dockerignore pattern ${l}`)
      return { negate, pattern }
    })
  return (rel) => {
    let included = true
    for (const r of rules) {
      const matches = r.pattern === '*' || rel === r.pattern || rel.startsWith(`${r.pattern}/`)
      if (matches) included = r.negate
    }
    return included
  }
}

export interface Replay {
  /** Each stage's root folder, by index. */
  readonly roots: string[]
  readonly final: { workdir: string; env: Record<string, string>; user: string | null; expose: string[]; entrypoint: string[]; cmd: string[] }
}

export interface ReplayOptions {
  /** Environment of every RUN (the stage's ENV goes over it). */
  readonly runEnv: NodeJS.ProcessEnv
  readonly timeoutMs: number
  /**
   * When set, a full `npm ci` (no --omit=dev: the build stage's install, whose
   * point is `prepare`, i.e. tsc) links this already-installed node_modules
   * instead of downloading ~250 MB again, then runs `npm run prepare` on the
   * copied tree for real. Production installs (--omit=dev) always run for real.
   */
  readonly reuseDevInstall: string | null
}

/** Replays every stage into `into/stage-N`; throws with the output of a failing RUN. */
export function replayBuild(dockerfile: string, context: string, into: string, opts: ReplayOptions): Replay {
  const stages = parseDockerfile(readFileSync(dockerfile, 'utf8'))
  const ignoreFile = `${dockerfile}.dockerignore`
  const included = existsSync(ignoreFile) ? dockerignoreFilter(readFileSync(ignoreFile, 'utf8')) : () => true
  const roots: string[] = []
  let final: Replay['final'] = { workdir: '/', env: {}, user: null, expose: [], entrypoint: [], cmd: [] }
  stages.forEach((stage, index) => {
    const root = path.join(into, `stage-${index}`)
    mkdirSync(root, { recursive: true })
    roots.push(root)
    const inRoot = (p: string) => path.join(root, p)
    let workdir = '/'
    const env: Record<string, string> = {}
    let user: string | null = null
    const expose: string[] = []
    let entrypoint: string[] = []
    let cmd: string[] = []
    for (const ins of stage.instructions) {
      switch (ins.keyword) {
        case 'WORKDIR':
          workdir = path.posix.resolve(workdir, ins.args)
          mkdirSync(inRoot(workdir), { recursive: true })
          break
        case 'ENV':
          Object.assign(env, parseEnv(ins.args))
          break
        case 'COPY':
          copy(ins, stages, roots, context, included, inRoot, workdir)
          break
        case 'RUN': {
          const cwd = inRoot(workdir)
          const fullInstall = /^npm ci\b/.test(ins.args) && !/--omit[= ]dev/.test(ins.args) && !/[;&|]/.test(ins.args)
          let command = ins.args
          if (fullInstall && opts.reuseDevInstall) {
            symlinkSync(opts.reuseDevInstall, path.join(cwd, 'node_modules'), 'dir')
            command = 'npm run prepare --if-present'
          }
          const r = spawnSync('sh', ['-c', command], { cwd, env: { ...opts.runEnv, ...env }, encoding: 'utf8', timeout: opts.timeoutMs, killSignal: 'SIGKILL' })
          if (r.status !== 0) throw new Error(`line ${ins.line}: RUN ${ins.args} (${command}) exited ${r.status ?? r.signal}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`)
          break
        }
        case 'USER':
          user = ins.args
          break
        case 'EXPOSE':
          expose.push(...ins.args.split(/\s+/))
          break
        case 'ENTRYPOINT':
        case 'CMD': {
          const form = execForm(ins.args)
          if (!form) throw new Error(`line ${ins.line}: ${ins.keyword} must use the exec (JSON) form: no shell at run time`)
          if (ins.keyword === 'ENTRYPOINT') entrypoint = form
          else cmd = form
          break
        }
        case 'LABEL':
        case 'ARG':
          break
        default:
          throw new Error(`line ${ins.line}: the replay does not support ${ins.keyword}`)
      }
    }
    final = { workdir, env, user, expose, entrypoint, cmd }
  })
  return { roots, final }
}

function copy(
  ins: Instruction,
  stages: readonly Stage[],
  roots: readonly string[],
  context: string,
  included: (rel: string) => boolean,
  inRoot: (p: string) => string,
  workdir: string,
): void {
  const words = ins.args.split(/\s+/)
  let fromRoot: string | null = null
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() as string
    const from = flag.match(/^--from=(.+)$/)
    if (from) {
      const idx = stages.findIndex((s, i) => i < roots.length && (s.name === from[1] || String(i) === from[1]))
      if (idx < 0) throw new Error(`line ${ins.line}: no earlier stage ${from[1]}`)
      fromRoot = roots[idx] as string
    } else if (!/^--(chown|chmod|link)=?/.test(flag)) throw new Error(`line ${ins.line}: the replay does not support COPY ${flag}`)
  }
  const dest = words.pop() as string
  const destAbs = inRoot(path.posix.resolve(workdir, dest))
  const intoDir = dest.endsWith('/') || words.length > 1
  for (const src of words) {
    const from = fromRoot ? path.join(fromRoot, src) : path.join(context, src)
    if (!fromRoot && !included(path.posix.normalize(src).replace(/\/$/, ''))) {
      throw new Error(`line ${ins.line}: COPY ${src} is excluded by Dockerfile.dockerignore`)
    }
    if (!existsSync(from)) throw new Error(`line ${ins.line}: COPY source ${src} does not exist`)
    const target = intoDir ? path.join(destAbs, path.basename(src)) : destAbs
    mkdirSync(path.dirname(target), { recursive: true })
    // Between stages, hard links (cp -al) are a copy for our purpose and take no time or space.
    if (fromRoot && !existsSync(target) && spawnSync('cp', ['-al', from, target]).status === 0) continue
    cpSync(from, target, {
      recursive: true,
      filter: (f) => fromRoot !== null || included(path.relative(context, f).split(path.sep).join('/') || '.'),
    })
  }
}
