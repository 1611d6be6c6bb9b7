// README "Operations": request ids and W3C trace context over real loopback HTTP,
// with a real upstream recording what it received. A trusted proxy's valid
// X-Request-Id is kept; anyone else's, or an invalid one, is replaced, never
// forwarded. The id reaches the upstream, every answer (refusals too) and the log
// line. A well-formed traceparent (and its tracestate) reaches the upstream
// unchanged; a malformed one is dropped with its tracestate.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { bearer, startFixture, type Fixture } from '../support/fixture.js'
import { rawRequest } from '../support/raw-http.js'
import type { SeenRequest } from '../support/recording-upstream.js'

let f: Fixture
before(async () => {
  // The fixture trusts 127.0.0.1 as a proxy; ::1 is an ordinary client.
  f = await startFixture()
})
after(() => f.close())

const port = () => Number(new URL(f.gh.url.replace('[::]', '127.0.0.1')).port)

/** A request from the trusted proxy (127.0.0.1) or from an untrusted peer (::1). */
async function send(from: 'trusted' | 'untrusted', path: string, headers: Record<string, string>): Promise<{ res: Response; seen: SeenRequest | undefined }> {
  const host = from === 'trusted' ? '127.0.0.1' : '[::1]'
  const before = f.upstream.requests.length
  const res = await fetch(`http://${host}:${port()}${path}`, { headers })
  await res.arrayBuffer()
  return { res, seen: f.upstream.requests.length > before ? f.upstream.requests.at(-1) : undefined }
}

/** Every value of a header as the upstream received it (raw lines, so two lines stay two). */
function lines(seen: SeenRequest, name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < seen.rawHeaders.length; i += 2) if ((seen.rawHeaders[i] as string).toLowerCase() === name) out.push(seen.rawHeaders[i + 1] as string)
  return out
}

const logLine = (id: string) => f.gh.logs().find((l) => l.msg === 'request' && l.reqId === id)

describe('X-Request-Id', () => {
  test("a trusted proxy's valid id reaches the upstream, the answer and the log line unchanged", async () => {
    const t = await f.token()
    const id = 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6'
    const { res, seen } = await send('trusted', '/api/v1/users/1', { ...bearer(t), 'x-request-id': id })
    assert.equal(res.status, 200)
    assert.ok(seen)
    assert.deepEqual(lines(seen, 'x-request-id'), [id])
    assert.equal(res.headers.get('x-request-id'), id)
    assert.equal(logLine(id)?.status, 200)
  })

  test("an untrusted peer's id is replaced, not forwarded; the replacement is the one answered and logged", async () => {
    const t = await f.token()
    const { res, seen } = await send('untrusted', '/api/v1/users/2', { ...bearer(t), 'x-request-id': 'chosen-by-the-client' })
    assert.equal(res.status, 200)
    assert.ok(seen)
    const ours = res.headers.get('x-request-id')
    assert.ok(ours && ours !== 'chosen-by-the-client')
    assert.deepEqual(lines(seen, 'x-request-id'), [ours])
    assert.ok(logLine(ours), 'the log line has the id the client was given')
    assert.ok(!f.gh.logText().includes('chosen-by-the-client'))
  })

  for (const [what, bad] of [
    ['too long', 'a'.repeat(129)],
    ['a quote and a brace', 'x"},{"user":"admin'],
    ['a space', 'two words'],
    ['non-ASCII', 'id-\u00e9'],
  ] as const) {
    test(`a trusted proxy's invalid id (${what}) is replaced too`, async () => {
      const t = await f.token()
      const { res, seen } = await send('trusted', '/api/v1/users/3', { ...bearer(t), 'x-request-id': Buffer.from(bad, 'utf8').toString('latin1') })
      assert.ok(seen)
      const ours = res.headers.get('x-request-id')
      assert.ok(ours && ours !== bad)
      assert.deepEqual(lines(seen, 'x-request-id'), [ours])
    })
  }

  test('at the longest allowed (128 characters) it is kept', async () => {
    const id = 'A'.repeat(128)
    const { res, seen } = await send('trusted', '/api/v1/version', { 'x-request-id': id })
    assert.ok(seen)
    assert.deepEqual(lines(seen, 'x-request-id'), [id])
    assert.equal(res.headers.get('x-request-id'), id)
  })

  test('a refusal carries the id too, and nothing reaches the upstream', async () => {
    const { res, seen } = await send('trusted', '/api/v1/users/4', { 'x-request-id': 'refused-req-1' })
    assert.equal(res.status, 401)
    assert.equal(seen, undefined)
    assert.equal(res.headers.get('x-request-id'), 'refused-req-1')
    const body = (await fetch(`http://127.0.0.1:${port()}/api/v1/users/4`, { headers: { 'x-request-id': 'refused-req-2' } }).then((r) => r.json())) as { instance?: string }
    assert.equal(body.instance, 'urn:gatehouse:request:refused-req-2')
    assert.equal(logLine('refused-req-1')?.reason, 'credential_missing')
  })

  test("the upstream's own X-Request-Id never replaces ours in the answer", async () => {
    f.upstream.behave({ kind: 'echo', headers: { 'x-request-id': 'the-upstreams-own' } })
    try {
      const { res } = await send('trusted', '/api/v1/version', { 'x-request-id': 'ours-1' })
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('x-request-id'), 'ours-1')
    } finally {
      f.upstream.behave({ kind: 'echo' })
    }
  })

  test('a relayed answer to a websocket upgrade carries the id', async () => {
    const reply = await rawRequest(
      port(),
      'GET /api/v1/version HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Request-Id: ws-req-1\r\n\r\n',
      1500,
    )
    assert.equal(reply.status, 200) // the upstream is no websocket server: its answer is relayed
    assert.match(reply.head, /\r\nx-request-id: ws-req-1\r\n/i)
    assert.equal(reply.head.match(/\r\nx-request-id:/gi)?.length, 1)
  })
})

describe('W3C traceparent and tracestate', () => {
  // W3C Trace Context §3.2 and its examples.
  const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

  test('a valid traceparent and its tracestate reach the upstream unchanged, from any peer', async () => {
    for (const from of ['trusted', 'untrusted'] as const) {
      const { seen } = await send(from, '/api/v1/version', { traceparent: VALID, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' })
      assert.ok(seen)
      assert.deepEqual(lines(seen, 'traceparent'), [VALID], from)
      assert.deepEqual(lines(seen, 'tracestate'), ['rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'], from)
    }
  })

  test('a later version with more fields is passed on as it is', async () => {
    const future = 'cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like'
    const { seen } = await send('untrusted', '/api/v1/version', { traceparent: future })
    assert.ok(seen)
    assert.deepEqual(lines(seen, 'traceparent'), [future])
  })

  for (const [what, bad] of [
    ['upper-case hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01'],
    ['an all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['an all-zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['version 00 with a field more', `${VALID}-extra`],
    ['a short trace id', '00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01'],
    ['two of them in one line', `${VALID}, ${VALID}`],
    ['garbage', 'not-a-traceparent'],
  ] as const) {
    test(`a traceparent with ${what} is dropped, its tracestate with it`, async () => {
      const { seen } = await send('trusted', '/api/v1/version', { traceparent: bad, tracestate: 'rojo=00f067aa0ba902b7' })
      assert.ok(seen)
      assert.deepEqual(lines(seen, 'traceparent'), [])
      assert.deepEqual(lines(seen, 'tracestate'), [])
    })
  }

  test('two traceparent lines are dropped (W3C: more than one is invalid)', async () => {
    const reply = await rawRequest(port(), `GET /api/v1/version HTTP/1.1\r\nHost: x\r\ntraceparent: ${VALID}\r\ntraceparent: ${VALID}\r\nConnection: close\r\n\r\n`)
    assert.equal(reply.status, 200)
    const seen = f.upstream.requests.at(-1) as SeenRequest
    assert.deepEqual(lines(seen, 'traceparent'), [])
  })
})
