// Issue 17: a sidecar loads only what its config uses, and the CLI's one-shot commands
// load little. `node dist/main.js` runs with a resolve hook that records every package
// resolved from node_modules, every built file of ours and every built-in module imported
// (test/support/import-recorder.mjs); the built files' source maps say which of our
// sources and bundled packages they hold.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { stringify } from 'yaml'
import { childEnv, MAIN, PROJECT_ROOT, serveConfig, spawnNode } from '../support/gatehouse-process.js'
import { makeTestCa } from '../support/test-ca.js'

const RECORDER = path.join(PROJECT_ROOT, 'test', 'support', 'import-recorder.mjs')
// TypeBox builds the schemas; the commands run the validators generated from them (issue 17).
const HEAVY = ['fastify', '@fastify/swagger', '@fastify/swagger-ui', 'ioredis', '@sinclair/typebox']
// deploy/bundle.mjs puts these into dist/: a command that needs them loads no file of theirs.
const BUNDLED = ['yaml', 'jose', 'ipaddr.js', 'lru-cache']

const OPEN_API = { upstream: { url: 'http://127.0.0.1:9' }, apis: [{ name: 'open', prefixes: ['/'], public: true }] }
// What a config without JWT issuers, token service (issuer:) and tls: never needs: jose and
// our JWT verifier, the signing keys, the users and clients files with bcrypt, node:tls.
const JWT_AND_SERVICE = ['jose', 'src/credentials/verify-jwt.ts', 'src/credentials/signing-key.ts', 'src/accounts/users.ts', 'src/accounts/clients.ts', 'bcryptjs']

let dir: string
let configFile: string
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-lean-'))
  configFile = path.join(dir, 'gatehouse.yaml')
  await writeFile(configFile, stringify(serveConfig(OPEN_API)))
})
after(() => rm(dir, { recursive: true, force: true }))

interface Loaded {
  /** Packages resolved from node_modules. */
  readonly packages: Set<string>
  /** Our built files, relative to dist/. */
  readonly own: Set<string>
  /** Files resolved from node_modules, as `package/path`. */
  readonly files: Set<string>
  /** Built-in modules loaded, as node:name (node's `internal/…` ones included). */
  readonly builtins: Set<string>
  /** What the built files hold, from their source maps: `src/…ts` files of ours and bundled packages by name. */
  readonly sources: Set<string>
}

/** The sources bundled into these built files, as their source maps (deploy/bundle.mjs writes one beside each) name them. */
async function sourcesOf(own: Iterable<string>): Promise<Set<string>> {
  const sources = new Set<string>()
  for (const file of own) {
    const map = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'dist', `${file}.map`), 'utf8')) as { sources: string[] }
    for (const source of map.sources) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source)
      sources.add(pkg ? (pkg[1] as string) : source.slice(source.indexOf('src/')))
    }
  }
  return sources
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
  const own = new Set(lines.filter((l) => l.startsWith('dist:')).map((l) => l.slice('dist:'.length)))
  return {
    packages: new Set(lines.filter((l) => !/^(dist|file|node):/.test(l))),
    own,
    files: new Set(lines.filter((l) => l.startsWith('file:')).map((l) => l.slice('file:'.length))),
    builtins: new Set(lines.filter((l) => l.startsWith('node:'))),
    sources: await sourcesOf(own),
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

test('check-config and keys list of a config without JWT issuers, issuer: or tls: load neither jose, the JWT verifier, the token service\'s files, bcrypt, node:tls nor node:crypto', { timeout: 30_000 }, async () => {
  for (const [name, args] of [
    ['check-config-lean', ['check-config', '--config', configFile]],
    ['keys-lean', ['keys', 'list', '--config', configFile]],
  ] as const) {
    const { sources, builtins, packages } = await loadedBy(name, [...args])
    assert.ok(sources.has('yaml') && sources.has('src/config/load.ts'), `${name}: the source maps name what was loaded: ${[...sources].join(', ')}`)
    for (const s of JWT_AND_SERVICE) assert.ok(!sources.has(s) && !packages.has(s), `${name} loaded ${s}`)
    assert.ok(builtins.has('node:fs/promises'), `${name}: the recorder saw the built-ins: ${[...builtins].join(', ')}`)
    // Reading keys hashes none: node:crypto (and zlib's crc32 of the key format) load with a key made or checked.
    // (node:net is not asked about: standard output on a pipe, as here, is a net socket.)
    for (const b of ['node:tls', 'node:crypto', 'node:zlib']) assert.ok(!builtins.has(b), `${name} loaded ${b}`)
    // Ajv's runtime helpers are bundled: no package from node_modules at all.
    assert.deepEqual([...packages], [], `${name} loaded packages from node_modules`)
  }
  // check-config verifies no credential: it needs no cache.
  const { sources } = await loadedBy('check-config-lean', ['check-config', '--config', configFile])
  assert.ok(!sources.has('lru-cache'), 'check-config loaded lru-cache')
})

test('check-config of a config with a JWT issuer, the token service and tls: loads what checks them', { timeout: 60_000 }, async () => {
  const ca = makeTestCa(dir)
  const file = path.join(dir, 'full.yaml')
  const issuer = { name: 'https://gatehouse.test', usersFile: path.join(dir, 'users.yaml') }
  await writeFile(issuer.usersFile, stringify({ users: [] }))
  const jwt = { issuers: [{ issuer: 'https://idp.test', jwksUri: 'https://idp.test/jwks.json' }] }
  await writeFile(file, stringify(serveConfig({ ...OPEN_API, jwt, issuer, tls: { certFile: ca.certFile, keyFile: ca.keyFile } })))
  const { sources, builtins, packages } = await loadedBy('check-config-full', ['check-config', '--config', file])
  // No clientsFile in this config: clients.ts is the one thing left out.
  for (const s of JWT_AND_SERVICE.filter((s) => s !== 'src/accounts/clients.ts')) assert.ok(sources.has(s) || packages.has(s), `check-config did not load ${s}`)
  assert.ok(!sources.has('src/accounts/clients.ts'), 'check-config loaded the clients file reader without a clientsFile')
  assert.ok(builtins.has('node:tls') && builtins.has('node:crypto'), `check-config did not load node:tls and node:crypto: ${[...builtins].join(', ')}`)
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
  assert.ok(builtins.has('node:http') && builtins.has('node:internal/http'), `the recorder saw node's modules: ${[...builtins].slice(0, 5).join(', ')}`)
  assert.ok(files.has('undici/lib/dispatcher/pool.js'), `serve resolved: ${[...files].join(', ')}`)
  assert.ok(!files.has('undici/index.js'), 'serve loaded undici/index.js')
  assert.ok(!builtins.has('node:internal/deps/undici/undici'), 'serve loaded node\'s bundled undici (an ES import of node:http does)')
})
