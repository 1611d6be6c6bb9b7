// Issue 13, browser-facing answers of the token service, over raw sockets:
// answers carrying credentials are `Cache-Control: no-store` (RFC 6749 §5.1),
// /docs cannot be framed by another site, and no cross-site form post (which a
// browser sends with cached Basic credentials) makes the service do anything.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { CLIENTS, headerOf, PASSWORDS, SERVICE, startWorld, type World } from '../support/security-fixture.js'

let w: World
before(async () => {
  w = await startWorld()
})
after(() => w.close())

const basic = (user: string, password: string): [string, string] => ['Authorization', `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`]
const alice = () => basic('alice', PASSWORDS.alice as string)
const client = () => basic(CLIENTS.billing.id, CLIENTS.billing.secret)
const JSON_TYPE: [string, string] = ['Content-Type', 'application/json']
const FORM_TYPE: [string, string] = ['Content-Type', 'application/x-www-form-urlencoded']

async function keyCount(): Promise<number> {
  return (await w.P.gh.store.list()).length
}

describe('issue 13: token-service answers that carry credentials are no-store', () => {
  test('POST /v1/auth/jwt, /oauth/token, /v1/auth/apikeys, token-info and introspection answer Cache-Control: no-store', async () => {
    const jwt = await w.request(`${SERVICE}/v1/auth/jwt`, [alice(), JSON_TYPE], 'POST', JSON.stringify({ permissions: { api: 'r' } }))
    assert.equal(jwt.status, 200, jwt.body)
    assert.equal(headerOf(jwt, 'cache-control'), 'no-store')
    const token = (JSON.parse(jwt.body) as { token: string }).token
    const oauth = await w.request(`${SERVICE}/oauth/token`, [client(), FORM_TYPE], 'POST', 'grant_type=client_credentials')
    assert.equal(oauth.status, 200, oauth.body)
    assert.equal(headerOf(oauth, 'cache-control'), 'no-store')
    const key = await w.request(`${SERVICE}/v1/auth/apikeys`, [alice(), JSON_TYPE], 'POST', JSON.stringify({ permissions: { api: 'r' } }))
    assert.equal(key.status, 201, key.body)
    assert.equal(headerOf(key, 'cache-control'), 'no-store')
    const info = await w.request(`${SERVICE}/v1/auth/token-info?token=${token}`, [alice()])
    assert.equal(info.status, 200, info.body)
    assert.equal(headerOf(info, 'cache-control'), 'no-store')
    const list = await w.request(`${SERVICE}/v1/auth/apikeys`, [alice()])
    assert.equal(headerOf(list, 'cache-control'), 'no-store')
    const intro = await w.request(`${SERVICE}/oauth/introspect`, [client(), FORM_TYPE], 'POST', `token=${token}`)
    assert.equal(headerOf(intro, 'cache-control'), 'no-store')
  })
})

describe('issue 13: /docs cannot be framed', () => {
  test('the Swagger UI page and its assets say frame-ancestors none and X-Frame-Options DENY', async () => {
    for (const path of ['/docs', '/docs/', '/docs/static/index.html', '/openapi.json']) {
      const r = await w.request(`${SERVICE}${path}`)
      assert.ok(r.status < 400, `${path}: ${r.status}`)
      assert.equal(headerOf(r, 'x-frame-options'), 'DENY', path)
      assert.match(headerOf(r, 'content-security-policy') ?? '', /frame-ancestors 'none'/, path)
    }
  })
})

describe('issue 13: no cross-site form post is acted on', () => {
  const CROSS: [string, string][][] = [
    [['Origin', 'https://evil.example']],
    [['Origin', 'null']],
    [['Sec-Fetch-Site', 'cross-site'], ['Origin', 'https://evil.example']],
    [['Sec-Fetch-Site', 'same-site'], ['Origin', 'https://other.gatehouse.test']],
    [['Sec-Fetch-Site', 'cross-site']],
  ]
  test('a form post from another site with cached Basic credentials creates no key and mints no token', async () => {
    const before = await keyCount()
    for (const browser of CROSS) {
      // What an HTML form can send: a simple content type, the browser's Origin / Sec-Fetch-Site, the cached Basic header.
      for (const [target, auth, body] of [
        [`${SERVICE}/v1/auth/apikeys`, alice(), '{"permissions":{"api":"rw"}}'],
        [`${SERVICE}/v1/auth/jwt`, alice(), '{"permissions":{"api":"rw"}}'],
        [`${SERVICE}/oauth/token`, client(), 'grant_type=client_credentials'],
        [`${SERVICE}/v1/auth/apikeys/delete`, alice(), '[]'],
      ] as const) {
        for (const type of [['Content-Type', 'text/plain'], FORM_TYPE] as [string, string][]) {
          const r = await w.request(target, [auth, type, ...browser], 'POST', body)
          assert.equal(r.status, 403, `${target} ${JSON.stringify(browser)}: ${r.status} ${r.body}`)
          assert.ok(!/token|"key"/.test(r.body.replace(/"type":"[^"]*"/, '')), 'no credential in the answer')
        }
      }
    }
    assert.equal(await keyCount(), before, 'no key was created')
  })

  test('the same requests from the service own page (same-origin) or from no browser at all still work', async () => {
    for (const browser of [[], [['Sec-Fetch-Site', 'same-origin']], [['Origin', 'http://gatehouse.test']]] as [string, string][][]) {
      const r = await w.request(`${SERVICE}/v1/auth/jwt`, [alice(), JSON_TYPE, ...browser], 'POST', JSON.stringify({ permissions: { api: 'r' } }))
      assert.equal(r.status, 200, `${JSON.stringify(browser)}: ${r.body}`)
    }
  })
})
