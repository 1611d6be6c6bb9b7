// deploy/Dockerfile (issue 5): two linters (dockerfile-utils, dockerfilelint),
// our own rules (numeric non-root user, Node 24 runtime, exec-form entrypoint,
// both ports exposed), and a replay of its build and run steps outside Docker:
// every stage built into a temp folder (the build stage's `npm ci` and tsc, the
// production-only install), then the final stage's entrypoint started as the
// image's user with config and data "mounted", serving requests.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { parse, stringify } from 'yaml'
import { startLegacyApi } from '../../src/demo/legacy-api.js'
import { parseJsonLines, pollUntil } from '../support/gatehouse-process.js'
import { execForm, nonRootProblem, parseDockerfile, replayBuild, type Stage } from './support/dockerfile.js'
import { DOCKERFILE, KUSTOMIZE_DIR, ROOT } from './support/paths.js'
import { run } from './support/run.js'

const BIN = path.join(ROOT, 'node_modules', '.bin')
const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-docker-test-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

function stages(text = readFileSync(DOCKERFILE, 'utf8')): Stage[] {
  return parseDockerfile(text)
}

function dockerfileAt(name: string, text: string): string {
  const file = path.join(tmp, name)
  writeFileSync(file, text)
  return file
}

// A Dockerfile that breaks what the linters look at: a port out of range,
// a shell-form CMD given twice, an argument-less USER.
const BROKEN = 'FROM node:24-slim\nEXPOSE 80000\nUSER\nCMD node a.js\nCMD node b.js\n'

describe('the Dockerfile passes the linters', () => {
  test('dockerfile-utils lint reports nothing', () => {
    const r = run(path.join(BIN, 'dockerfile-utils'), ['lint', DOCKERFILE])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(r.stdout.trim(), '')
  })

  test('dockerfilelint reports no issue', () => {
    const r = run(path.join(BIN, 'dockerfilelint'), ['-j', DOCKERFILE])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal((JSON.parse(r.stdout) as { totalIssues: number }).totalIssues, 0)
  })

  test('both linters reject a broken Dockerfile', () => {
    const file = dockerfileAt('Broken.Dockerfile', BROKEN)
    const utils = run(path.join(BIN, 'dockerfile-utils'), ['lint', file])
    assert.notEqual(utils.code, 0)
    assert.match(utils.stdout, /Instruction has no arguments/)
    const lint = run(path.join(BIN, 'dockerfilelint'), ['-j', file])
    assert.notEqual(lint.code, 0)
    assert.match(lint.stdout, /Invalid Port Exposed/)
  })
})

describe('the image recipe follows the deployment rules', () => {
  test('the final stage runs as a numeric non-root user', () => {
    assert.equal(nonRootProblem(stages()), null)
  })

  for (const [name, text, why] of [
    ['no USER', 'FROM node:24-slim\nCMD ["node"]\n', /no USER/],
    ['USER root', 'FROM node:24-slim\nUSER 0\n', /root/],
    ['a user name', 'FROM node:24-slim\nUSER node\n', /not numeric/],
    ['a non-root user only in an earlier stage', 'FROM node:24-slim AS build\nUSER 1000\nFROM node:24-slim\nCMD ["node"]\n', /no USER/],
    ['group 0', 'FROM node:24-slim\nUSER 10001:0\n', /group is 0/],
  ] as const) {
    test(`the non-root check rejects ${name}`, () => {
      assert.match(nonRootProblem(stages(text)) ?? '', why)
    })
  }

  test('multi-stage: a build stage, and a Node 24 runtime with production dependencies only', () => {
    const s = stages()
    assert.ok(s.length >= 2)
    assert.match(s.at(-1)?.from ?? '', /^(node:24[-.\w]*|gcr\.io\/distroless\/nodejs24[-\w]*(:[\w.-]+)?)$/)
    const runs = s.flatMap((st) => st.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args))
    assert.ok(runs.some((r) => /npm ci\b(?!.*--omit=dev)/.test(r)), 'a build stage installs everything and runs prepare (tsc)')
    assert.ok(runs.some((r) => /npm ci\b.*--omit=dev/.test(r)), 'a stage installs production dependencies only')
    assert.ok(!(s.at(-1)?.instructions ?? []).some((i) => i.keyword === 'RUN'), 'the runtime stage runs nothing (no shell needed)')
  })

  test('exposes the traffic and admin ports and starts without a shell', () => {
    const final = stages().at(-1)?.instructions ?? []
    const exposed = final.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/))
    assert.deepEqual(exposed.sort(), ['8080', '9464'])
    for (const kw of ['ENTRYPOINT', 'CMD']) {
      const ins = final.find((i) => i.keyword === kw)
      assert.ok(ins && execForm(ins.args), `${kw} in exec form`)
    }
  })
})

describe('replaying the Dockerfile outside Docker', () => {
  test('builds every stage, then the image entrypoint serves requests as the image user', { timeout: 240_000 }, async (t) => {
    const into = mkdtempSync(path.join(tmp, 'replay-'))
    chmodSync(tmp, 0o755)
    chmodSync(into, 0o755)
    // npm reads its cache first: the packages are the ones `npm ci` just installed here.
    // The build stage compiles the copied tree against this checkout's node_modules
    // unless GATEHOUSE_REPLAY_FULL_BUILD=1 (then its `npm ci` downloads everything again).
    const replay = replayBuild(DOCKERFILE, ROOT, into, {
      runEnv: { ...process.env, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
      timeoutMs: 200_000,
      reuseDevInstall: process.env.GATEHOUSE_REPLAY_FULL_BUILD === '1' ? null : path.join(ROOT, 'node_modules'),
    })
    const image = replay.roots.at(-1) as string
    const app = path.join(image, replay.final.workdir)

    // Production dependencies only, the compiled entry, no sources.
    assert.ok(existsSync(path.join(app, 'dist', 'main.js')), 'dist/main.js')
    assert.ok(existsSync(path.join(app, 'node_modules', 'fastify')), 'a production dependency')
    for (const dev of ['typescript', 'tsx', '@types/node', 'kubernetes-models']) {
      assert.ok(!existsSync(path.join(app, 'node_modules', dev)), `no devDependency ${dev}`)
    }
    assert.ok(!existsSync(path.join(app, 'src')), 'no sources in the image')

    // "Mount" the config (a ConfigMap) and the data folder (an emptyDir owned by fsGroup).
    assert.equal(replay.final.env.GATEHOUSE_CONFIG, '/etc/gatehouse/gatehouse.yaml')
    const legacy = await startLegacyApi(0)
    // Closed however the test ends: an open server would keep this file's process alive (a hang, not a failure).
    t.after(() => legacy.close())
    const dataDir = path.join(image, 'var', 'lib', 'gatehouse')
    mkdirSync(dataDir, { recursive: true })
    const [uid, gid] = (replay.final.user ?? '').split(':').map(Number)
    const asImageUser = process.getuid?.() === 0 && uid !== undefined
    if (asImageUser) chownSync(dataDir, uid, gid ?? uid)
    const config = parse(readFileSync(path.join(KUSTOMIZE_DIR, 'sidecar', 'gatehouse.yaml'), 'utf8')) as Record<string, unknown>
    Object.assign(config, {
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      upstream: { url: legacy.url },
      store: { type: 'file', path: path.join(dataDir, 'apikeys.json') },
    })
    const configFile = path.join(image, replay.final.env.GATEHOUSE_CONFIG)
    mkdirSync(path.dirname(configFile), { recursive: true })
    writeFileSync(configFile, stringify(config))

    // The container's process: ENTRYPOINT + CMD, the image's ENV, its user (when we are root
    // the image tree is not writable for it, as with a read-only root filesystem).
    const [cmd, ...entryArgs] = replay.final.entrypoint
    assert.equal(cmd, 'node')
    const args = [...entryArgs, ...replay.final.cmd]
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...replay.final.env, GATEHOUSE_CONFIG: configFile }
    const ids = asImageUser ? { uid, gid: gid ?? uid } : {}
    if (asImageUser) {
      // The image user must be able to run this node: not one under a private home (/root is 0700).
      const blocked = unreachableFor(process.execPath, uid)
      assert.equal(blocked, null, `${process.execPath} cannot be executed by the image user ${uid}: ${blocked} (.ci/run installs Node under /var/cache when root)`)
    }
    const keys = run(process.execPath, [...entryArgs, 'keys', 'create', '--user', 'alice', '--permissions', 'users:rw', '--json'], { cwd: app, env, timeoutMs: 20_000, ...ids })
    assert.equal(keys.code, 0, keys.stderr)
    const key = (JSON.parse(keys.stdout) as { key: string }).key

    const child = spawn(process.execPath, args, { cwd: app, env, ...ids, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    try {
      const listening = await pollUntil(async () => parseJsonLines(out).some((l) => l.msg === 'gatehouse listening') || child.exitCode !== null, 15_000)
      const line = parseJsonLines(out).find((l) => l.msg === 'gatehouse listening')
      assert.ok(listening !== null && line, `gatehouse did not start: ${err}`)
      const proxy = String(line.proxy)
      assert.equal((await fetch(`${String(line.admin)}/readyz`)).status, 200)
      assert.equal((await fetch(`${proxy}/api/v1/version`)).status, 200)
      assert.equal((await fetch(`${proxy}/api/v1/users`)).status, 401)
      const ok = await fetch(`${proxy}/api/v1/users`, { headers: { 'x-api-key': key } })
      assert.equal(ok.status, 200)
      assert.equal(((await ok.json()) as { identity: Record<string, string> }).identity['x-auth-user'], 'alice')
      child.kill('SIGTERM')
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 25_000))])
      assert.equal(code, 0, 'SIGTERM drains and exits 0')
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
      await exited
    }
  })
})

/** null when `uid` (not root, not the owner) may search every directory up to `file` and execute it; else the first that blocks. */
function unreachableFor(file: string, uid: number): string | null {
  const parts = path.resolve(file).split(path.sep)
  for (let i = 1; i <= parts.length; i++) {
    const at = parts.slice(0, i).join(path.sep) || path.sep
    const st = statSync(at)
    const bits = st.uid === uid ? (st.mode >> 6) & 7 : st.mode & 7
    // The x bit: search on a directory, execute on the file.
    if ((bits & 1) === 0) return `${at} is mode ${(st.mode & 0o777).toString(8)}`
  }
  return null
}
