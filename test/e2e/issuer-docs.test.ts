// The token service's Swagger UI (SPEC §6 `GET /docs`) used the way a person uses it:
// headless Chromium loads the page, authorises with BasicAuth in the "Authorize"
// dialog, runs "Try it out" on POST /v1/auth/jwt, and the token it shows is one
// the proxy accepts. And the OpenAPI document behind it names the three security
// schemes and every SPEC §6 endpoint.
//
// Chromium: test/support/chromium.ts.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core'
import { stringify } from 'yaml'
import { hashPassword } from '../../src/accounts/password-hash.js'
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js'
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js'
import { CHROMIUM_ARGS, chromiumTool } from '../support/chromium.js'

const PREFIX = '/_gatehouse'
const ALICE = { name: 'alice', password: 'alice-docs-password-0123' }
const CLIENT = { id: 'docs-client', secret: 'docs-client-secret-0123' }

/** The SPEC §6 table, as method and path under the prefix (`/docs` and `/openapi.json` are the page itself). */
const SPEC_6_ENDPOINTS = [
  ['post', '/v1/auth/jwt'],
  ['post', '/v1/auth/apikeys'],
  ['get', '/v1/auth/apikeys'],
  ['patch', '/v1/auth/apikeys/{id}'],
  ['post', '/v1/auth/apikeys/delete'],
  ['post', '/oauth/token'],
  ['post', '/oauth/introspect'],
  ['get', '/v1/auth/token-info'],
  ['get', '/.well-known/jwks.json'],
] as const

interface Setup {
  readonly upstream: RecordingUpstream
  readonly th: TestGatehouse
}

/** A recording upstream behind Gatehouse with the token service on, alice in its users file. */
async function start(): Promise<Setup> {
  const users = {
    users: [{ name: ALICE.name, passwordHash: await hashPassword(ALICE.password), permissions: { users: 'rw', sessions: 'r' } }],
  }
  const clients = {
    clients: [{ clientId: CLIENT.id, secretHash: await hashPassword(CLIENT.secret), permissions: { users: 'r', sessions: 'r' } }],
  }
  const upstream = await startRecordingUpstream()
  try {
    const th = await startTestGatehouse(
      {
        upstream: { url: upstream.url, timeoutMs: 3000, connectTimeoutMs: 1000 },
        apis: [
          { name: 'users', prefixes: ['/api/v1/users'] },
          { name: 'sessions', prefixes: ['/api/v1/sessions'] },
        ],
        unmatched: 'deny',
        issuer: { prefix: PREFIX, usersFile: './users.yaml', clientsFile: './clients.yaml' },
      },
      { files: { 'users.yaml': stringify(users), 'clients.yaml': stringify(clients) } },
    )
    return { upstream, th }
  } catch (err) {
    await upstream.close()
    throw err
  }
}

async function stop(s: Setup | undefined): Promise<void> {
  if (!s) return
  await s.th.close()
  await s.upstream.close()
}

test('the OpenAPI document names BasicAuth and ApiKeyAuth, no unused scheme, and every SPEC §6 endpoint', { timeout: 30_000 }, async () => {
  let s: Setup | undefined
  try {
    s = await start()
    const res = await fetch(`${s.th.url}${PREFIX}/openapi.json`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
    const doc = (await res.json()) as OpenApi
    assert.match(doc.openapi, /^3\./)

    const schemes = doc.components?.securitySchemes ?? {}
    assert.deepEqual(pick(schemes.BasicAuth, ['type', 'scheme']), { type: 'http', scheme: 'basic' })
    // No operation here takes a JWT, so no bearer scheme is declared (redocly no-unused-components).
    assert.equal(schemes.BearerAuth, undefined)
    assert.deepEqual(pick(schemes.ApiKeyAuth, ['type', 'in', 'name']), { type: 'apiKey', in: 'header', name: 'X-API-Key' })

    for (const [method, p] of SPEC_6_ENDPOINTS) {
      const op = doc.paths[PREFIX + p]?.[method]
      assert.ok(op, `${method.toUpperCase()} ${PREFIX}${p} is missing from the OpenAPI document`)
      // Every scheme an operation names must exist, or the Authorize dialog cannot offer it.
      for (const requirement of op.security ?? []) {
        for (const name of Object.keys(requirement)) assert.ok(schemes[name], `${method} ${p} names unknown scheme ${name}`)
      }
    }
    // Paths are absolute (prefix included) and the one server is relative: "Try it out" calls this origin.
    assert.deepEqual(doc.servers, [{ url: '/', description: 'this Gatehouse' }])

    // The other two rows of the table: the page and the document are served to anyone.
    const page = await fetch(`${s.th.url}${PREFIX}/docs`)
    assert.equal(page.status, 200)
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
    assert.match(await page.text(), /swagger-ui/)
  } finally {
    await stop(s)
  }
})

/** The media types an answer of `status` to `method path` may have per the document; [] when the status is not documented. */
function documented(doc: OpenApi, method: string, p: string, status: number): string[] {
  const response = doc.paths[PREFIX + p]?.[method]?.responses?.[String(status)]
  return response ? Object.keys(response.content ?? {}) : []
}

test('every answer in the OpenAPI document says what it is (no "Default Response"); errors are problem+json or, on /oauth/*, RFC 6749 §5.2 JSON', { timeout: 30_000 }, async () => {
  let s: Setup | undefined
  try {
    s = await start()
    const doc = (await (await fetch(`${s.th.url}${PREFIX}/openapi.json`)).json()) as OpenApi
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops ?? {})) {
        const statuses = Object.keys(op?.responses ?? {})
        assert.ok(statuses.includes('500'), `${method} ${p} documents 500`)
        for (const status of statuses) {
          const r = op?.responses?.[status]
          assert.ok(r?.description && r.description !== 'Default Response', `${method} ${p} ${status}: "${r?.description}"`)
          if (Number(status) < 400) continue
          const types = Object.keys(r.content ?? {})
          const expected = p.includes('/oauth/') && ['400', '401', '429'].includes(status) ? 'application/json' : 'application/problem+json'
          assert.deepEqual(types, [expected], `${method} ${p} ${status}`)
        }
      }
    }
  } finally {
    await stop(s)
  }
})

test('each error the service really answers is documented for its route with that status and media type', { timeout: 30_000 }, async () => {
  let s: Setup | undefined
  try {
    s = await start()
    const base = s.th.url
    const doc = (await (await fetch(`${base}${PREFIX}/openapi.json`)).json()) as OpenApi
    const basic = `Basic ${Buffer.from(`${ALICE.name}:${ALICE.password}`).toString('base64')}`
    const json = { authorization: basic, 'content-type': 'application/json' }
    const client = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}-wrong`).toString('base64')}`
    const goodClient = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`
    const form = { 'content-type': 'application/x-www-form-urlencoded' }
    // [method, documented path, request path, init, status the SPEC/README gives]
    const cases: [string, string, string, RequestInit, number][] = [
      ['post', '/v1/auth/jwt', '/v1/auth/jwt', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"permissions":{"users":"r"}}' }, 401],
      ['post', '/v1/auth/jwt', '/v1/auth/jwt', { method: 'POST', headers: json, body: '{"permissions":{"users":"rx"}}' }, 400],
      ['post', '/v1/auth/jwt', '/v1/auth/jwt', { method: 'POST', headers: json, body: '{"permissions":{"sessions":"rw"}}' }, 403],
      ['post', '/v1/auth/jwt', '/v1/auth/jwt', { method: 'POST', headers: { authorization: basic, 'content-type': 'application/xml' }, body: '<a/>' }, 415],
      ['post', '/v1/auth/jwt', '/v1/auth/jwt', { method: 'POST', headers: json, body: `{"x":"${'a'.repeat(70 * 1024)}"}` }, 413],
      ['post', '/v1/auth/apikeys', '/v1/auth/apikeys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"permissions":{"users":"r"}}' }, 401],
      ['patch', '/v1/auth/apikeys/{id}', '/v1/auth/apikeys/AAAAAAAAAAAA', { method: 'PATCH', headers: json, body: '{"enabled":false}' }, 404],
      ['post', '/oauth/token', '/oauth/token', { method: 'POST', headers: { ...form, authorization: client }, body: 'grant_type=client_credentials' }, 401],
      ['post', '/oauth/token', '/oauth/token', { method: 'POST', headers: { ...form, authorization: goodClient }, body: 'grant_type=password&username=a&password=b' }, 400],
      ['post', '/oauth/token', '/oauth/token', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<a/>' }, 415],
      ['get', '/v1/auth/token-info', '/v1/auth/token-info?token=x', {}, 401],
    ]
    for (const [method, p, target, init, status] of cases) {
      const res = await fetch(`${base}${PREFIX}${target}`, init)
      const body = await res.text()
      assert.equal(res.status, status, `${method} ${target}: ${body}`)
      const media = (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? ''
      assert.ok(documented(doc, method, p, status).includes(media), `${method} ${p} answered ${status} ${media}, documented: ${documented(doc, method, p, status).join(', ') || 'nothing'}`)
      if (media === 'application/problem+json') assert.equal((JSON.parse(body) as { status?: number }).status, status)
    }
  } finally {
    await stop(s)
  }
})

test('what "Try it out" sends unedited works: the JSON examples, and the OAuth form with its empty fields', { timeout: 30_000 }, async () => {
  let s: Setup | undefined
  try {
    s = await start()
    const doc = (await (await fetch(`${s.th.url}${PREFIX}/openapi.json`)).json()) as OpenApi
    const basic = `Basic ${Buffer.from(`${ALICE.name}:${ALICE.password}`).toString('base64')}`
    // Swagger UI pre-fills the body with the example; a generated one ("expires": "string") would be a 400.
    for (const [p, status] of [['/v1/auth/jwt', 200], ['/v1/auth/apikeys', 201]] as const) {
      const example = doc.paths[PREFIX + p]?.post?.requestBody?.content?.['application/json']?.example
      assert.ok(example, `POST ${p} has a request example`)
      const r = await fetch(`${s.th.url}${PREFIX}${p}`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: JSON.stringify(example),
      })
      assert.equal(r.status, status, `POST ${p} with its example: ${await r.text()}`)
    }
    // Swagger UI sends every field of a form, empty ones too, beside the ClientBasicAuth header.
    // RFC 6749 §3.2: a parameter without a value is treated as omitted, so this is neither
    // "credentials in both places" nor an empty scope that grants nothing.
    const r = await fetch(`${s.th.url}${PREFIX}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=&client_id=&client_secret=',
    })
    const body = (await r.json()) as { scope?: string }
    assert.equal(r.status, 200, JSON.stringify(body))
    assert.equal(body.scope, 'sessions:r users:r')
  } finally {
    await stop(s)
  }
})

test(
  'in headless Chromium, Swagger UI authorises as alice with BasicAuth and "Try it out" issues a JWT the proxy accepts',
  { skip: chromiumTool.skip, timeout: 60_000 },
  async (t: TestContext) => {
    const executablePath = chromiumTool.require()
    let s: Setup | undefined
    let browser: BrowserContext | undefined
    let page: Page | undefined
    const profile = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-chromium-'))
    try {
      s = await start()
      const base = s.th.url
      // A fresh user-data dir: no cached page, cookie or saved authorisation from an earlier run.
      browser = await chromium.launchPersistentContext(profile, {
        executablePath,
        args: CHROMIUM_ARGS,
        headless: true,
        viewport: { width: 1280, height: 1000 },
        timeout: 20_000,
      })
      page = browser.pages()[0] ?? (await browser.newPage())
      page.setDefaultTimeout(15_000)
      const failures: string[] = []
      page.on('pageerror', (err) => failures.push(`page error: ${err.message}`))
      page.on('requestfailed', (r) => failures.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`))

      await page.goto(`${base}${PREFIX}/docs`)
      // The UI found its spec: the title and the operations are rendered from it.
      await page.locator('.info .title').filter({ hasText: 'Gatehouse token service' }).waitFor()
      await operation(page, 'post', `${PREFIX}/v1/auth/jwt`).waitFor()
      // The service's own page: its title in the tab, no framework top bar or logo.
      assert.equal(await page.title(), 'Gatehouse token service')
      assert.equal(await page.locator('.topbar').count(), 0, 'no Swagger/Fastify top bar')
      assert.equal(await page.locator('img[src*="logo"], .topbar-wrapper svg').count(), 0, 'no framework logo')

      // Authorize: the dialog offers the schemes; fill BasicAuth with alice.
      await page.locator('.auth-wrapper button.authorize').click()
      const dialog = page.locator('.modal-ux')
      await dialog.waitFor()
      const offered = await dialog.locator('.auth-container h4 code').allInnerTexts()
      for (const name of ['BasicAuth', 'ApiKeyAuth', 'ClientBasicAuth']) assert.ok(offered.includes(name), `Authorize offers ${offered.join(', ')}`)
      const basic = dialog.locator('.auth-container').filter({ has: page.locator('h4 code', { hasText: /^BasicAuth$/ }) })
      await basic.locator('input[name=username]').fill(ALICE.name)
      await basic.locator('input[name=password]').fill(ALICE.password)
      await basic.getByRole('button', { name: 'Apply credentials' }).click()
      // Once applied, the form turns into "Logout" and shows the user name.
      await basic.getByRole('button', { name: 'Remove authorization' }).waitFor()
      await dialog.getByRole('button', { name: 'Close' }).first().click()
      await dialog.waitFor({ state: 'detached' })

      // Try it out on POST /v1/auth/jwt with our body, then Execute.
      const op = operation(page, 'post', `${PREFIX}/v1/auth/jwt`)
      await op.locator('.opblock-summary').click()
      // The documented answers, errors included, each with what it means.
      const documentedRows = op.locator('.responses-wrapper .responses-table').first().locator('tr.response')
      await documentedRows.first().waitFor()
      const codes = (await documentedRows.locator('.response-col_status').allInnerTexts()).map((c) => c.trim())
      for (const code of ['200', '400', '401', '403', '429']) assert.ok(codes.includes(code), `documented: ${codes.join(' ')}`)
      assert.ok(!(await op.innerText()).includes('Default Response'), 'no "Default Response"')
      await op.getByRole('button', { name: 'Try it out' }).click()
      await op.locator('textarea.body-param__text').fill('{"permissions":{"users":"r"}}')
      const sent = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`${PREFIX}/v1/auth/jwt`))
      await op.getByRole('button', { name: 'Execute' }).click()
      const request = await sent
      assert.equal(request.url(), `${base}${PREFIX}/v1/auth/jwt`, 'Try it out calls the token service on this origin')
      assert.equal(
        request.headers().authorization,
        `Basic ${Buffer.from(`${ALICE.name}:${ALICE.password}`).toString('base64')}`,
        'the BasicAuth credentials from the Authorize dialog are sent',
      )

      // The response panel: status 200 and a JSON body with the token.
      const row = op.locator('.live-responses-table tbody tr.response').first()
      await row.waitFor()
      assert.equal((await row.locator('.response-col_status').innerText()).trim(), '200', await row.innerText())
      const body = JSON.parse(await row.locator('.highlight-code pre').first().innerText()) as { token?: unknown; tokenType?: unknown }
      assert.equal(body.tokenType, 'Bearer')
      const token = body.token
      assert.equal(typeof token, 'string')
      const parts = (token as string).split('.')
      assert.equal(parts.length, 3, 'a compact JWS')
      const header = decodePart(parts[0]) as { typ?: string; kid?: string }
      const claims = decodePart(parts[1]) as { sub?: string; permissions?: unknown }
      assert.equal(header.typ, 'at+jwt')
      assert.ok(header.kid)
      assert.equal(claims.sub, ALICE.name)
      assert.deepEqual(claims.permissions, { users: 'r' })
      assert.deepEqual(failures, [])

      // The proxy accepts it: GET reaches the upstream as alice; a write needs rw, which it lacks.
      const seenBefore = s.upstream.requests.length
      const ok = await fetch(`${base}/api/v1/users`, { headers: { authorization: `Bearer ${token as string}` } })
      assert.equal(ok.status, 200, await ok.text())
      assert.equal(s.upstream.requests.length, seenBefore + 1)
      const seen = s.upstream.requests.at(-1)
      assert.equal(seen?.headers['x-auth-user'], ALICE.name)
      assert.equal(seen?.headers['x-auth-method'], 'jwt')
      assert.equal(seen?.headers['x-auth-permissions'], 'users:r')
      const write = await fetch(`${base}/api/v1/users`, { method: 'POST', headers: { authorization: `Bearer ${token as string}` } })
      assert.equal(write.status, 403)
      await write.text()
    } catch (err) {
      // Leave a picture of the page for whoever reads the failure.
      if (page) {
        const shots = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-docs-failure-'))
        const file = path.join(shots, 'swagger-ui.png')
        try {
          await page.screenshot({ path: file, fullPage: true, timeout: 5_000 })
          await writeFile(path.join(shots, 'page.html'), await page.content())
          t.diagnostic(`screenshot of the failing page: ${file}`)
          if (err instanceof Error) err.message += `\n(screenshot: ${file})`
        } catch (shotErr) {
          t.diagnostic(`no screenshot: ${(shotErr as Error).message}`)
        }
      }
      throw err
    } finally {
      await browser?.close().catch(() => {})
      await rm(profile, { recursive: true, force: true })
      await stop(s)
    }
  },
)

/** One operation block of Swagger UI, by method and exact path. */
function operation(page: Page, method: string, fullPath: string): Locator {
  const exact = new RegExp(`^${fullPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`)
  return page.locator(`.opblock.opblock-${method}`).filter({ has: page.locator('.opblock-summary-path', { hasText: exact }) })
}

function decodePart(part: string | undefined): unknown {
  return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'))
}

function pick(o: Record<string, unknown> | undefined, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o?.[k]]))
}

interface OpenApi {
  openapi: string
  servers?: unknown
  components?: { securitySchemes?: Record<string, Record<string, unknown>> }
  paths: Record<string, Record<string, Operation | undefined> | undefined>
}

interface Operation {
  security?: Record<string, string[]>[]
  responses?: Record<string, { description?: string; content?: Record<string, unknown> } | undefined>
  requestBody?: { content?: Record<string, { example?: unknown } | undefined> }
}
