// The sidecar Pod of deploy/kubernetes, simulated with Linux network namespaces
// (issue 5): a Pod's containers share one network namespace, so the legacy API
// and Gatehouse run in one (`gh-pod-*`) with the manifest's own commands and
// config, and a client runs in another (`gh-cli-*`), joined by a veth pair on
// 10.200.0.0/30. The client reaches the API only through Gatehouse and gets
// 200 / 401 / 403 as configured. Only addresses inside these two namespaces are
// used; both are deleted afterwards, also on failure. Needs root (`ip netns`).
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { parse, stringify } from 'yaml'
import { MAIN, parseJsonLines, pollUntil } from '../support/gatehouse-process.js'
import { findCapability } from '../support/tools.js'
import { KUSTOMIZE_DIR, ROOT } from './support/paths.js'

const POD_IP = '10.200.0.1'
const CLIENT_IP = '10.200.0.2'
const tag = String(process.pid % 100_000)
const POD_NS = `gh-pod-${tag}`
const CLIENT_NS = `gh-cli-${tag}`

function ip(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 })
  return { code: r.error ? -1 : r.status, stderr: r.error ? r.error.message : r.stderr.trim() }
}

const netns = findCapability(
  'ip netns',
  () => {
    const probe = `gh-probe-${tag}`
    const add = ip(['netns', 'add', probe])
    if (add.code !== 0) return `\`ip netns add\` is not permitted here (${add.stderr || `exit ${add.code}`})`
    ip(['netns', 'del', probe])
    return null
  },
  'run as root on Linux with iproute2 (CI does)',
)

function setUpNamespaces(): void {
  const steps: string[][] = [
    ['netns', 'add', POD_NS],
    ['netns', 'add', CLIENT_NS],
    // Created straight inside the namespaces: nothing appears on the host's side.
    ['link', 'add', `ghp${tag}`, 'netns', POD_NS, 'type', 'veth', 'peer', 'name', `ghc${tag}`, 'netns', CLIENT_NS],
    ['-n', POD_NS, 'addr', 'add', `${POD_IP}/30`, 'dev', `ghp${tag}`],
    ['-n', CLIENT_NS, 'addr', 'add', `${CLIENT_IP}/30`, 'dev', `ghc${tag}`],
    ['-n', POD_NS, 'link', 'set', 'lo', 'up'],
    ['-n', POD_NS, 'link', 'set', `ghp${tag}`, 'up'],
    ['-n', CLIENT_NS, 'link', 'set', 'lo', 'up'],
    ['-n', CLIENT_NS, 'link', 'set', `ghc${tag}`, 'up'],
  ]
  for (const s of steps) {
    const r = ip(s)
    if (r.code !== 0) throw new Error(`ip ${s.join(' ')}: ${r.stderr}`)
  }
}

function tearDownNamespaces(): void {
  for (const ns of [POD_NS, CLIENT_NS]) ip(['netns', 'del', ns])
}

/** A container's process: `ip netns exec POD cmd…`, stopped by its own pid. */
function startInPod(cmd: string, args: string[], cwd: string): { child: ChildProcess; output: () => string } {
  const child = spawn('ip', ['netns', 'exec', POD_NS, cmd, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c))
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (out += c))
  return { child, output: () => out }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await closed
  clearTimeout(timer)
}

interface ClientResult {
  status?: number
  body?: string
  error?: string
}

// The client: a node process inside the client namespace, one request, one JSON line.
const CLIENT_SCRIPT = `
const [url, method, key] = process.argv.slice(1)
fetch(url, { method, headers: key ? { 'x-api-key': key } : {}, signal: AbortSignal.timeout(3000) }).then(
  async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })),
  (e) => console.log(JSON.stringify({ error: String(e.cause?.code ?? e.name ?? e) })),
)`

function fromClient(url: string, method = 'GET', key = ''): ClientResult {
  const r = spawnSync('ip', ['netns', 'exec', CLIENT_NS, process.execPath, '-e', CLIENT_SCRIPT, url, method, key], { encoding: 'utf8', timeout: 10_000 })
  const line = r.stdout.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(line) as ClientResult
  } catch {
    return { error: `no answer: ${r.stdout} ${r.stderr}` }
  }
}

interface PodContainer {
  name: string
  command?: string[]
  args?: string[]
}

test('a client in another network namespace reaches the legacy API only through the Gatehouse sidecar', { skip: netns.skip, timeout: 90_000 }, async () => {
  netns.require()
  const deployment = parse(readFileSync(path.join(KUSTOMIZE_DIR, 'sidecar', 'deployment.yaml'), 'utf8')) as {
    spec: { template: { spec: { initContainers: PodContainer[]; containers: PodContainer[] } } }
  }
  const pod = deployment.spec.template.spec
  const gatehouse = pod.initContainers.find((c) => c.name === 'gatehouse')
  const legacy = pod.containers.find((c) => c.name === 'legacy-api')
  assert.ok(gatehouse?.args && legacy?.command, 'the manifest has both containers')

  // The Pod's volumes: the ConfigMap's gatehouse.yaml and the data emptyDir.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-pod-'))
  const configFile = path.join(dir, 'etc-gatehouse', 'gatehouse.yaml')
  mkdirSync(path.dirname(configFile))
  mkdirSync(path.join(dir, 'data'))
  const config = parse(readFileSync(path.join(KUSTOMIZE_DIR, 'sidecar', 'gatehouse.yaml'), 'utf8')) as { store: { path: string }; listen: string }
  config.store.path = path.join(dir, 'data', 'apikeys.json')
  writeFileSync(configFile, stringify(config))
  // The image's paths: /app is this checkout (dist/ built), /etc/gatehouse the config volume.
  const inImage = (a: string) => a.replaceAll('/app/', `${ROOT}/`).replace('/etc/gatehouse/gatehouse.yaml', configFile)

  const children: ChildProcess[] = []
  try {
    tearDownNamespaces() // leftovers of an earlier run killed mid-test, if any
    setUpNamespaces()
    const created = spawnSync(process.execPath, [MAIN, 'keys', 'create', '--config', configFile, '--user', 'alice', '--permissions', 'users:r', '--json'], { encoding: 'utf8', timeout: 15_000 })
    assert.equal(created.status, 0, created.stderr)
    const key = (JSON.parse(created.stdout) as { key: string }).key

    // Native sidecar order: Gatehouse first (its startup probe), then the API.
    const [, ...nodeArgs] = legacy.command.map(inImage)
    const gh = startInPod(process.execPath, [MAIN, ...gatehouse.args.map(inImage)], ROOT)
    children.push(gh.child)
    const started = await pollUntil(async () => parseJsonLines(gh.output()).some((l) => l.msg === 'gatehouse listening') || gh.child.exitCode !== null, 15_000)
    assert.ok(started !== null && gh.child.exitCode === null, `gatehouse did not start in the pod: ${gh.output()}`)
    const api = startInPod(process.execPath, nodeArgs, ROOT)
    children.push(api.child)

    const base = `http://${POD_IP}:8080`
    const reachable = await pollUntil(async () => fromClient(`${base}/api/v1/version`).status === 200, 15_000, 200)
    assert.ok(reachable !== null, `the public API never answered 200 through Gatehouse: ${api.output()} ${gh.output()}`)

    assert.equal(fromClient(`${base}/api/v1/users`).status, 401, 'no credential')
    const allowed = fromClient(`${base}/api/v1/users`, 'GET', key)
    assert.equal(allowed.status, 200, JSON.stringify(allowed))
    assert.equal((JSON.parse(allowed.body ?? '{}') as { identity: Record<string, string> }).identity['x-auth-user'], 'alice', 'the API saw the identity headers')
    assert.equal(fromClient(`${base}/api/v1/users`, 'POST', key).status, 403, 'a read-only key cannot POST')
    assert.equal(fromClient(`${base}/not-an-api`, 'GET', key).status, 403, 'unmatched paths are denied')

    // The API listens on the Pod's 127.0.0.1 only: from outside there is nothing on its port.
    assert.equal(fromClient(`http://${POD_IP}:3000/api/v1/users`).error, 'ECONNREFUSED')
    // The metrics port is the other one a NetworkPolicy leaves open.
    assert.equal(fromClient(`http://${POD_IP}:9464/readyz`).status, 200)
    const metrics = fromClient(`http://${POD_IP}:9464/metrics`)
    assert.match(metrics.body ?? '', /gatehouse_requests_total\{api="users",method="GET",status_class="2xx",outcome="allowed"\} 1/)
  } finally {
    for (const c of children.reverse()) await stop(c)
    tearDownNamespaces()
    rmSync(dir, { recursive: true, force: true })
  }
  const left = ip(['netns', 'list'])
  assert.equal(left.code, 0)
  assert.doesNotMatch(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout, new RegExp(`gh-(pod|cli)-${tag}\\b`), 'both namespaces are gone')
})
