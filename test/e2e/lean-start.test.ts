// Issue 17: a sidecar loads only what its config uses, and the CLI's one-shot commands
// load little. `node dist/main.js` runs with a resolve hook that records every package
// resolved from node_modules and every built file of ours (test/support/import-recorder.mjs).
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { stringify } from 'yaml'
import { childEnv, MAIN, PROJECT_ROOT, serveConfig, spawnNode } from '../support/gatehouse-process.js'

const RECORDER = path.join(PROJECT_ROOT, 'test', 'support', 'import-recorder.mjs')
// TypeBox builds the schemas; the commands run the validators generated from them (issue 17).
const HEAVY = ['fastify', '@fastify/swagger', '@fastify/swagger-ui', 'ioredis', '@sinclair/typebox']
// deploy/bundle.mjs puts these into dist/: a command that needs them loads no file of theirs.
const BUNDLED = ['yaml', 'jose', 'ipaddr.js', 'lru-cache']

let dir: string
let configFile: string
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-lean-'))
  configFile = path.join(dir, 'gatehouse.yaml')
  await writeFile(configFile, stringify(serveConfig({ upstream: { url: 'http://127.0.0.1:9' }, apis: [{ name: 'open', prefixes: ['/'], public: true }] })))
})
after(() => rm(dir, { recursive: true, force: true }))

interface Loaded {
  /** Packages resolved from node_modules. */
  readonly packages: Set<string>
  /** Our built files, relative to dist/. */
  readonly own: Set<string>
  /** Files resolved from node_modules, as `package/path`. */
  readonly files: Set<string>
  /** node's own modules the process loaded (`internal/…` included). */
  readonly builtins: Set<string>
}

/** What `node dist/main.js …args` loaded; `until` ends a long-running command once its stdout matches. */
async function loadedBy(name: string, args: string[], until?: RegExp): Promise<Loaded> {
  const record = path.join(dir, `${name}.imports`)
  await writeFile(record, '')
  const child = spawnNode(['--import', RECORDER, MAIN, ...args], { cwd: dir, env: childEnv({ IMPORT_RECORD: record }) })
  const timer = setTimeout(() => child.child.kill('SIGKILL'), 20_000)
  if (until !== undefined) await child.waitUntil(() => until.test(child.stdout()), 20_000, String(until)).then(() => child.stop(20_000), () => undefined)
  const { code } = await child.exited
  clearTimeout(timer)
  if (until === undefined) assert.equal(code, 0, `${args.join(' ')}: ${child.stderr()}`)
  else assert.match(child.stdout(), until, `${args.join(' ')} never got there: ${child.stderr()}`)
  const lines = (await readFile(record, 'utf8')).split('\n').filter((l) => l !== '')
  const kind = (prefix: string) => new Set(lines.filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length)))
  return {
    packages: new Set(lines.filter((l) => !/^(dist|file|node):/.test(l))),
    own: kind('dist:'),
    files: kind('file:'),
    builtins: kind('node:'),
  }
}

test('--help loads no package at all', { timeout: 30_000 }, async () => {
  const loaded = await loadedBy('help', ['--help'])
  assert.ok(loaded.own.has('main.js'), `the recorder saw the entry point: ${[...loaded.own].join(', ')}`)
  assert.deepEqual([...loaded.packages], [])
})

test('check-config and keys list with the file store load neither the proxy, the token service, pino, ioredis nor a schema builder', { timeout: 30_000 }, async () => {
  for (const [name, args] of [
    ['check-config', ['check-config', '--config', configFile]],
    ['keys', ['keys', 'list', '--config', configFile]],
  ] as const) {
    const { packages, own } = await loadedBy(name, [...args])
    assert.ok([...own].some((f) => f !== 'main.js'), `${name}: the recorder saw the command's own chunks: ${[...own].join(', ')}`)
    for (const p of [...HEAVY, 'pino', 'prom-client', 'undici']) assert.ok(!packages.has(p), `${name} loaded ${p}`)
    for (const p of BUNDLED) assert.ok(!packages.has(p), `${name} loaded ${p} from node_modules, not from the bundle`)
  }
})

test('serve without issuer: and with the file store loads no Fastify, Swagger, ioredis or schema builder', { timeout: 30_000 }, async () => {
  const { packages } = await loadedBy('serve', ['serve', '--config', configFile], /gatehouse listening/)
  for (const p of ['pino', 'undici', 'prom-client']) assert.ok(packages.has(p), `the recorder saw ${p}`)
  for (const p of HEAVY) assert.ok(!packages.has(p), `serve loaded ${p}`)
})

// Measured with /proc/PID/status (README Performance): undici's index loads every
// dispatcher, fetch and its mocks; an ES import of node:http loads node's own fetch.
test('serve loads undici\'s pool alone and not node\'s bundled fetch implementation', { timeout: 30_000 }, async () => {
  const { files, builtins } = await loadedBy('serve-undici', ['serve', '--config', configFile], /gatehouse listening/)
  assert.ok(builtins.has('http') && builtins.has('internal/http'), `the recorder saw node's modules: ${[...builtins].slice(0, 5).join(', ')}`)
  assert.ok(files.has('undici/lib/dispatcher/pool.js'), `serve resolved: ${[...files].join(', ')}`)
  assert.ok(!files.has('undici/index.js'), 'serve loaded undici/index.js')
  assert.ok(!builtins.has('internal/deps/undici/undici'), 'serve loaded node\'s bundled undici (an ES import of node:http does)')
})
