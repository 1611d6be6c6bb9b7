// SPEC §10 and §12: the decision endpoint, called directly the way front proxies call
// it. Expected statuses and reasons come from SPEC §3 (and the proxied answer of the
// same request: one pipeline). Every case also checks that the upstream saw nothing:
// a decision never forwards.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createKey } from '../support/api-keys.js'
import { bearer, startFixture, type Fixture } from '../support/fixture.js'
import { REPO } from '../support/front-proxy.js'
import { parse } from 'yaml'

const DECIDE = '/_gatehouse/decide'

let f: Fixture
let port: number
let readKey: string
let readKeyId: string
before(async () => {
  f = await startFixture({
    // No trustedProxies: only trustedCallers make a peer's X-Forwarded-For believed here (§12).
    trustedProxies: [],
    forwardAuth: { path: DECIDE, trustedCallers: ['127.0.0.1/32'] },
  })
  port = Number(new URL(f.gh.url.replace('[::]', '127.0.0.1')).port)
  const made = await createKey(f.gh.gh.store, { user: 'bob', permissions: { users: 'r' } })
  readKey = made.key
  readKeyId = made.record.id
})
after(() => f.close())

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** One decision request over loopback; `from` picks the local address (127.0.0.2 is not a trusted caller). */
function ask(target: string, headers: Record<string, string>, o: { method?: string; from?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: target, method: o.method ?? 'GET', headers, localAddress: o.from ?? '127.0.0.1', agent: false },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

const named = (method: string, uri: string) => ({ 'x-forwarded-method': method, 'x-forwarded-uri': uri })
const original = (method: string, uri: string) => ({ 'x-original-method': method, 'x-original-uri': uri })

/** Status, problem type and an untouched upstream. */
async function refusedWith(a: Promise<Answer>, status: number, reason: string): Promise<Answer> {
  const seen = f.upstream.requests.length
  const r = await a
  assert.equal(r.status, status, r.body)
  assert.match(String(r.headers['content-type']), /^application\/problem\+json/)
  assert.equal((JSON.parse(r.body) as { type: string }).type, `https://gatehouse.dev/problems/${reason}`)
  assert.equal(r.headers.location, undefined, 'never a redirect')
  assert.equal(f.upstream.requests.length, seen, 'a decision forwards nothing')
  return r
}

describe('allowed: 200, an empty body and the identity headers (SPEC §10)', () => {
  test('a read-only API key may GET: 200 with X-Auth-User and its effective permissions', async () => {
    const seen = f.upstream.requests.length
    const r = await ask(DECIDE, { 'x-api-key': readKey, ...named('GET', '/api/v1/users/7?expand=1') })
    assert.equal(r.status, 200)
    assert.equal(r.body, '')
    assert.equal(r.headers['content-length'], '0')
    assert.equal(r.headers['x-auth-user'], 'bob')
    assert.equal(r.headers['x-auth-method'], 'apikey')
    assert.equal(r.headers['x-auth-issuer'], 'gatehouse')
    assert.equal(r.headers['x-auth-permissions'], 'users:r')
    assert.equal(f.upstream.requests.length, seen)
  })

  test('a JWT: the §4 headers, jti as the credential id', async () => {
    const r = await ask(DECIDE, { ...bearer(await f.token({ jti: 'jti-decide-1', permissions: { users: 'rw', sessions: 'r' } })), ...original('DELETE', '/api/v1/users/7') })
    assert.equal(r.status, 200)
    assert.equal(r.headers['x-auth-user'], 'alice')
    assert.equal(r.headers['x-auth-method'], 'jwt')
    assert.equal(r.headers['x-auth-credential-id'], 'jti-decide-1')
    assert.equal(r.headers['x-auth-issuer'], 'test-idp')
    assert.equal(r.headers['x-auth-permissions'], 'sessions:r users:rw')
    assert.match(String(r.headers['x-auth-expires']), /^\d+$/)
  })

  test('a public API: 200 with no identity header at all', async () => {
    const r = await ask(DECIDE, named('POST', '/api/v1/version'))
    assert.equal(r.status, 200)
    assert.deepEqual(Object.keys(r.headers).filter((h) => h.startsWith('x-auth-')), [])
  })
})

describe('refused: the §3 status, problem+json and challenge, by the ORIGINAL method', () => {
  test('the read-only key on POST (nginx convention) is 403 permission_insufficient', async () => {
    await refusedWith(ask(DECIDE, { 'x-api-key': readKey, ...original('POST', '/api/v1/users') }), 403, 'permission_insufficient')
  })

  test('the read-only key on PATCH (Traefik/Caddy convention) is 403, whatever the decision request\'s own method', async () => {
    await refusedWith(ask(DECIDE, { 'x-api-key': readKey, ...named('PATCH', '/api/v1/users/7') }), 403, 'permission_insufficient')
    const seen = f.upstream.requests.length
    const head = await ask(DECIDE, { 'x-api-key': readKey, ...named('PATCH', '/api/v1/users/7') }, { method: 'HEAD' })
    assert.equal(head.status, 403)
    assert.equal(f.upstream.requests.length, seen)
  })

  test('no credential is 401 with the bare challenge', async () => {
    const r = await refusedWith(ask(DECIDE, named('GET', '/api/v1/users')), 401, 'credential_missing')
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="gatehouse", ApiKey realm="gatehouse"')
  })

  test('a bad key is 401 key_invalid with an invalid_token challenge', async () => {
    const r = await refusedWith(ask(DECIDE, { 'x-api-key': readKey.slice(0, -3) + 'AAA', ...named('GET', '/api/v1/users') }), 401, 'key_invalid')
    assert.match(String(r.headers['www-authenticate']), /error="invalid_token"/)
  })

  test('the named path is normalised once: /users/../sessions needs sessions', async () => {
    await refusedWith(ask(DECIDE, { 'x-api-key': readKey, ...named('GET', '/api/v1/users/../sessions/1') }), 403, 'permission_insufficient')
    await refusedWith(ask(DECIDE, { 'x-api-key': readKey, ...named('GET', '/api/v1/users%2F..%2Fsessions') }), 400, 'path_invalid')
    await refusedWith(ask(DECIDE, { 'x-api-key': readKey, ...named('GET', 'http://evil/api/v1/users') }), 400, 'path_invalid')
  })

  test('a path in no API is 403 no_api before the credential is read', async () => {
    await refusedWith(ask(DECIDE, { 'x-api-key': readKey, ...named('GET', '/internal/admin') }), 403, 'no_api')
  })

  test('TRACE and CONNECT as the original method are 405', async () => {
    await refusedWith(ask(DECIDE, { 'x-api-key': readKey, ...named('TRACE', '/api/v1/users') }), 405, 'method_not_allowed')
    await refusedWith(ask(DECIDE, { 'x-api-key': readKey, ...original('CONNECT', '/api/v1/users') }), 405, 'method_not_allowed')
  })

  test('the client address is the right-most untrusted X-Forwarded-For hop sent by the trusted caller: the global filter applies', async () => {
    await refusedWith(ask(DECIDE, { 'x-api-key': readKey, 'x-forwarded-for': '203.0.113.9, 198.51.100.7', ...named('GET', '/api/v1/users') }), 403, 'ip_denied')
    // The client prepended a clean address; the caller appended the real one.
    const ok = await ask(DECIDE, { 'x-api-key': readKey, 'x-forwarded-for': '198.51.100.7, 203.0.113.9', ...named('GET', '/api/v1/users') })
    assert.equal(ok.status, 200)
  })

  test('a token-service path is not waved through behind a front proxy', async () => {
    await refusedWith(ask(DECIDE, named('POST', '/_gatehouse/v1/auth/jwt')), 403, 'no_api')
  })
})

describe('who may ask, and what a decision request must say (SPEC §10, §12)', () => {
  test('a websocket upgrade of the decision path is 400: a decision is one request, one answer', async () => {
    const seen = f.upstream.requests.length
    const head = await new Promise<string>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () =>
        s.write(`GET ${DECIDE} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Api-Key: ${readKey}\r\n${Object.entries(named('GET', '/api/v1/users')).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`),
      )
      let got = ''
      s.setEncoding('utf8')
      s.on('data', (c: string) => (got += c))
      s.on('close', () => resolve(got))
      s.on('error', reject)
    })
    assert.match(head, /^HTTP\/1\.1 400 /)
    assert.match(head, /Decision requests are not upgraded/)
    assert.equal(f.upstream.requests.length, seen, 'nothing reached the upstream')
  })

  test('a peer outside trustedCallers gets 403 caller_untrusted, even with a good credential', async () => {
    const r = await refusedWith(ask(DECIDE, { 'x-api-key': readKey, ...named('GET', '/api/v1/users') }, { from: '127.0.0.2' }), 403, 'caller_untrusted')
    assert.equal(r.headers['x-auth-user'], undefined)
    await refusedWith(ask(`${DECIDE}/api/v1/users`, { 'x-api-key': readKey }, { from: '127.0.0.2' }), 403, 'caller_untrusted')
  })

  const bad: [string, Record<string, string>][] = [
    ['no method and no URI', {}],
    ['only a method', { 'x-forwarded-method': 'GET' }],
    ['only a URI', { 'x-original-uri': '/api/v1/users' }],
    ['the two conventions disagreeing on the method', { ...named('GET', '/api/v1/users'), ...original('POST', '/api/v1/users') }],
    ['the two conventions disagreeing on the URI', { ...named('GET', '/api/v1/users'), ...original('GET', '/api/v1/sessions') }],
    ['a method that is no token', named('GE T', '/api/v1/users')],
    ['an empty method', named('', '/api/v1/users')],
  ]
  for (const [what, headers] of bad) {
    test(`${what} is 400`, async () => {
      await refusedWith(ask(DECIDE, { 'x-api-key': readKey, ...headers }), 400, 'request_malformed')
    })
  }

  test('the same method header twice is 400 (someone appended to the caller\'s)', async () => {
    const seen = f.upstream.requests.length
    const r = await rawAsk(`GET ${DECIDE} HTTP/1.1\r\nHost: gh\r\nX-API-Key: ${readKey}\r\nX-Forwarded-Method: POST\r\nX-Forwarded-Method: GET\r\nX-Forwarded-Uri: /api/v1/users\r\nConnection: close\r\n\r\n`)
    assert.match(r, /^HTTP\/1\.1 400 /)
    assert.equal(f.upstream.requests.length, seen)
  })

  test('ingress-nginx\'s convention: X-Original-Method with the absolute X-Original-URL', async () => {
    const url = (u: string) => ({ 'x-original-method': 'GET', 'x-original-url': u })
    const ok = await ask(DECIDE, { 'x-api-key': readKey, ...url('https://shop.example.com/api/v1/users/7?x=1') })
    assert.equal(ok.status, 200)
    assert.equal(ok.headers['x-auth-user'], 'bob')
    await refusedWith(ask(DECIDE, { 'x-api-key': readKey, 'x-original-method': 'POST', 'x-original-url': 'http://shop/api/v1/users' }), 403, 'permission_insufficient')
    // A Host with `?` (nginx lets it through) does not move the path.
    await refusedWith(ask(DECIDE, { 'x-api-key': readKey, ...url('http://x?/api/v1/version/../sessions') }), 403, 'permission_insufficient')
    await refusedWith(ask(DECIDE, { 'x-api-key': readKey, ...url('/api/v1/users') }), 400, 'request_malformed')
    await refusedWith(ask(DECIDE, { 'x-api-key': readKey, ...url('http://shop.example.com') }), 400, 'request_malformed')
    await refusedWith(ask(DECIDE, { 'x-api-key': readKey, ...url('http://shop/api/v1/users'), 'x-original-uri': '/api/v1/version' }), 400, 'request_malformed')
  })

  test('both conventions agreeing are accepted', async () => {
    const r = await ask(DECIDE, { 'x-api-key': readKey, ...named('GET', '/api/v1/users'), ...original('GET', '/api/v1/users') })
    assert.equal(r.status, 200)
  })

  test('the {path}/<uri> form with a method header too is 400: the client may have chosen it', async () => {
    await refusedWith(ask(`${DECIDE}/api/v1/users`, { 'x-api-key': readKey, 'x-forwarded-method': 'GET' }, { method: 'POST' }), 400, 'request_malformed')
  })

  test('without forwardAuth the decision path is an ordinary path (no_api here)', async () => {
    const g = await startFixture()
    try {
      const res = await fetch(g.gh.url.replace('[::]', '127.0.0.1') + DECIDE, { headers: { 'x-api-key': readKey, ...named('GET', '/api/v1/users') } })
      assert.equal(res.status, 403)
      assert.equal(((await res.json()) as { type: string }).type, 'https://gatehouse.dev/problems/no_api')
    } finally {
      await g.close()
    }
  })
})

describe('exactly the shapes the proxies send, built from the shipped configs', () => {
  interface ClientRequest {
    readonly method: string
    readonly target: string
    readonly headers: Record<string, string>
  }
  const client = (method: string, target: string, headers: Record<string, string> = {}): ClientRequest => ({
    method,
    target,
    // What a hostile client adds to every request: its own method, URI and identity.
    headers: { 'x-original-method': 'GET', 'x-original-uri': '/api/v1/version', 'x-auth-user': 'admin', host: 'shop.example.com', ...headers },
  })

  // Traefik v3.3, pkg/middlewares/auth/forward.go: a GET to `address` (no body) carrying the
  // client's authRequestHeaders only, then X-Forwarded-For (the client address alone, as
  // trustForwardHeader is false), X-Forwarded-Method, -Proto, -Host and -Uri (RequestURI()).
  const traefik = (parse(readFileSync(path.join(REPO, 'deploy/forward-auth/traefik/dynamic.yml'), 'utf8')) as {
    http: { middlewares: { gatehouse: { forwardAuth: { address: string; trustForwardHeader: boolean; authRequestHeaders: string[]; authResponseHeadersRegex: string } } } }
  }).http.middlewares.gatehouse.forwardAuth
  function viaTraefik(c: ClientRequest): Promise<Answer> {
    const pass = new Set(traefik.authRequestHeaders.map((h) => h.toLowerCase()))
    const headers: Record<string, string> = Object.fromEntries(Object.entries(c.headers).filter(([k]) => pass.has(k.toLowerCase())))
    Object.assign(headers, {
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-method': c.method,
      'x-forwarded-proto': 'https',
      'x-forwarded-host': c.headers.host ?? '',
      'x-forwarded-uri': c.target,
      'user-agent': 'Go-http-client/1.1',
      'accept-encoding': 'gzip',
    })
    return ask(new URL(traefik.address).pathname, headers)
  }

  test('Traefik forwardAuth (dynamic.yml): read-only GET allowed, POST refused, client-sent method headers never reach Gatehouse', async () => {
    assert.equal(traefik.trustForwardHeader, false)
    assert.equal(new URL(traefik.address).pathname, DECIDE)
    const get = await viaTraefik(client('GET', '/api/v1/users/7?fields=name', { 'X-API-Key': readKey }))
    assert.equal(get.status, 200)
    assert.equal(get.headers['x-auth-user'], 'bob')
    await refusedWith(viaTraefik(client('POST', '/api/v1/users', { 'X-API-Key': readKey })), 403, 'permission_insufficient')
    await refusedWith(viaTraefik(client('DELETE', '/api/v1/users/7')), 401, 'credential_missing')
  })

  test('Traefik\'s authResponseHeadersRegex covers every identity header, in every spelling a client may use', async () => {
    const re = new RegExp(traefik.authResponseHeadersRegex.replace(/^\(\?i\)/, ''), traefik.authResponseHeadersRegex.startsWith('(?i)') ? 'i' : '')
    const allowed = await viaTraefik(client('GET', '/api/v1/users', { 'X-API-Key': readKey }))
    const answered = Object.keys(allowed.headers).filter((h) => h.startsWith('x-auth-'))
    assert.ok(answered.length >= 5)
    // Go canonicalises header names (X-Auth-User, X_auth_user) before the regex sees them.
    for (const h of [...answered, 'X-Auth-User', 'X_auth_user', 'X-Auth_user', 'X_auth-User', 'X-Auth-Roles']) assert.match(h, re)
    for (const h of ['Authorization', 'X-Authorization', 'X-Api-Key']) assert.doesNotMatch(h, re)
  })

  // Envoy 1.32 ext_authz HTTP service (source/extensions/filters/common/ext_authz/ext_authz_http_impl.cc):
  // the original :method, :path = path_prefix + the original path and query, :authority the
  // original host, content-length 0 (no body), authorization, and the client headers matching
  // allowed_headers; x-forwarded-for already carries the peer Envoy appended (use_remote_address).
  const envoyFilter = findExtAuthz(parse(readFileSync(path.join(REPO, 'deploy/forward-auth/envoy/envoy.yaml'), 'utf8')))
  function viaEnvoy(c: ClientRequest, peer = '203.0.113.9'): Promise<Answer> {
    const allowed = envoyFilter.allowed_headers.patterns.map((p) => p.exact)
    const headers: Record<string, string> = { 'content-length': '0', host: c.headers.host ?? '', 'x-envoy-expected-rq-timeout-ms': '1000' }
    for (const [k, v] of Object.entries(c.headers)) if (k.toLowerCase() === 'authorization' || allowed.includes(k.toLowerCase())) headers[k] = v
    headers['x-forwarded-for'] = c.headers['x-forwarded-for'] ? `${c.headers['x-forwarded-for']}, ${peer}` : peer
    return ask(envoyFilter.http_service.path_prefix + c.target, headers, { method: c.method })
  }

  test('Envoy ext_authz (envoy.yaml, path_prefix): the original method on {path}/<original path>', async () => {
    assert.equal(envoyFilter.http_service.path_prefix, DECIDE)
    assert.equal(envoyFilter.failure_mode_allow, false)
    const get = await viaEnvoy(client('GET', '/api/v1/users/7?fields=name', { 'x-api-key': readKey }))
    assert.equal(get.status, 200)
    assert.equal(get.headers['x-auth-user'], 'bob')
    assert.equal(get.headers['x-auth-permissions'], 'users:r')
    assert.equal((await viaEnvoy(client('HEAD', '/api/v1/users', { 'x-api-key': readKey }))).status, 200)
    await refusedWith(viaEnvoy(client('POST', '/api/v1/users', { 'x-api-key': readKey })), 403, 'permission_insufficient')
    await refusedWith(viaEnvoy(client('GET', '/api/v1/users/..%2f..%2fadmin', { 'x-api-key': readKey })), 400, 'path_invalid')
    const r = await refusedWith(viaEnvoy(client('DELETE', '/api/v1/users')), 401, 'credential_missing')
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="gatehouse", ApiKey realm="gatehouse"')
    // The client address is the hop Envoy appended; one the client chose sits to its left.
    assert.equal((await viaEnvoy(client('GET', '/api/v1/users', { 'x-api-key': readKey, 'x-forwarded-for': '198.51.100.1' }))).status, 200)
    await refusedWith(viaEnvoy(client('GET', '/api/v1/users', { 'x-api-key': readKey, 'x-forwarded-for': '203.0.113.1' }), '198.51.100.7'), 403, 'ip_denied')
  })

  test('Istio\'s extension provider (mesh-config.yaml) asks the same way: pathPrefix and only the credential headers', async () => {
    const mesh = parse(readFileSync(path.join(REPO, 'deploy/forward-auth/istio/mesh-config.yaml'), 'utf8')) as {
      spec: { meshConfig: { extensionProviders: { envoyExtAuthzHttp: { pathPrefix: string; includeRequestHeadersInCheck: string[]; headersToUpstreamOnAllow: string[] } }[] } }
    }
    const p = mesh.spec.meshConfig.extensionProviders[0]!.envoyExtAuthzHttp
    assert.equal(p.pathPrefix, DECIDE)
    assert.deepEqual(p.includeRequestHeadersInCheck.filter((h) => /method|uri/i.test(h)), [])
    const get = await ask(`${p.pathPrefix}/api/v1/users`, { 'x-api-key': readKey })
    assert.deepEqual(Object.keys(get.headers).filter((h) => h.startsWith('x-auth-')).filter((h) => !p.headersToUpstreamOnAllow.includes(h)), [])
    await refusedWith(ask(`${p.pathPrefix}/api/v1/users`, { 'x-api-key': readKey }, { method: 'PATCH' }), 403, 'permission_insufficient')
  })

  test('a CORS preflight is refused like any unauthenticated request (no CORS setting yet)', async () => {
    await refusedWith(
      ask(DECIDE, { origin: 'https://app.example.com', 'access-control-request-method': 'POST', ...named('OPTIONS', '/api/v1/users') }),
      401,
      'credential_missing',
    )
  })
})

describe('one pipeline: the same request, proxied or decided, gets the same answer', () => {
  const cases: [string, string, (k: string) => Record<string, string>][] = [
    ['GET', '/api/v1/users', (k) => ({ 'x-api-key': k })],
    ['POST', '/api/v1/users', (k) => ({ 'x-api-key': k })],
    ['GET', '/api/v1/sessions', (k) => ({ 'x-api-key': k })],
    ['GET', '/api/v1/users', () => ({})],
    ['GET', '/api/v1/users', (k) => ({ 'x-api-key': k, authorization: 'Bearer x.y.z' })],
    ['GET', '/api/v1/users/./7/../8', (k) => ({ 'x-api-key': k })],
    ['GET', '/api/v1/users/%2e%2e/%2e%2e/%2e%2e/etc', (k) => ({ 'x-api-key': k })],
    ['GET', '/nowhere', (k) => ({ 'x-api-key': k })],
    ['DELETE', '/api/v1/version', () => ({})],
  ]
  for (const [method, target, headers] of cases) {
    test(`${method} ${target}`, async () => {
      const h = headers(readKey)
      const proxied = await ask(target, h, { method })
      const decided = await ask(DECIDE, { ...h, ...named(method, target) })
      assert.equal(decided.status === 200 ? 'allowed' : problemType(decided.body), proxied.status === 200 ? 'allowed' : problemType(proxied.body))
      assert.equal(decided.status, proxied.status)
      assert.equal(decided.headers['www-authenticate'], proxied.headers['www-authenticate'])
    })
  }
})

describe('the decision counts and logs like the request it decided', () => {
  test('gatehouse_requests_total by the original method, and one log line with the normalised path', async () => {
    const metric = 'gatehouse_requests_total{api="users",method="PUT",status_class="4xx",outcome="denied"}'
    const count = async () => {
      const text = await (await fetch(`${f.gh.adminUrl}/metrics`)).text()
      const line = text.split('\n').find((l) => l.startsWith(metric + ' '))
      return line ? Number(line.split(' ')[1]) : 0
    }
    const before = await count()
    const r = await refusedWith(ask(DECIDE, { 'x-api-key': readKey, ...named('PUT', '/api/v1/users/./7') }), 403, 'permission_insufficient')
    assert.equal(await count(), before + 1)
    const id = String(r.headers['x-request-id'])
    const line = f.gh.logs().find((l) => l.reqId === id)
    assert.ok(line, 'one log line per decision')
    assert.equal(line.method, 'PUT')
    // README "Operations": a refusal's line carries what was known, the verified key's user and id too.
    assert.equal(line.path, '/api/v1/users/7')
    assert.equal(line.api, 'users')
    assert.equal(line.reason, 'permission_insufficient')
    assert.equal(line.decision, true)
    assert.equal(line.user, 'bob')
    assert.equal(line.credentialId, readKeyId)
    const ok = await ask(DECIDE, { 'x-api-key': readKey, ...named('GET', '/api/v1/users/./7') })
    const okLine = f.gh.logs().find((l) => l.reqId === ok.headers['x-request-id'])
    assert.equal(okLine?.path, '/api/v1/users/7')
    assert.equal(okLine?.user, 'bob')
    assert.equal(okLine?.status, 200)
    assert.ok(!f.gh.logText().includes(readKey), 'the key never reaches the log')
  })

  test("a trusted caller's X-Request-Id (nginx $request_id) is the decision's id: answered and logged", async () => {
    const id = '9f1c3e5a7b2d4f6081a3c5e7092b4d6f'
    const ok = await ask(DECIDE, { 'x-api-key': readKey, 'x-request-id': id, ...named('GET', '/api/v1/users/9') })
    assert.equal(ok.status, 200)
    assert.equal(ok.headers['x-request-id'], id)
    assert.equal(f.gh.logs().find((l) => l.reqId === id)?.path, '/api/v1/users/9')
    const refused = await refusedWith(ask(DECIDE, { 'x-request-id': `${id}-2`, ...named('GET', '/api/v1/users/9') }), 401, 'credential_missing')
    assert.equal(refused.headers['x-request-id'], `${id}-2`)
  })
})

describe('the decision request\'s body is never read', () => {
  test('a chunked body that never ends still gets its answer, and the connection is closed', async () => {
    const reply = await rawAsk(
      `POST ${DECIDE} HTTP/1.1\r\nHost: gh\r\nX-API-Key: ${readKey}\r\nX-Forwarded-Method: GET\r\nX-Forwarded-Uri: /api/v1/users\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n`,
    )
    assert.match(reply, /^HTTP\/1\.1 200 /)
    assert.match(reply, /\r\nconnection: close\r\n/i)
    assert.match(reply, /\r\nx-auth-user: bob\r\n/i)
  })
})

function problemType(body: string): string {
  return (JSON.parse(body) as { type: string }).type
}

function rawAsk(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    let data = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('no answer'))
    }, 3000)
    socket.setEncoding('latin1')
    socket.on('data', (c: string) => (data += c))
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(data)
    })
    socket.on('error', () => undefined)
    socket.write(text)
  })
}

interface ExtAuthz {
  failure_mode_allow: boolean
  allowed_headers: { patterns: { exact: string }[] }
  http_service: { path_prefix: string }
}

/** The ext_authz filter's typed_config inside envoy.yaml. */
function findExtAuthz(bootstrap: unknown): ExtAuthz {
  const hcm = (bootstrap as { static_resources: { listeners: { filter_chains: { filters: { typed_config: { http_filters: { name: string; typed_config: unknown }[] } }[] }[] }[] } })
    .static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config
  const f = hcm.http_filters.find((x) => x.name === 'envoy.filters.http.ext_authz')
  if (!f) throw new Error('envoy.yaml has no ext_authz filter')
  return f.typed_config as ExtAuthz
}
