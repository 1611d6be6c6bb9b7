// Every `limits:` key (and apis[].maxBodyBytes) at its edge, over real sockets: the
// last value that passes and the first that is refused, and that what is refused never
// reaches the upstream (or reaches it with no more than the limit).
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { rawRequest } from '../support/raw-http.js'
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js'
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js'
import { apiKey, bearer, handMint, IDP_AUD, IDP_ISS, problemType, rawText, signers, startWorld, type World } from '../support/security-fixture.js'
import { createPrivateKey } from 'node:crypto'
import { HEADROOM } from '../support/wait.js'
import { ConfigSchema } from '../../src/config/schema.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('limits: defaults', () => {
  test('every limit has a safe default and a description in the schema', () => {
    const limits = (ConfigSchema.properties.limits as unknown as { properties: Record<string, { default?: unknown; description?: string }> }).properties
    assert.deepEqual(
      Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, v.default])),
      {
        maxHeaderBytes: 16384,
        maxHeaderCount: 200,
        maxBodyBytes: 10485760,
        maxConnections: 10000,
        headersTimeoutMs: 20000,
        requestTimeoutMs: 300000,
        maxTokenBytes: 16384,
        authFailuresPerMinute: 300,
        jwksFetchesPerMinute: 10,
        tunnelIdleTimeoutMs: 300000, // issue 12
        tunnelMaxLifetimeMs: 3600000,
      },
    )
    for (const [k, v] of Object.entries(limits)) assert.ok((v.description ?? '').length > 10, k)
  })
})

describe('limits at their edges', () => {
  let up: RecordingUpstream
  let gh: TestGatehouse
  let port: number
  before(async () => {
    up = await startRecordingUpstream()
    gh = await startTestGatehouse({
      upstream: { url: up.url },
      apis: [
        { name: 'small', prefixes: ['/small'], public: true, maxBodyBytes: 1000 },
        { name: 'open', prefixes: ['/open'], public: true },
      ],
      unmatched: 'deny',
      limits: { maxHeaderBytes: 4096, maxHeaderCount: 20, maxBodyBytes: 2000, maxConnections: 40, headersTimeoutMs: 1000, requestTimeoutMs: 2000 },
    })
    port = Number(new URL(gh.url).port)
  })
  after(async () => {
    await gh.close()
    await up.close()
  })

  const send = (text: string) => rawRequest(port, text)

  test('maxHeaderBytes 4096: a 4 096-byte head passes, one 64 bytes over is 431 and never forwarded', async () => {
    const head = (total: number) => {
      const pre = 'GET /open HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: '
      return `${pre}${'a'.repeat(total - pre.length - 4)}\r\n\r\n`
    }
    assert.equal((await send(head(4096))).status, 200)
    const before = up.requests.length
    // node counts the target and the header names and values, not every separator: 64 bytes over is over.
    assert.equal((await send(head(4096 + 64))).status, 431)
    assert.equal(up.requests.length, before)
  })

  test('maxHeaderCount 20: 20 header lines pass, 21 are 431 and never forwarded', async () => {
    const lines = (n: number) => Array.from({ length: n - 2 }, (_, i) => [`X-${i}`, '1'] as [string, string])
    // rawText adds Host and Connection: 2 + (n - 2) lines.
    assert.equal((await send(rawText('GET', '/open', lines(20)))).status, 200)
    const before = up.requests.length
    const r = await send(rawText('GET', '/open', lines(21)))
    assert.equal(r.status, 431)
    assert.equal(problemType(r), 'headers_too_large')
    assert.equal(up.requests.length, before)
  })

  test('apis[].maxBodyBytes 1000: Content-Length 1000 passes, 1001 is 413 unread and never forwarded', async () => {
    assert.equal((await send(rawText('POST', '/small', [], 'b'.repeat(1000)))).status, 200)
    assert.equal(up.requests.at(-1)!.bodyBytes, 1000)
    const before = up.requests.length
    const r = await send(rawText('POST', '/small', [], 'b'.repeat(1001)))
    assert.equal(r.status, 413)
    assert.equal(problemType(r), 'body_too_large')
    assert.equal(up.requests.length, before)
  })

  test('apis[].maxBodyBytes 1000 on a chunked body: 1 000 bytes pass, 1 001 are 413 and the upstream gets no more than 1 000', async () => {
    const chunked = (sizes: number[]) =>
      `POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${sizes.map((n) => `${n.toString(16)}\r\n${'c'.repeat(n)}\r\n`).join('')}0\r\n\r\n`
    assert.equal((await send(chunked([600, 400]))).status, 200)
    assert.equal(up.requests.at(-1)!.bodyBytes, 1000)
    const before = up.requests.length
    const bytesBefore = up.bytesReceived()
    const r = await send(chunked([600, 401]))
    assert.equal(r.status, 413)
    assert.equal(up.requests.length, before, 'no complete request at U')
    await sleep(100)
    assert.ok(up.bytesReceived() - bytesBefore <= 1000, `U received ${up.bytesReceived() - bytesBefore} bytes`)
  })

  test('limits.maxBodyBytes 2000 applies to an API without its own: 2 000 pass, 2 001 are 413', async () => {
    assert.equal((await send(rawText('POST', '/open', [], 'd'.repeat(2000)))).status, 200)
    assert.equal((await send(rawText('POST', '/open', [], 'd'.repeat(2001)))).status, 413)
  })

  test('maxConnections 40: the 41st connection is closed at once; when one closes, a new one is served', async () => {
    const held: net.Socket[] = []
    try {
      for (let i = 0; i < 40; i++) {
        const s = net.connect(port, '127.0.0.1')
        s.on('error', () => {})
        held.push(s)
        await new Promise((r) => s.once('connect', r))
      }
      await sleep(100)
      const extra = await new Promise<{ closed: boolean; data: string }>((resolve) => {
        const s = net.connect(port, '127.0.0.1')
        let data = ''
        s.on('data', (c) => (data += c))
        s.on('error', () => {})
        s.on('close', () => resolve({ closed: true, data }))
        s.write(rawText('GET', '/open'))
        setTimeout(() => {
          s.destroy()
          resolve({ closed: false, data })
        }, 1000)
      })
      assert.ok(extra.closed && extra.data === '', `41st: closed ${extra.closed}, got ${JSON.stringify(extra.data.slice(0, 20))}`)
      held.pop()?.destroy()
      await sleep(100)
      assert.equal((await send(rawText('GET', '/open'))).status, 200)
    } finally {
      for (const s of held) s.destroy()
    }
  })

  test('headersTimeoutMs 1000: headers completed in half the time pass; headers never completed are cut (408) soon after', async () => {
    const slowHead = (completeAfterMs: number | null) =>
      new Promise<{ data: string; ms: number }>((resolve) => {
        const t0 = performance.now()
        const s = net.connect(port, '127.0.0.1')
        let data = ''
        s.setEncoding('latin1')
        s.on('data', (c: string) => (data += c))
        s.on('error', () => {})
        s.on('close', () => resolve({ data, ms: performance.now() - t0 }))
        s.write('GET /open HTTP/1.1\r\nHost: x\r\n')
        if (completeAfterMs !== null) setTimeout(() => s.write('Connection: close\r\n\r\n'), completeAfterMs)
        setTimeout(() => s.destroy(), 5000)
      })
    const ok = await slowHead(500)
    assert.match(ok.data, /^HTTP\/1\.1 200 /)
    const cut = await slowHead(null)
    assert.match(cut.data, /^HTTP\/1\.1 408 /)
    assert.ok(cut.ms < 3500, `cut after ${Math.round(cut.ms)} ms`)
  })

  test('requestTimeoutMs 2000: a body sent within it passes; a body still arriving after it is cut (408)', async () => {
    const slowBody = (gapMs: number) =>
      new Promise<{ data: string; ms: number }>((resolve) => {
        const t0 = performance.now()
        const s = net.connect(port, '127.0.0.1')
        let data = ''
        s.setEncoding('latin1')
        s.on('data', (c: string) => (data += c))
        s.on('error', () => {})
        s.on('close', () => resolve({ data, ms: performance.now() - t0 }))
        s.write('POST /open HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 4\r\n\r\nab')
        setTimeout(() => !s.destroyed && s.write('cd'), gapMs)
        setTimeout(() => s.destroy(), gapMs + 2000)
      })
    assert.match((await slowBody(300)).data, /^HTTP\/1\.1 200 /)
    const before = up.requests.length
    // The rest of the body comes only after HEADROOM × requestTimeout: the cut must come first.
    const cut = await slowBody(2000 * HEADROOM)
    assert.ok(cut.ms < 2000 * HEADROOM, `cut after ${Math.round(cut.ms)} ms`)
    assert.ok(cut.ms >= 2000 - 50, `cut after ${Math.round(cut.ms)} ms, before requestTimeout`)
    assert.doesNotMatch(cut.data, /^HTTP\/1\.1 200 /)
    assert.equal(up.requests.length, before, 'no whole request at U')
  })
})

describe('limits of credentials at their edges', () => {
  let w: World
  before(async () => {
    w = await startWorld({ limits: { maxTokenBytes: 2048, authFailuresPerMinute: 0, jwksFetchesPerMinute: 3 }, idp: { jwksCooldownSeconds: 1 } })
  })
  after(() => w.close())

  /** T1 padded to exactly `length` characters (a claim absorbs the difference). */
  function tokenOfLength(length: number): string {
    let pad = 0
    for (let i = 0; i < 8; i++) {
      const t = w.T1({ pad: 'p'.repeat(pad) })
      if (t.length === length) return t
      pad += Math.floor(((length - t.length) * 3) / 4)
      if (i > 3) pad += length > t.length ? 1 : -1
    }
    throw new Error(`no token of ${length}`)
  }

  test('maxTokenBytes 2048: a valid 2 048-character token is 200, 2 049 characters is 401 credential_malformed unverified', async () => {
    const edge = tokenOfLength(2048)
    assert.equal(edge.length, 2048)
    assert.equal((await w.request('/api/x', [bearer(edge)])).status, 200)
    const over = tokenOfLength(2049)
    const before = w.seen()
    const r = await w.request('/api/x', [bearer(over)])
    assert.equal(r.status, 401)
    assert.equal(problemType(r), 'credential_malformed')
    assert.equal(w.seen(), before)
  })

  test('authFailuresPerMinute 5: five failures are 401, the sixth unverified credential is 429 with Retry-After; a verified one still passes; a minute later it is checked again', async () => {
    const from: [string, string] = ['X-Forwarded-For', '203.0.113.77']
    const g = await startWorld({ config: { trustedProxies: ['127.0.0.1/32'] }, limits: { authFailuresPerMinute: 5 } })
    try {
      assert.equal((await g.request('/api/x', [apiKey(g.K1), from])).status, 200)
      for (let i = 0; i < 5; i++) assert.equal((await g.request('/api/x', [bearer(`${g.T1()}x`), from])).status, 401, `failure ${i + 1}`)
      const r = await g.request('/api/x', [bearer(g.T1()), from])
      assert.equal(r.status, 429)
      assert.equal(problemType(r), 'credential_throttled')
      assert.match(r.head, /\r\nretry-after: 60/i)
      assert.equal((await g.request('/api/x', [apiKey(g.K1), from])).status, 200, 'a cached, verified key passes')
      assert.equal((await g.request('/api/x', [bearer(g.T1())])).status, 200, 'other addresses are not affected')
      g.advance(61_000)
      assert.equal((await g.request('/api/x', [bearer(g.T1()), from])).status, 200)
    } finally {
      await g.close()
    }
  })

  test('jwksFetchesPerMinute 3: unknown kids past the cooldown fetch at most 3 times in any minute, and again after it', async () => {
    const attacker = createPrivateKey(w.idpEs.privatePem)
    const unknown = () =>
      handMint({ alg: 'ES256', kid: `kid-${randomUUID()}`, typ: 'at+jwt' }, { iss: IDP_ISS, aud: IDP_AUD, sub: 'x', exp: w.now() + 300 }, signers.es256(attacker))
    const start = w.I.requestCount
    assert.equal(start, 1, 'the start-up fetch')
    for (let i = 0; i < 10; i++) {
      w.advance(1100) // past the 1 s cooldown every time
      assert.equal((await w.request('/api/x', [bearer(unknown())])).status, 401)
    }
    assert.equal(w.I.requestCount, 3, 'three fetches in the first minute, the start-up one included')
    w.advance(60_000)
    assert.equal((await w.request('/api/x', [bearer(unknown())])).status, 401)
    assert.equal(w.I.requestCount, 4, 'one more once a minute has passed')
  })
})
