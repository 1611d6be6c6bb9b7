// The KeyStore contract against Redis as it is run in production (issue 14): with a
// password, over TLS only (trusted through store.caFile), and found through Sentinel.
// Each variant first shows it is really in effect: the server refuses a client
// without the password, has no plain port, and the store knows no address but the
// sentinel's.
import { strict as assert } from 'node:assert'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Redis, type RedisOptions } from 'ioredis'
import type { StoreConfig } from '../../src/config/redis-config.js'
import { StoreUnavailableError } from '../../src/keystore/key-store.js'
import { openRedisKeyStore } from '../../src/keystore/redis-key-store.js'
import { redisTool, startRedisServer, startSentinelSetup, type RedisServer, type SentinelSetup } from '../support/redis-server.js'
import { makeTestCa, type TestCa } from '../support/test-ca.js'
import { makeRecord, runKeyStoreContract } from './key-store-contract.js'
import { quiet, recordingLogger, storeConfig } from './redis-store-support.js'

const skip = redisTool.skip

/** The contract, each case on its own key prefix of the same server. */
function contractOn(name: string, config: () => StoreConfig): void {
  runKeyStoreContract(name, async () => {
    const cfg = config()
    return { store: await openRedisKeyStore(cfg, { logger: quiet }), reopen: () => openRedisKeyStore(cfg, { logger: quiet }), cleanup: async () => {} }
  })
}

/** A raw client that does no ready check and never retries: its first command shows what the server says. */
async function rawClient(options: RedisOptions): Promise<Redis> {
  const client = new Redis({ lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null, maxRetriesPerRequest: 0, ...options })
  await client.connect()
  return client
}

/** Sends a plain-text PING and collects what comes back until the server closes (bounded). */
function plainPing(port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    let got = ''
    const socket = net.connect({ port, host: '127.0.0.1' })
    const timer = setTimeout(() => socket.destroy(), timeoutMs)
    socket.setEncoding('latin1')
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk: string) => void (got += chunk))
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(got)
    })
  })
}

describe('redis key store with a password (requirepass)', { skip }, () => {
  const password = 'contract-pw-7d2a/+?'
  let server: RedisServer
  before(async () => {
    server = await startRedisServer({ password })
  })
  after(async () => {
    await server?.close()
  })

  it('is in effect: a client without the password is refused, one with it is served', async () => {
    const anonymous = await rawClient({ host: '127.0.0.1', port: server.port })
    try {
      await assert.rejects(anonymous.ping(), /NOAUTH/)
    } finally {
      anonymous.disconnect()
    }
    const authed = await rawClient({ host: '127.0.0.1', port: server.port, password })
    try {
      assert.equal(await authed.ping(), 'PONG')
    } finally {
      authed.disconnect()
    }
  })

  it('refuses to open with a wrong password, saying so, without the password in the error', async () => {
    const wrong = `${password}-wrong`
    const url = `redis://:${encodeURIComponent(wrong)}@127.0.0.1:${server.port}`
    const logger = recordingLogger()
    await assert.rejects(openRedisKeyStore(storeConfig(url), { watch: false, logger, openTimeoutMs: 1000 }), (err: Error) => {
      assert.ok(err instanceof StoreUnavailableError)
      assert.match(err.message, /WRONGPASS/)
      assert.match(err.message, /redis:\/\/:\*\*\*@127\.0\.0\.1/)
      const text = JSON.stringify([err.message, err.stack, logger.lines])
      for (const form of [wrong, encodeURIComponent(wrong), password, 'contract-pw-7d2a']) assert.ok(!text.includes(form), `"${form}" appeared in ${text}`)
      return true
    })
  })

  contractOn('redis with a password', () => storeConfig(server.url))
})

describe('redis key store over TLS (rediss://, a private CA in store.caFile)', { skip }, () => {
  let dir: string
  let ca: TestCa
  let server: RedisServer
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-redis-ca-'))
    ca = makeTestCa(dir)
    server = await startRedisServer({ tls: { certFile: ca.certFile, keyFile: ca.keyFile } })
  })
  after(async () => {
    await server?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('is in effect: no plain port, a plain PING is not answered, a TLS client trusting the CA is', async () => {
    assert.match(server.url, /^rediss:\/\/127\.0\.0\.1:\d+$/)
    assert.ok(!(await plainPing(server.port)).includes('PONG'), 'the TLS port answered a plain-text PING')
    const secure = await rawClient({ host: '127.0.0.1', port: server.port, tls: { ca: readFileSync(ca.caFile) } })
    try {
      assert.equal(await secure.ping(), 'PONG')
      assert.deepEqual(await secure.config('GET', 'port'), ['port', '0'], 'the server has a plain port open')
    } finally {
      secure.disconnect()
    }
  })

  it('does not trust the server without store.caFile (the system store does not know the CA)', async () => {
    await assert.rejects(openRedisKeyStore(storeConfig(server.url), { watch: false, logger: quiet, openTimeoutMs: 1000 }), StoreUnavailableError)
  })

  it('checks the certificate against caFile: a certificate of another CA is refused', async () => {
    const other = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-redis-ca-other-'))
    try {
      const stranger = makeTestCa(other)
      await assert.rejects(openRedisKeyStore(storeConfig(server.url, { caFile: stranger.caFile }), { watch: false, logger: quiet, openTimeoutMs: 1000 }), StoreUnavailableError)
    } finally {
      await rm(other, { recursive: true, force: true })
    }
  })

  contractOn('redis over TLS', () => storeConfig(server.url, { caFile: ca.caFile }))
})

describe('redis key store through Sentinel', { skip }, () => {
  let setup: SentinelSetup
  let primary: Redis
  before(async () => {
    setup = await startSentinelSetup()
    primary = await rawClient({ host: '127.0.0.1', port: setup.primary.port })
  })
  after(async () => {
    primary?.disconnect()
    await setup?.close()
  })

  const sentinelConfig = () => storeConfig(undefined, { sentinels: [...setup.sentinels], sentinelName: setup.name })

  it('is in effect: the store knows only the sentinel, which names the primary the data lands on', async () => {
    const cfg = sentinelConfig()
    assert.equal(cfg.url, undefined)
    assert.deepEqual(cfg.sentinels, setup.sentinels)
    assert.ok(!setup.sentinels.includes(`127.0.0.1:${setup.primary.port}`))
    const [sentinelHost, sentinelPort] = (setup.sentinels[0] as string).split(':') as [string, string]
    const sentinel = await rawClient({ host: sentinelHost, port: Number(sentinelPort) })
    // Sentinel mode keeps no per-command counts; the connections it accepted tell who asked it.
    const asked = async () => Number(/total_connections_received:(\d+)/.exec(await sentinel.info('stats'))?.[1])
    const askedBefore = await asked()
    const store = await openRedisKeyStore(cfg, { logger: quiet })
    try {
      assert.ok((await asked()) > askedBefore, 'the store never connected to the sentinel')
      assert.deepEqual(await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', setup.name), ['127.0.0.1', String(setup.primary.port)])
      const record = makeRecord()
      await store.create(record)
      assert.equal(await primary.exists(`${cfg.keyPrefix}key:${record.id}`), 1, 'the record is not on the primary Sentinel named')
      const clients = String(await primary.client('LIST'))
      assert.match(clients, /name=gatehouse /, 'the store has no connection to the primary')
    } finally {
      await store.close()
      sentinel.disconnect()
    }
  })

  contractOn('redis through Sentinel', sentinelConfig)
})
