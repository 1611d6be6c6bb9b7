// The `store.type: redis` settings (issue 4): what check-config refuses, always
// located and never quoting the URL; how the URL is shown (password hidden); the
// ioredis options that keep an outage from piling up.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkRedisStore, describeRedis, redisOptions, secretsOf, type StoreConfig } from '../../../src/config/redis-config.js'

const base: StoreConfig = { type: 'redis', path: '/data/apikeys.json', keyPrefix: 'gatehouse:', timeoutMs: 1000, waitReplicas: 0 }
const store = (o: Partial<StoreConfig>): StoreConfig => ({ ...base, ...o })

describe('checkRedisStore', () => {
  const cases: [string, Partial<StoreConfig>, string[]][] = [
    ['a plain URL', { url: 'redis://127.0.0.1:6379/0' }, []],
    ['a password and TLS', { url: 'rediss://:s3cret@redis.example:6380/2' }, []],
    ['a user and password', { url: 'redis://app:s3cret@redis.example' }, []],
    ['sentinels without a URL', { sentinels: ['10.0.0.1:26379', '[::1]:26379'], sentinelName: 'mymaster' }, []],
    ['no URL and no sentinels', {}, ['store.url: required when store.type is redis']],
    ['not a URL', { url: 'redis//oops' }, ['store.url: not a URL: use redis://[:password@]host:port/db or rediss://']],
    ['another scheme', { url: 'http://:pw@redis:6379' }, ['store.url: must be redis:// or rediss://']],
    ['options in the query', { url: 'redis://redis:6379/0?tls=true' }, ['store.url: must not have a query or fragment']],
    ['a path that is no database', { url: 'redis://redis:6379/zero' }, ['store.url: the path must be a database number, e.g. /0']],
    ['sentinels without a name', { sentinels: ['s1:26379'] }, ['store.sentinelName: required with store.sentinels']],
    ['a name without sentinels', { url: 'redis://r:6379', sentinelName: 'mymaster' }, ['store.sentinelName: only used with store.sentinels']],
    ['a sentinel that is no host:port', { sentinels: ['s1'], sentinelName: 'm' }, ['store.sentinels[0]: must be host:port']],
    ['a CA file without TLS', { url: 'redis://r:6379', caFile: '/ca.pem' }, ['store.caFile: only used with a rediss:// URL']],
  ]
  for (const [name, o, expected] of cases) {
    it(`${expected.length === 0 ? 'accepts' : 'refuses'} ${name}`, () => {
      const problems = checkRedisStore(store(o))
      assert.deepEqual(problems.map((p) => `${p.path}: ${p.message}`), expected)
      for (const p of problems) assert.ok(!p.message.includes('pw') && !p.message.includes('oops'), 'a problem quoted the URL')
    })
  }

  it('checks nothing for the file store', () => {
    assert.deepEqual(checkRedisStore({ ...base, type: 'file', url: 'not a url' }), [])
  })
})

describe('describeRedis and secretsOf', () => {
  it('hides the password, keeps the user, host, port and database', () => {
    const s = store({ url: 'rediss://app:p%40ss%2Fword@redis.example:6380/3' })
    assert.equal(describeRedis(s), 'rediss://app:***@redis.example:6380/3')
    assert.deepEqual(secretsOf(s), ['p%40ss%2Fword', 'p@ss/word'])
    assert.equal(describeRedis(store({ url: 'redis://[::1]:6379' })), 'redis://[::1]:6379/0')
    assert.equal(describeRedis(store({ sentinels: ['s1:26379'], sentinelName: 'mymaster' })), 'redis://mymaster/0 via sentinels s1:26379')
  })
})

describe('redisOptions', () => {
  it('never queues a command, bounds each by timeoutMs, and reconnects at most a second apart', () => {
    const o = redisOptions(store({ url: 'redis://:pw@127.0.0.1:6390/1', timeoutMs: 700 }), 'gatehouse')
    assert.equal(o.enableOfflineQueue, false)
    assert.equal(o.maxRetriesPerRequest, 0)
    assert.equal(o.commandTimeout, 700)
    assert.deepEqual([o.host, o.port, o.db, o.password, o.tls], ['127.0.0.1', 6390, 1, 'pw', undefined])
    for (let n = 1; n < 30; n++) assert.ok((o.retryStrategy?.(n) as number) <= 1000)
  })

  it('asks the sentinels for the primary of the named group', () => {
    const o = redisOptions(store({ sentinels: ['127.0.0.1:26379'], sentinelName: 'mymaster', url: 'rediss://:pw@ignored/0' }), 'gatehouse')
    assert.deepEqual(o.sentinels, [{ host: '127.0.0.1', port: 26379 }])
    assert.equal(o.name, 'mymaster')
    assert.equal(o.role, 'master')
    assert.ok(o.tls)
  })
})
