// SPEC §10 with the real front proxies: Debian's nginx (1.22, auth_request) and Caddy
// (2.6, forward_auth) run the exact files of deploy/forward-auth/, with only their
// ports changed (and their listeners kept on loopback), in front of a recording
// "legacy API", asking a real Gatehouse. A recording hop between the proxy and
// Gatehouse shows what each decision request carried. Without nginx or Caddy the
// tests skip with a hint; with CI=true they fail (test/support/tools.ts).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createKey } from '../support/api-keys.js'
import { caddyTool, freePort, nginxTool, readTemplate, startCaddy, startNginx, withDecisionCache, type FrontProxy } from '../support/front-proxy.js'
import { startHttpTap, type HttpTap } from '../support/http-tap.js'
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js'
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js'

const IDENTITY = ['x-auth-user', 'x-auth-actor', 'x-auth-method', 'x-auth-credential-id', 'x-auth-issuer', 'x-auth-permissions', 'x-auth-expires', 'x-auth-subject-type']
const CHALLENGE = 'Bearer realm="gatehouse", ApiKey realm="gatehouse"'

interface Setup {
  readonly api: RecordingUpstream
  readonly gh: TestGatehouse
  readonly tap: HttpTap
  readonly readKey: string
  readonly writeKey: string
}

async function startSetup(): Promise<Setup> {
  const api = await startRecordingUpstream()
  const gh = await startTestGatehouse({
    // Gatehouse's own upstream is the same recorder: were it ever to forward, the counts would show it.
    upstream: { url: api.url },
    apis: [
      { name: 'users', prefixes: ['/api/v1/users'] },
      { name: 'sessions', prefixes: ['/api/v1/sessions'] },
      { name: 'version', prefixes: ['/api/v1/version'], public: true },
    ],
    forwardAuth: { path: '/_gatehouse/decide', trustedCallers: ['127.0.0.1/32'] },
  })
  const tap = await startHttpTap(Number(new URL(gh.url).port))
  const readKey = (await createKey(gh.gh.store, { user: 'bob', permissions: { users: 'r' } })).key
  const writeKey = (await createKey(gh.gh.store, { user: 'alice', permissions: { users: 'rw' } })).key
  return { api, gh, tap, readKey, writeKey }
}

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: string
}

/** What the proxies under test are: a name, how to start one, and how it names the method it asks about. */
interface Front {
  readonly name: string
  readonly skip: string | false
  /** Drops every client header with the identity prefix (Caddy); nginx can drop only the names its config lists. */
  readonly stripsByPrefix: boolean
  start(s: Setup): Promise<FrontProxy>
}

/** The shipped nginx site with only its ports filled in. */
async function nginxSite(s: { tap: { port: number }; api: { port: number } }): Promise<{ site: string; port: number }> {
  const port = await freePort()
  const site = await readTemplate('deploy/forward-auth/nginx/gatehouse.conf', [
    ['server 127.0.0.1:8080;', `server 127.0.0.1:${s.tap.port};`],
    ['server 127.0.0.1:3000;', `server 127.0.0.1:${s.api.port};`],
    ['listen 80;', `listen 127.0.0.1:${port};`],
  ])
  return { site, port }
}

const fronts: Front[] = [
  {
    name: 'nginx (auth_request)',
    skip: nginxTool.skip,
    stripsByPrefix: false,
    async start(s) {
      const { site, port } = await nginxSite(s)
      return startNginx(site, port)
    },
  },
  {
    name: 'nginx with the decision cache (decision-cache.conf)',
    skip: nginxTool.skip,
    stripsByPrefix: false,
    async start(s) {
      const { site, port } = await nginxSite(s)
      // A relative cache path lives in nginx's own prefix folder, removed with it.
      return startNginx(withDecisionCache(site, 'decision-cache'), port)
    },
  },
  {
    name: 'Caddy (forward_auth)',
    skip: caddyTool.skip,
    stripsByPrefix: true,
    async start(s) {
      const [port, admin] = [await freePort(), await freePort()]
      const caddyfile = await readTemplate('deploy/forward-auth/caddy/Caddyfile', [
        ['admin localhost:2019', `admin localhost:${admin}`],
        ['forward_auth 127.0.0.1:8080', `forward_auth 127.0.0.1:${s.tap.port}`],
        ['reverse_proxy 127.0.0.1:3000', `reverse_proxy 127.0.0.1:${s.api.port}`],
        ['\n:80 {', `\n:${port} {\n\tbind 127.0.0.1`],
      ])
      return startCaddy(caddyfile, port)
    },
  },
]

for (const front of fronts) {
  describe(`behind ${front.name}`, { skip: front.skip }, () => {
    let s: Setup
    let proxy: FrontProxy
    before(async () => {
      s = await startSetup()
      proxy = await front.start(s)
    })
    after(async () => {
      await proxy?.stop()
      await s?.tap.close()
      await s?.gh.close()
      await s?.api.close()
    })

    async function send(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
      const res = await fetch(`http://127.0.0.1:${proxy.port}${path}`, { method: init.method ?? 'GET', headers: init.headers ?? {}, body: init.body ?? null, redirect: 'manual' })
      return { status: res.status, headers: res.headers, body: await res.text() }
    }

    /** The request must be refused with `status` and the API must have seen nothing. */
    async function refused(path: string, init: Parameters<typeof send>[1], status: number): Promise<Reply> {
      const seen = s.api.requests.length
      const r = await send(path, init)
      assert.equal(r.status, status, `${r.body}\n${await proxy.log()}`)
      assert.equal(s.api.requests.length, seen, 'the API must see nothing')
      return r
    }

    test('a read-only key GETs: 200, and the API sees X-Auth-User but no credential and no placeholder text', async () => {
      const seen = s.api.requests.length
      const r = await send('/api/v1/users/7?fields=name', { headers: { 'x-api-key': s.readKey } })
      assert.equal(r.status, 200, `${r.body}\n${await proxy.log()}`)
      assert.equal(s.api.requests.length, seen + 1)
      const got = s.api.requests.at(-1)!
      assert.equal(got.method, 'GET')
      assert.equal(got.url, '/api/v1/users/7?fields=name')
      assert.equal(got.headers['x-auth-user'], 'bob')
      assert.equal(got.headers['x-auth-method'], 'apikey')
      assert.equal(got.headers['x-auth-permissions'], 'users:r')
      assert.equal(got.headers['x-auth-subject-type'], 'user')
      assert.equal(got.headers['x-auth-issuer'], 'gatehouse')
      // No actor and no expiry in this answer: the headers are absent, not empty and not "{http.reverse_proxy…}".
      assert.equal(got.headers['x-auth-actor'], undefined)
      assert.equal(got.headers['x-auth-expires'], undefined)
      assert.ok(!JSON.stringify(got.rawHeaders).includes('{http.'), `placeholder text reached the API: ${JSON.stringify(got.rawHeaders)}`)
      assert.equal(got.headers['x-api-key'], undefined)
      assert.equal(got.headers.authorization, undefined)
    })

    test('its POST is 403 permission_insufficient and the API sees nothing; the decision named POST', async () => {
      const asked = s.tap.requests.length
      const r = await refused('/api/v1/users', { method: 'POST', headers: { 'x-api-key': s.readKey, 'content-type': 'application/json' }, body: '{"name":"eve"}' }, 403)
      assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/)
      assert.equal((JSON.parse(r.body) as { type: string }).type, 'https://gatehouse.dev/problems/permission_insufficient')
      assert.match(r.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/)
      const decision = s.tap.requests[asked]!
      assert.equal(decision.headers['x-original-method'] ?? decision.headers['x-forwarded-method'], 'POST')
      assert.equal(decision.headers['x-original-uri'] ?? decision.headers['x-forwarded-uri'], '/api/v1/users')
    })

    test('no credential: 401 with WWW-Authenticate passed back to the client', async () => {
      const r = await refused('/api/v1/users', {}, 401)
      assert.equal(r.headers.get('www-authenticate'), CHALLENGE)
      assert.equal((JSON.parse(r.body) as { type: string }).type, 'https://gatehouse.dev/problems/credential_missing')
    })

    test('a client naming its own method (X-Forwarded-Method: GET, X-Original-Method: GET) on a POST is still refused', async () => {
      const lies = { 'x-forwarded-method': 'GET', 'x-original-method': 'GET', 'x-forwarded-uri': '/api/v1/users', 'x-original-uri': '/api/v1/users', 'x-original-url': 'http://shop/api/v1/users' }
      await refused('/api/v1/users', { method: 'POST', headers: { 'x-api-key': s.readKey, ...lies }, body: '{}' }, 403)
      await refused('/api/v1/users', { method: 'DELETE', headers: { 'x-api-key': s.readKey, 'x-original-method': 'GET' } }, 403)
      await refused('/api/v1/users', { method: 'PUT', headers: { 'x-api-key': s.readKey, 'x-forwarded-method': 'GET' }, body: '{}' }, 403)
      // Pointing the URI at a public API does not help either.
      await refused('/api/v1/users', { method: 'POST', headers: { 'x-forwarded-uri': '/api/v1/version', 'x-original-uri': '/api/v1/version', 'x-original-url': 'http://shop/api/v1/version' }, body: '{}' }, 401)
    })

    test('a spoofed X-Auth-User (any spelling) never reaches the API', async () => {
      const spoof = { 'x-auth-user': 'admin', 'X-Auth-Actor': 'admin', 'x-auth-permissions': 'users:rw', 'X-Auth-Roles': 'admin', X_Auth_User: 'admin', 'X-AUTH-EXPIRES': '9999999999' }
      // A public API: Gatehouse answers without identity, so nothing of the client's may stay.
      let seen = s.api.requests.length
      const pub = await send('/api/v1/version', { headers: spoof })
      assert.equal(pub.status, 200, pub.body)
      assert.equal(s.api.requests.length, seen + 1)
      const got = s.api.requests.at(-1)!
      for (const h of front.stripsByPrefix ? [...IDENTITY, 'x-auth-roles'] : IDENTITY) assert.equal(got.headers[h], undefined, `${h} reached the API: ${String(got.headers[h])}`)
      // An authenticated request: the API sees Gatehouse's identity, not the client's.
      seen = s.api.requests.length
      const auth = await send('/api/v1/users', { headers: { ...spoof, 'x-api-key': s.readKey } })
      assert.equal(auth.status, 200, auth.body)
      const got2 = s.api.requests.at(-1)!
      assert.equal(s.api.requests.length, seen + 1)
      assert.equal(got2.headers['x-auth-user'], 'bob')
      assert.equal(got2.headers['x-auth-permissions'], 'users:r')
      assert.equal(got2.headers['x-auth-actor'], undefined)
      assert.equal(got2.headers['x-auth-expires'], undefined)
      assert.ok(!JSON.stringify(got2.rawHeaders).toLowerCase().includes('x_auth'), 'an X_Auth_ spelling reached the API')
    })

    test('request bodies reach the API but never the decision endpoint', async () => {
      const asked = s.tap.requests.length
      const body = 'x'.repeat(256 * 1024)
      const r = await send('/api/v1/users', { method: 'POST', headers: { 'x-api-key': s.writeKey }, body })
      assert.equal(r.status, 200, r.body)
      assert.equal(s.api.requests.at(-1)!.bodyBytes, body.length)
      assert.equal(s.api.requests.at(-1)!.headers['x-auth-user'], 'alice')
      const decisions = s.tap.requests.slice(asked)
      assert.ok(decisions.length >= 1)
      for (const d of decisions) {
        assert.equal(d.bodyBytes, 0, 'a body reached the decision endpoint')
        assert.equal(d.url.split('?')[0], '/_gatehouse/decide')
      }
      // Refused ones neither.
      const before = s.tap.requests.length
      await refused('/api/v1/users', { method: 'POST', headers: { 'x-api-key': s.readKey }, body }, 403)
      for (const d of s.tap.requests.slice(before)) assert.equal(d.bodyBytes, 0)
    })

    test('the original path is what Gatehouse normalises and decides: /users/../sessions needs sessions', async () => {
      const r = await send('/api/v1/users/..%2f..%2fsessions', { headers: { 'x-api-key': s.readKey } })
      assert.notEqual(r.status, 200)
      const seen = s.api.requests.length
      await refused('/api/v1/sessions', { headers: { 'x-api-key': s.readKey } }, 403)
      assert.equal(s.api.requests.length, seen)
    })

    test('a repeated GET is decided again, or (decision cache) answered from the cache without ever serving another method or credential', async () => {
      const asked = s.tap.requests.length
      for (let i = 0; i < 3; i++) assert.equal((await send('/api/v1/users/cached', { headers: { 'x-api-key': s.readKey } })).status, 200)
      const decisions = s.tap.requests.length - asked
      if (front.name.includes('cache')) assert.equal(decisions, 1, 'the cache answers the repeats')
      else assert.equal(decisions, 3)
      // Same credential and URI, another method: never the cached GET's answer.
      await refused('/api/v1/users/cached', { method: 'POST', headers: { 'x-api-key': s.readKey }, body: '{}' }, 403)
      // Same method and URI, no credential or another one: never the cached answer either.
      await refused('/api/v1/users/cached', {}, 401)
      await refused('/api/v1/users/cached', { headers: { 'x-api-key': s.readKey.slice(0, -4) + 'AAAA' } }, 401)
    })

    test('the decision endpoint is not reachable through the front proxy as a way around it', async () => {
      const seen = s.api.requests.length
      const r = await send('/_gatehouse/decide', { headers: { 'x-api-key': s.readKey, 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/api/v1/users' } })
      assert.notEqual(r.status, 200)
      assert.equal(s.api.requests.length, seen)
      assert.equal(r.headers.get('x-auth-user'), null)
    })
  })
}
