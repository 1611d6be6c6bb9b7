// How fast a revocation reaches the other replicas (issue 4): three Gatehouses on
// one redis-server — A and C as `gatehouse serve` processes, B in this process —
// and 100 API keys, each verified and cached on A and C, then revoked through B's
// store (what B's token service does once it has authenticated the caller). For
// each revocation: the time from the start of B's revoke to the first 401 from A
// and from C, polling each back to back over a keep-alive connection.
//   npm run build && npx tsx test/bench/redis-propagation.ts [COUNT]
// Needs redis-server (apt-get install redis-server). Loopback only; every loop bounded.
import { newKeyRecord } from '../../src/keystore/new-key-record.js'
import type { KeyStore } from '../../src/keystore/key-store.js'
import { startRecordingUpstream } from '../support/recording-upstream.js'
import { startRedisServer } from '../support/redis-server.js'
import { callApi, replicaFiles, startReplicaInProcess, startReplicaProcess, type Replica } from '../support/replicas.js'

const COUNT = Math.min(Math.max(Number(process.argv[2] ?? 100) || 100, 1), 1000)
const GIVE_UP_MS = 2000

async function firstRefusal(r: Replica, key: string, start: number): Promise<number> {
  for (let i = 0; i < 100_000; i++) {
    if ((await callApi(r, { key })).status === 401) return performance.now() - start
    if (performance.now() - start > GIVE_UP_MS) break
  }
  return Infinity
}

function stats(ms: number[]): { median: number; p90: number; worst: number; mean: number } {
  const s = [...ms].sort((a, b) => a - b)
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number
  return { median: at(0.5), p90: at(0.9), worst: s[s.length - 1] as number, mean: s.reduce((a, b) => a + b, 0) / s.length }
}

const fmt = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)} ms` : 'never (over 2 s)')

async function main(): Promise<void> {
  const redis = await startRedisServer()
  const upstream = await startRecordingUpstream()
  const files = await replicaFiles(upstream.url)
  const config = files.config({ type: 'redis', url: redis.url })
  const replicas: Replica[] = []
  try {
    const a = await startReplicaProcess('A', config)
    replicas.push(a)
    const b = await startReplicaInProcess('B', config)
    replicas.push(b)
    const c = await startReplicaProcess('C', config)
    replicas.push(c)
    const store = b.inProcess?.gh.store as KeyStore
    const toA: number[] = []
    const toC: number[] = []
    const acked: number[] = []
    for (let i = 0; i < COUNT; i++) {
      const { key, record } = newKeyRecord({ user: 'alice', permissions: { users: 'rw' }, description: `propagation ${i}` }, Math.floor(Date.now() / 1000))
      await store.create(record)
      for (const r of [a, c, a, c]) {
        const s = (await callApi(r, { key })).status
        if (s !== 200) throw new Error(`${r.name} answered ${s} before the revocation`)
      }
      const start = performance.now()
      const revoked = store.revoke([record.id]).then(() => acked.push(performance.now() - start))
      const [ta, tc] = await Promise.all([firstRefusal(a, key, start), firstRefusal(c, key, start)])
      await revoked
      toA.push(ta)
      toC.push(tc)
    }
    const both = [...toA, ...toC]
    const report = { revocations: COUNT, revokeAnswered: stats(acked), refusedByA: stats(toA), refusedByC: stats(toC), refusedByEither: stats(both) }
    const line = (name: string, s: ReturnType<typeof stats>) =>
      `${name.padEnd(30)} median ${fmt(s.median)}  p90 ${fmt(s.p90)}  worst ${fmt(s.worst)}  mean ${fmt(s.mean)}`
    process.stdout.write(
      [
        `Revocation propagation over ${COUNT} revocations (Redis ${redis.port}, node ${process.version}, 3 replicas on loopback)`,
        line("B's revoke answered", report.revokeAnswered),
        line('first 401 from A (process)', report.refusedByA),
        line('first 401 from C (process)', report.refusedByC),
        line('A and C together', report.refusedByEither),
        `over 1 s: ${both.filter((x) => x >= 1000).length} of ${both.length}`,
        JSON.stringify(report),
        '',
      ].join('\n'),
    )
    if (both.some((x) => x >= 1000)) process.exitCode = 1
  } finally {
    for (const r of replicas.reverse()) await r.close()
    await files.close()
    await upstream.close()
    await redis.close()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`redis-propagation: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exitCode = 1
})
