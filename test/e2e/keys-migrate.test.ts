// `gatehouse keys migrate` (issue 4): a file store moved into Redis without
// re-issuing a key — the keys printed by `keys create` work against the Redis
// store afterwards — idempotent, with counts printed, conflicts reported and never
// overwritten, and the reverse direction too. And check-config on a Redis store,
// which never connects. Runs the built command (dist/main.js).
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { stringify } from 'yaml'
import { openKeyStore } from '../../src/keystore/open-key-store.js'
import { runCli } from '../support/gatehouse-process.js'
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js'
import { redisTool, startRedisServer, type RedisServer } from '../support/redis-server.js'
import { startTestGatehouse } from '../support/gatehouse.js'

describe('keys migrate', { skip: redisTool.skip, timeout: 60_000 }, () => {
  let redis: RedisServer
  let upstream: RecordingUpstream
  let dir: string
  before(async () => {
    redis = await startRedisServer()
    upstream = await startRecordingUpstream()
    dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-migrate-'))
  })
  after(async () => {
    await upstream?.close()
    await redis?.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function writeConfig(name: string, store: Record<string, unknown>): Promise<string> {
    const file = path.join(dir, name)
    const config = {
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      upstream: { url: upstream.url },
      apis: [{ name: 'users', prefixes: ['/api/v1/users'] }],
      store,
    }
    await writeFile(file, stringify(config))
    return file
  }

  it('moves every key and revoked JWT into Redis, keys keep working, and a second run copies nothing', async () => {
    const store = { type: 'file', path: './one.json', url: redis.url, keyPrefix: 'migrate-one:' }
    const config = await writeConfig('one.yaml', store)
    const keys: { id: string; key: string }[] = []
    for (const args of [[], ['--disabled'], ['--ip-filter', '127.0.0.0/8', '--expires', 'P30D']]) {
      const r = await runCli(['keys', 'create', '--config', config, '--user', 'alice', '--permissions', 'users:rw', '--json', ...args])
      assert.equal(r.code, 0, r.stderr)
      keys.push(JSON.parse(r.stdout) as { id: string; key: string })
    }
    const file = await openKeyStore({ ...fileStore(store), path: path.join(dir, 'one.json') }, { watch: false })
    await file.revokeJwt('migrated-jti', Math.floor(Date.now() / 1000) + 600)
    const before = await file.list()
    await file.close()

    const first = await runCli(['keys', 'migrate', '--config', config, '--from', 'file', '--to', 'redis'])
    assert.equal(first.code, 0, first.stderr)
    assert.equal(first.stdout, 'file -> redis: 3 keys copied, 0 already there, 0 conflicting; 1 revoked JWTs copied\n')
    const again = await runCli(['keys', 'migrate', '--config', config, '--from', 'file', '--to', 'redis', '--json'])
    assert.equal(again.code, 0, again.stderr)
    const report = JSON.parse(again.stdout) as Record<string, unknown>
    assert.deepEqual(report.copied, [])
    assert.deepEqual((report.unchanged as string[]).sort(), keys.map((k) => k.id).sort())
    assert.ok(!again.stdout.includes(redis.url.slice(8)), 'the Redis URL was printed')

    // The same records, field for field (hashes included), now in Redis.
    const inRedis = await openKeyStore({ ...redisStore(store) }, { watch: false })
    try {
      assert.deepEqual(JSON.parse(JSON.stringify(await inRedis.list())), JSON.parse(JSON.stringify(before)))
      assert.deepEqual((await inRedis.listRevokedJwts(Math.floor(Date.now() / 1000))).map((e) => e.jti), ['migrated-jti'])
    } finally {
      await inRedis.close()
    }

    // A Gatehouse on the Redis store accepts the keys `keys create` printed: nothing was re-issued.
    const gh = await startTestGatehouse({ upstream: { url: upstream.url }, apis: [{ name: 'users', prefixes: ['/api/v1/users'] }], store: redisStore(store) })
    try {
      const status = async (key: string) => (await fetch(`${gh.url}/api/v1/users`, { headers: { 'x-api-key': key } })).status
      assert.equal(await status(keys[0]!.key), 200)
      assert.equal(await status(keys[1]!.key), 401, 'disabled stays disabled')
      assert.equal(await status(keys[2]!.key), 200)
    } finally {
      await gh.close()
    }
  })

  it('reports a key that differs in the target and leaves it as it is there', async () => {
    const store = { type: 'file', path: './two.json', url: redis.url, keyPrefix: 'migrate-two:' }
    const config = await writeConfig('two.yaml', store)
    const created = JSON.parse((await runCli(['keys', 'create', '--config', config, '--user', 'bob', '--permissions', 'users:r', '--json'])).stdout) as { id: string }
    assert.equal((await runCli(['keys', 'migrate', '--config', config, '--from', 'file', '--to', 'redis'])).code, 0)
    const target = await openKeyStore(redisStore(store), { watch: false })
    await target.update(created.id, { enabled: false })
    await target.close()
    const r = await runCli(['keys', 'migrate', '--config', config, '--from', 'file', '--to', 'redis'])
    assert.equal(r.code, 1)
    assert.match(r.stdout, /0 keys copied, 0 already there, 1 conflicting/)
    assert.match(r.stderr, new RegExp(`key ${created.id} differs in the redis store; left as it is there`))
    const check = await openKeyStore(redisStore(store), { watch: false })
    assert.equal((await check.get(created.id))?.enabled, false)
    await check.close()
  })

  it('moves Redis back into a file store', async () => {
    const store = { type: 'redis', path: './three.json', url: redis.url, keyPrefix: 'migrate-three:' }
    const config = await writeConfig('three.yaml', store)
    const created = await runCli(['keys', 'create', '--config', config, '--user', 'carol', '--permissions', 'users:r', '--json'])
    assert.equal(created.code, 0, created.stderr)
    const r = await runCli(['keys', 'migrate', '--config', config, '--from', 'redis', '--to', 'file'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^redis -> file: 1 keys copied/)
    const file = await openKeyStore({ ...fileStore(store), path: path.join(dir, 'three.json') }, { watch: false })
    assert.deepEqual((await file.list()).map((k) => k.user), ['carol'])
    await file.close()
  })

  it('refuses wrong arguments and a config without a Redis URL, touching nothing', async () => {
    const config = await writeConfig('four.yaml', { type: 'file', path: './four.json' })
    for (const args of [['--from', 'file', '--to', 'file'], ['--from', 'file'], ['--from', 'file', '--to', 'postgres']]) {
      const r = await runCli(['keys', 'migrate', '--config', config, ...args])
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, /keys migrate needs/)
    }
    const r = await runCli(['keys', 'migrate', '--config', config, '--from', 'file', '--to', 'redis'])
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /store\.url: required when store\.type is redis/)
  })
})

describe('check-config with a Redis store', () => {
  it('accepts a Redis config without reaching Redis, and refuses a bad URL without quoting it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-check-redis-'))
    try {
      const write = async (name: string, store: Record<string, unknown>) => {
        const file = path.join(dir, name)
        await writeFile(file, stringify({ upstream: { url: 'http://127.0.0.1:3000' }, store }))
        return file
      }
      const unreachable = await write('ok.yaml', { type: 'redis', url: 'redis://:check-secret@127.0.0.1:1/0' })
      const ok = await runCli(['check-config', '--config', unreachable], { timeoutMs: 10_000 })
      assert.equal(ok.code, 0, ok.stderr)
      const bad = await write('bad.yaml', { type: 'redis', url: 'http://:check-secret@redis:6379?x=1', sentinelName: 'm' })
      const refused = await runCli(['check-config', '--config', bad])
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, /store\.url: must be redis:\/\/ or rediss:\/\//)
      assert.match(refused.stderr, /store\.sentinelName: only used with store\.sentinels/)
      assert.ok(!refused.stderr.includes('check-secret'))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

function fileStore(s: Record<string, unknown>) {
  return { ...(s as object), type: 'file' as const, path: String(s.path), keyPrefix: String(s.keyPrefix ?? 'gatehouse:'), timeoutMs: 1000, waitReplicas: 0 }
}

function redisStore(s: Record<string, unknown>) {
  return { ...fileStore(s), type: 'redis' as const, url: String(s.url) }
}
