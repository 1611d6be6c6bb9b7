// Issue 13 over real sockets (raw request text: a client library would normalise
// the paths and headers these cases depend on). P is the catalogue world with
// 127.0.0.1 as a trusted proxy and an IP allow list that admits 127.0.0.1 itself,
// so a request wrongly attributed to the proxy's own address would pass.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { resolveClientIp } from '../../src/pipeline/client-ip.js'
import { createIpSet } from '../../src/net/ip-filter.js'
import { SPOOFABLE_HEADERS } from '../../src/config/spoofable-headers.js'
import { utf8 } from '../support/path-oracle.js'
import { apiKey, assertUClean, bearer, headerNames, problemType, startWorld, type World } from '../support/security-fixture.js'


let w: World
let off: World
before(async () => {
  const ipFilter = { allow: ['127.0.0.1/32', '198.51.100.0/24', '2001:db8::/32'] }
  w = await startWorld({ config: { trustedProxies: ['127.0.0.1/32'], ipFilter } })
  off = await startWorld({
    config: { pathReadings: { trailingDotsSpaces: false, pathParameters: false }, identityHeaders: { removeHeaders: ['X-Custom-User'] } },
  })
})
after(async () => {
  await w?.close()
  await off?.close()
})

async function refused(world: World, target: string, headers: [string, string][], status: number, type: string): Promise<void> {
  const before = world.seen()
  const r = await world.request(target, headers)
  assert.equal(r.status, status, `${target}: ${r.status} ${r.body}`)
  assert.equal(problemType(r), type, target)
  assert.equal(world.seen(), before, `${target}: no-U`)
}

describe('issue 13: paths with a second reading', () => {
  const AMBIGUOUS = [
    '/api/admin.', // IIS, Windows
    '/api/admin%20',
    '/api/admin.%20.',
    '/api/x/..%20/admin',
    '/api/%2561dmin', // a second decoding
    '/api/admin%3Fx', // an encoded ? ends the path to an upstream that decodes first
    '/api/admin%23x',
    '/api/admin;jsessionid=1', // ;params kept
    `/api/${utf8('ａｄｍｉｎ')}`, // NFKC
    `/api/x${utf8('／')}..${utf8('／')}admin`,
    `/api/adm${utf8('ı')}n`, // Java equalsIgnoreCase
    `/api/adm${utf8('İ')}n`,
    '/api/x%25C0%25AF..%25C0%25AFadmin', // overlong UTF-8 after a second decoding
  ]
  test('each reading that names /api/admin is 400 path_ambiguous with K1, and nothing reaches U', async () => {
    for (const t of AMBIGUOUS) await refused(w, t, [apiKey(w.K1)], 400, 'path_ambiguous')
  })

  test('the refusal comes before any credential is looked at', async () => {
    for (const t of AMBIGUOUS.slice(0, 4)) await refused(w, t, [], 400, 'path_ambiguous')
  })

  test('ordinary paths with escapes, dots and non-ASCII still reach U byte for byte', async () => {
    for (const t of ['/api/users/john%20doe', '/api/files/report.v2.json', `/api/users/zo${utf8('ë')}`, '/api/100%25']) {
      const before = w.seen()
      const r = await w.request(t, [apiKey(w.K1)])
      assert.equal(r.status, 200, `${t}: ${r.body}`)
      assert.equal(w.seen(), before + 1)
      assert.equal(w.lastSeen().url, t)
    }
  })

  test('a reading switched off in pathReadings is forwarded as the API Gatehouse chose; the others still refuse', async () => {
    for (const t of ['/api/admin.', '/api/admin;jsessionid=1']) {
      const r = await off.request(t, [apiKey(off.K1)])
      // Gatehouse reads `/api/admin.` as /api (K1: rw) and `/api/admin;x` as /api/admin (K1: none).
      assert.equal(r.status, t.includes(';') ? 403 : 200, `${t}: ${r.body}`)
    }
    assert.equal(off.lastSeen().url, '/api/admin.')
    await refused(off, '/api/%2561dmin', [apiKey(off.K1)], 400, 'path_ambiguous')
  })
})

describe('issue 13: identity values', () => {
  test('a subject "alice, admin" reaches U as one X-Auth-User line, comma encoded', async () => {
    const r = await w.request('/api/x', [bearer(w.hs({ sub: 'alice, admin' }))])
    assert.equal(r.status, 200, r.body)
    const seen = w.lastSeen()
    assert.equal(headerNames(seen).filter((n) => n === 'x-auth-user').length, 1)
    assert.equal(seen.headers['x-auth-user'], 'alice%2C admin')
    assert.equal(decodeURIComponent(seen.headers['x-auth-user'] as string), 'alice, admin')
  })
})

describe('issue 13: client addresses fail closed', () => {
  test('an unparseable right-most untrusted X-Forwarded-For hop from a trusted proxy is 400, never the proxy address', async () => {
    for (const xff of ['unknown', 'garbage', '127.1', '0x7f.0.0.1', '198.51.100.7, _hidden', '1.2.3.4:99999', '[198.51.100.7]:80', '2001:db8::7:443:x']) {
      await refused(w, '/api/x', [apiKey(w.K1), ['X-Forwarded-For', xff]], 400, 'client_address_invalid')
    }
  })

  test('ip:port and [IPv6]:port are read as their address', async () => {
    for (const [xff, client] of [['198.51.100.7:8080', '198.51.100.7'], ['[2001:db8::7]:443', '2001:db8::7'], ['garbage, 198.51.100.9', '198.51.100.9']] as const) {
      const r = await w.request('/api/x', [apiKey(w.K1), ['X-Forwarded-For', xff]])
      assert.equal(r.status, 200, `${xff}: ${r.body}`)
      const forwarded = String(w.lastSeen().headers['x-forwarded-for'])
      assert.ok(forwarded.includes(xff), forwarded)
      // The address that request was judged as (the same trustedProxies as the world's).
      assert.equal(resolveClientIp('127.0.0.1', [xff], createIpSet(['127.0.0.1/32']), false), client)
    }
    // An address the allow list does not hold is refused as that address (403), not as the proxy.
    await refused(w, '/api/x', [apiKey(w.K1), ['X-Forwarded-For', '203.0.113.9:1234']], 403, 'ip_denied')
  })

  test('Forwarded (RFC 7239) is never believed, even from the trusted proxy, and never reaches U', async () => {
    await refused(w, '/api/x', [apiKey(w.K1), ['Forwarded', 'for=198.51.100.7'], ['X-Forwarded-For', '203.0.113.9']], 403, 'ip_denied')
    const r = await w.request('/api/x', [apiKey(w.K1), ['Forwarded', 'for=203.0.113.9;proto=https'], ['X-Forwarded-For', '198.51.100.7']])
    assert.equal(r.status, 200)
    assert.ok(!headerNames(w.lastSeen()).includes('forwarded'))
  })
})

describe('issue 13: spoofable headers and query credentials are removed', () => {
  test('every default spoofable identity or address header, in any case or with _, never reaches U', async () => {
    const lines: [string, string][] = []
    for (const name of SPOOFABLE_HEADERS) lines.push([name, 'admin'], [name.toLowerCase().replaceAll('-', '_'), 'admin'])
    const r = await w.request('/api/x', [apiKey(w.K1), ...lines])
    assert.equal(r.status, 200, r.body)
    const names = new Set(headerNames(w.lastSeen()).map((n) => n.replaceAll('_', '-')))
    for (const name of SPOOFABLE_HEADERS) assert.ok(!names.has(name.toLowerCase()), `${name} reached U`)
    for (const name of ['x-real-ip', 'true-client-ip', 'x-client-ip', 'forwarded', 'x-remote-user', 'remote-user', 'x-forwarded-user', 'x-forwarded-email', 'x-forwarded-preferred-username', 'x-authenticated-user']) {
      assert.ok(!names.has(name), `the issue's ${name} reached U`)
    }
    assertUClean(w.lastSeen(), 'alice')
  })

  test('a configured removeHeaders list is what is removed', async () => {
    const r = await off.request('/api/x', [apiKey(off.K1), ['X-Custom-User', 'admin'], ['X-Real-IP', '10.0.0.1']])
    assert.equal(r.status, 200, r.body)
    const names = headerNames(off.lastSeen())
    assert.ok(!names.includes('x-custom-user'))
    assert.ok(names.includes('x-real-ip'), 'the default list was replaced, as documented')
  })

  test('access_token is removed from the forwarded query in every spelling a lenient stack reads', async () => {
    for (const q of ['access_token=abc', 'ACCESS_TOKEN=abc', 'access%5Ftoken=abc', 'access.token=abc', 'access+token=abc', 'access_token[]=abc', 'access_token[x]=abc', 'x=1;access_token=abc']) {
      const r = await w.request(`/health?a=1&${q}&b=2`)
      assert.equal(r.status, 200, `${q}: ${r.body}`)
      assert.equal(w.lastSeen().url, '/health?a=1&b=2', q)
    }
    const r = await w.request('/health?access_token=abc')
    assert.equal(r.status, 200)
    assert.equal(w.lastSeen().url, '/health')
    // A name that merely contains it is kept.
    await w.request('/health?my_access_token_hint=1')
    assert.equal(w.lastSeen().url, '/health?my_access_token_hint=1')
  })
})
