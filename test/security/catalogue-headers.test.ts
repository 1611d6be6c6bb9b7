// Attack catalogue §3 (SECURITY.md) (headers, client IP, request smuggling), over raw sockets:
// what a client library would refuse to send is written byte for byte.
import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { rawRequest } from '../support/raw-http.js'
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js'
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js'
import { assertUClean, bearer, headerNames, problemType, rawText, startWorld, type World } from '../support/security-fixture.js'

let w: World
before(async () => {
  w = await startWorld()
})
after(() => w.close())

/** Sends `text`; asserts 400 (or `status`) and that U saw nothing. */
async function refusedRaw(text: string, why: string, statuses = [400]): Promise<void> {
  const before = w.seen()
  const r = await w.send(text)
  assert.ok(statuses.includes(r.status), `${why}: ${r.status}`)
  assert.equal(w.seen(), before, `${why}: no-U`)
}

/** A small Gatehouse in front of its own upstream, for the address rows. */
async function small(config: Record<string, unknown>): Promise<{ gh: TestGatehouse; up: RecordingUpstream; port: number; close(): Promise<void> }> {
  const up = await startRecordingUpstream()
  const gh = await startTestGatehouse({ upstream: { url: up.url }, apis: [{ name: 'api', prefixes: ['/api'], public: true }], ...config })
  const port = Number(new URL(gh.url.replace('[::]', '127.0.0.1')).port)
  return {
    gh,
    up,
    port,
    async close() {
      await gh.close()
      await up.close()
    },
  }
}

describe('attack catalogue §3 headers, client IP, request smuggling', () => {
  test('#56 spoofed identity headers (any case, twice) never reach U: U-clean with T1; none at all on an anonymous route; 401 without a credential', async () => {
    const spoofs: [string, string][][] = [
      [['X-Auth-User', 'admin']],
      [['x-auth-user', 'admin']],
      [['X-AUTH-SCOPES', 'rw:/'], ['X-AUTH-PERMISSIONS', 'admin:rw']],
      [['X-Auth-User', 'admin'], ['X-Auth-User', 'root']],
    ]
    for (const spoof of spoofs) {
      assert.equal((await w.request('/api/x', [bearer(w.T1()), ...spoof])).status, 200)
      assertUClean(w.lastSeen(), 'alice', 'api:rw pub:r')
      assert.equal(w.lastSeen().headers['x-auth-scopes'], undefined)
      assert.equal((await w.request('/health', spoof)).status, 200)
      assertUClean(w.lastSeen(), null)
      const before = w.seen()
      assert.equal((await w.request('/api/x', spoof)).status, 401)
      assert.equal(w.seen(), before)
    }
  })

  test('#57 underscore spellings (X-Auth_User, X_Auth_User, x-auth_scopes) are stripped: no name U could fold to ours', async () => {
    const r = await w.request('/api/x', [bearer(w.T1()), ['X-Auth_User', 'admin'], ['X_Auth_User', 'admin'], ['x-auth_scopes', 'rw:/'], ['X_AUTH_PERMISSIONS', 'admin:rw']])
    assert.equal(r.status, 200)
    assertUClean(w.lastSeen(), 'alice', 'api:rw pub:r')
    assert.ok(!headerNames(w.lastSeen()).some((n) => n.replaceAll('_', '-') === 'x-auth-scopes'))
  })

  test('#58 Connection naming our headers, XFF and Authorization drops only client copies: U still gets our identity and XFF', async () => {
    for (const lines of [
      [['Connection', 'close, X-Auth-User, X-Auth-Scopes, X-Forwarded-For, Authorization']],
      [['Connection', 'close, x-auth-user'], ['connection', 'X-AUTH-PERMISSIONS, x-forwarded-for, AUTHORIZATION']],
    ] as [string, string][][]) {
      const r = await w.request('/api/x', [bearer(w.T1()), ['X-Auth-User', 'admin'], ['X-Custom-Hop', '1'], ['Connection', 'X-Custom-Hop'], ...lines])
      assert.equal(r.status, 200)
      const seen = w.lastSeen()
      assertUClean(seen, 'alice', 'api:rw pub:r')
      assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1')
      assert.equal(seen.headers['x-custom-hop'], undefined, 'a client header named in Connection is dropped')
      assert.equal(seen.headers.authorization, undefined)
    }
  })

  test('#59 h2c upgrades are 400 no-U; hop-by-hop headers are not forwarded', async () => {
    await refusedRaw(
      rawText('GET', '/api/x', [bearer(w.T1()), ['Upgrade', 'h2c'], ['HTTP2-Settings', 'AAMAAABkAAQAAP__'], ['Connection', 'Upgrade, HTTP2-Settings']]),
      'h2c',
    )
    const r = await w.request('/api/x', [
      bearer(w.T1()),
      ['Proxy-Authorization', 'Basic YTpi'],
      ['TE', 'trailers'],
      ['Keep-Alive', 'timeout=5'],
      ['Trailer', 'X-Auth-User'],
      ['HTTP2-Settings', 'AAMAAABkAAQAAP__'],
      ['Upgrade', 'h2c'],
    ])
    assert.equal(r.status, 200)
    const names = headerNames(w.lastSeen())
    for (const n of ['proxy-authorization', 'te', 'keep-alive', 'trailer', 'http2-settings', 'upgrade']) assert.ok(!names.includes(n), n)
  })

  test('#59 Upgrade: websocket to an API that is not a websocket: its answer is relayed and the connection closed, never a tunnel', async () => {
    const before = w.seen()
    const s = net.connect(w.port, '127.0.0.1')
    let data = ''
    s.setEncoding('latin1')
    s.on('data', (c: string) => (data += c))
    s.on('error', () => {})
    const closed = new Promise<void>((resolve) => s.once('close', () => resolve()))
    s.write(
      `GET /api/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${w.T1()}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n' +
        // Early bytes after the upgrade request: an unchecked request if this became a tunnel.
        'GET /api/admin/early HTTP/1.1\r\nHost: x\r\n\r\n',
    )
    await new Promise((r) => setTimeout(r, 300))
    if (!s.destroyed) s.write('GET /api/admin/late HTTP/1.1\r\nHost: x\r\n\r\n')
    await Promise.race([closed, new Promise((r) => setTimeout(r, 3000))])
    s.destroy()
    assert.match(data, /^HTTP\/1\.1 200 /)
    assert.doesNotMatch(data, /101 Switching/)
    const urls = w.U.requests.slice(before).map((r) => r.url)
    assert.deepEqual(urls, ['/api/x'], 'only the authorised request reached U')
  })

  test('#60 X-Forwarded-For and kin from an untrusted peer never choose the address: 403; U gets XFF rebuilt from the socket', async () => {
    const spoof: [string, string][] = [
      ['X-Forwarded-For', '10.0.0.1'],
      ['X-Real-IP', '10.0.0.1'],
      ['True-Client-IP', '10.0.0.1'],
      ['CF-Connecting-IP', '10.0.0.1'],
      ['Forwarded', 'for=10.0.0.1'],
    ]
    const denied = await small({ ipFilter: { allow: ['10.0.0.0/8'], deny: [] } })
    try {
      const r = await rawRequest(denied.port, rawText('GET', '/api/x', spoof))
      assert.equal(r.status, 403)
      assert.equal(problemType(r), 'ip_denied')
      assert.equal(denied.up.requests.length, 0)
    } finally {
      await denied.close()
    }
    const allowed = await small({ ipFilter: { allow: ['127.0.0.0/8'], deny: [] } })
    try {
      assert.equal((await rawRequest(allowed.port, rawText('GET', '/api/x', spoof))).status, 200)
      const h = allowed.up.requests.at(-1)!.headers
      assert.equal(h['x-forwarded-for'], '127.0.0.1')
      for (const n of ['x-real-ip', 'true-client-ip', 'cf-connecting-ip', 'forwarded']) assert.equal(h[n], undefined, n)
    } finally {
      await allowed.close()
    }
  })

  test('#61 through a trusted proxy, the right-most untrusted hop is the client: "<allowed>, <attacker>" is 403', async () => {
    const g = await small({ trustedProxies: ['127.0.0.1/32'], ipFilter: { allow: ['10.0.0.0/8'], deny: [] } })
    try {
      const r = await rawRequest(g.port, rawText('GET', '/api/x', [['X-Forwarded-For', '10.0.0.5, 203.0.113.9']]))
      assert.equal(r.status, 403)
      assert.equal(g.up.requests.length, 0)
      assert.equal((await rawRequest(g.port, rawText('GET', '/api/x', [['X-Forwarded-For', '203.0.113.9, 10.0.0.5']]))).status, 200)
    } finally {
      await g.close()
    }
  })

  test('#63 IPv4-mapped IPv6: ::ffff:203.0.113.9 is denied by 10.0.0.0/8; a proxy at ::ffff:127.0.0.1 is the trusted 127.0.0.1', async () => {
    // Listening on [::], a 127.0.0.1 client arrives as ::ffff:127.0.0.1.
    const g = await small({ listen: '[::]:0', trustedProxies: ['127.0.0.1/32'], ipFilter: { allow: ['10.0.0.0/8'], deny: [] } })
    try {
      const deny = await rawRequest(g.port, rawText('GET', '/api/x', [['X-Forwarded-For', '::ffff:203.0.113.9']]))
      assert.equal(deny.status, 403)
      assert.equal(g.up.requests.length, 0)
      assert.equal((await rawRequest(g.port, rawText('GET', '/api/x', [['X-Forwarded-For', '::ffff:10.1.2.3']]))).status, 200)
      // The trusted proxy's chain is passed on as it came, then the proxy itself in plain form.
      assert.equal(g.up.requests.at(-1)!.headers['x-forwarded-for'], '::ffff:10.1.2.3, 127.0.0.1')
    } finally {
      await g.close()
    }
  })

  test('#65 header syntax (space before colon, obs-fold, bare CR, NUL, non-token name) is 400 no-U', async () => {
    const t = w.T1()
    for (const [what, line] of [
      ['space before colon', 'X-Auth-User : admin'],
      ['obs-fold', 'X-Custom: a\r\n b'],
      ['bare CR in a value', 'X-Custom: a\rb'],
      ['NUL in a value', 'X-Custom: a\u0000b'],
      ['non-token name', 'X(Auth)User: admin'],
      ['bare LF', 'X-Custom: a\nX-Auth-User: admin'],
    ]) {
      await refusedRaw(`GET /api/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\n${line}\r\nConnection: close\r\n\r\n`, what as string)
    }
  })

  test('#66 header volume: one 20 KB header is 431; 2 100 headers with Authorization and X-Auth-User after the 2 000th are 431', async () => {
    await refusedRaw(rawText('GET', '/api/x', [bearer(w.T1()), ['X-Big', 'a'.repeat(20_000)]]), 'one 20 KB header', [431])
    const many: [string, string][] = Array.from({ length: 2100 }, (_, i) => [`X-${i}`, '1'] as [string, string])
    many.splice(2050, 0, bearer(w.T1()), ['X-Auth-User', 'admin'])
    await refusedRaw(rawText('GET', '/api/x', many), '2 100 headers', [431])
  })

  test('#67 CL.TE: 400 and closed; U gets no /api/admin request', async () => {
    const text =
      'POST /pub HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG' +
      `POST /api/admin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${w.T1()}\r\nContent-Length: 0\r\n\r\n`
    await refusedRaw(text, 'CL.TE')
    assert.ok(!w.U.requests.some((r) => r.url.startsWith('/api/admin')))
  })

  test('#68 TE obfuscation is 400; HTTP/1.0 with chunked is re-framed, never forwarded with the client TE or CL beside it', async () => {
    const t = w.T1()
    for (const [what, te] of [
      ['xchunked', 'Transfer-Encoding: xchunked'],
      ['chunked, identity', 'Transfer-Encoding: chunked, identity'],
      ['space before colon', 'Transfer-Encoding : chunked'],
      ['obs-folded', 'Transfer-Encoding:\r\n chunked'],
    ]) {
      await refusedRaw(`POST /api/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\n${te}\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, what as string)
    }
    const before = w.seen()
    const r = await w.send(`POST /api/x HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer ${t}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`)
    assert.equal(r.status, 200)
    assert.equal(w.seen(), before + 1)
    const seen = w.lastSeen()
    assert.equal(seen.bodyBytes, 5)
    const names = headerNames(seen)
    assert.ok(!(names.includes('transfer-encoding') && names.includes('content-length')), 'never both')
    assert.ok(names.filter((n) => n === 'transfer-encoding' || n === 'content-length').length === 1, 'exactly one framing header')
  })

  test('#69 Content-Length: twice, "5, 5", +5, 0x5, -1, and a space before the name are 400', async () => {
    const t = w.T1()
    for (const [what, cl] of [
      ['twice', 'Content-Length: 5\r\nContent-Length: 5'],
      ['5, 5', 'Content-Length: 5, 5'],
      ['+5', 'Content-Length: +5'],
      ['0x5', 'Content-Length: 0x5'],
      ['-1', 'Content-Length: -1'],
      ['space before the name', ' Content-Length: 5'],
    ]) {
      await refusedRaw(`POST /api/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\n${cl}\r\nConnection: close\r\n\r\nhello`, what as string)
    }
  })

  test('#72 chunk extensions: a 1 MB extension is 413 at once; 100 000 one-byte chunks with 1 KB extensions each are 413 within the first few hundred KB', async () => {
    const key = `Authorization: Bearer ${w.T1()}\r\n`
    const before = w.seen()
    const bytesBefore = w.U.bytesReceived()
    const t0 = performance.now()
    const one = await w.send(`POST /api/x HTTP/1.1\r\nHost: x\r\n${key}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n1;${'a'.repeat(1 << 20)}\r\nx\r\n0\r\n\r\n`)
    assert.equal(one.status, 413)
    assert.ok(performance.now() - t0 < 1000)

    const s = net.connect(w.port, '127.0.0.1')
    let data = ''
    s.setEncoding('latin1')
    s.on('data', (c: string) => (data += c))
    s.on('error', () => {})
    const closed = new Promise<void>((resolve) => s.once('close', () => resolve()))
    s.write(`POST /api/x HTTP/1.1\r\nHost: x\r\n${key}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n`)
    const chunk = `1;${'e'.repeat(1024)}\r\nx\r\n`
    let sent = 0
    const t1 = performance.now()
    for (let i = 0; i < 100_000 && !s.destroyed && data === ''; i++) {
      if (!s.write(chunk)) await Promise.race([new Promise((r) => s.once('drain', r)), closed, new Promise((r) => setTimeout(r, 1000))])
      sent++
    }
    await Promise.race([closed, new Promise((r) => setTimeout(r, 3000))])
    s.destroy()
    assert.match(data, /^HTTP\/1\.1 413 /)
    // What the client could write before the 413 is what loopback buffers hold (a few MB), not 100 MB.
    assert.ok(sent < 20_000, `stopped after ${sent} chunks`)
    assert.ok(performance.now() - t1 < 3000)
    assert.equal(w.seen(), before, 'U recorded no complete request')
    assert.ok(w.U.bytesReceived() - bytesBefore < 2000, `U got ${w.U.bytesReceived() - bytesBefore} body bytes`)
  })
})
