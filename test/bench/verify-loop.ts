// jose jwtVerify alone, in a loop, on the core Gatehouse runs on (proxy.bench.ts
// pins this process there while Gatehouse is stopped): the reference for the
// target "uncached cost per request ≤ 1.3 × (jwtVerify + proxying a public
// request)". Keys are imported and options built the way Gatehouse does it
// (importSPKI per alg, issuer/audience/requiredClaims, currentDate per call).
// Reads a JSON job file (argv[2]); prints one JSON result line.
import { createPublicKey, verify as cryptoVerify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { importSPKI, jwtVerify, type JWTVerifyOptions } from 'jose'

interface Job {
  readonly seconds: number
  readonly cases: readonly { alg: string; issuer: string; audience: string; publicPem?: string; secret?: string; tokens: string[] }[]
}

interface Row {
  alg: string
  how: string
  verifies: number
  wallUsPerVerify: number
  cpuUsPerVerify: number
}

const job = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as Job

async function measure(alg: string, how: string, seconds: number, inFlight: number, one: (i: number) => Promise<unknown> | unknown): Promise<Row> {
  // warm-up: a quarter of the time, not counted
  const warmEnd = performance.now() + (seconds * 1000) / 4
  let i = 0
  while (performance.now() < warmEnd) await one(i++)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const end = t0 + seconds * 1000
  let count = 0
  const lane = async () => {
    while (performance.now() < end) {
      await one(i++)
      count++
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane))
  const wall = (performance.now() - t0) * 1000
  const cpu = process.cpuUsage(cpu0)
  return { alg, how, verifies: count, wallUsPerVerify: wall / count, cpuUsPerVerify: (cpu.user + cpu.system) / count }
}

const rows: Row[] = []
for (const c of job.cases) {
  const key = c.secret !== undefined ? new TextEncoder().encode(c.secret) : await importSPKI(c.publicPem as string, c.alg)
  const options: JWTVerifyOptions = { algorithms: [c.alg], issuer: c.issuer, audience: c.audience, requiredClaims: ['exp'], clockTolerance: 30 }
  const n = c.tokens.length
  const verifyOne = (i: number) => jwtVerify(c.tokens[i % n] as string, key, { ...options, currentDate: new Date() })
  rows.push(await measure(c.alg, 'jose jwtVerify, 1 in flight', job.seconds, 1, verifyOne))
  rows.push(await measure(c.alg, 'jose jwtVerify, 50 in flight', job.seconds, 50, verifyOne))
  if (c.alg === 'RS256' && c.publicPem) {
    const pub = createPublicKey(c.publicPem)
    const parts = c.tokens.map((t) => {
      const dot = t.lastIndexOf('.')
      return { input: Buffer.from(t.slice(0, dot)), sig: Buffer.from(t.slice(dot + 1), 'base64url') }
    })
    rows.push(
      await measure(c.alg, 'node:crypto.verify, sync (signature only)', job.seconds, 1, (i) => {
        const p = parts[i % n] as { input: Buffer; sig: Buffer }
        if (!cryptoVerify('sha256', p.input, pub, p.sig)) throw new Error('bad signature')
      }),
    )
  }
}
process.stdout.write(`${JSON.stringify(rows)}\n`)
