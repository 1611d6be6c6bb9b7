// The README's "Your identity provider" recipes (SPEC §9): each example file in
// deploy/examples/idp/ is loaded as written, passes check-config, and then runs in
// front of a recording upstream with token shapes of that provider signed by a test
// key. The one change made to the file's issuer entry is its key source: the test
// cannot reach the real provider, so `discovery: true` becomes a publicKeyFile
// holding the test key's JWKS. Everything else (issuer, audience, algorithms,
// userClaim, maxLifetime, permissions, claimHeaders, apis) is the file's.
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { checkConfig } from '../../src/cli/check-config.js'
import { loadConfigFile } from '../../src/config/load.js'
import { jwksOf, makeKeyPair, mintJwt, type TestKey } from '../support/mint.js'
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js'
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js'
import { IDP_RECIPES } from '../vectors/idp-tokens.js'

const EXAMPLES = path.resolve(import.meta.dirname, '../../deploy/examples/idp')

function sink() {
  let text = ''
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString()
      cb()
    },
  })
  return { stream, text: () => text }
}

/** The example as written, but its issuer's key source is the test key's JWKS file, and it listens on loopback. */
async function runnable(file: string, patch: Record<string, unknown> = {}) {
  const loaded = await loadConfigFile(path.join(EXAMPLES, file))
  if (!loaded.ok) assert.fail(JSON.stringify(loaded.problems))
  const { listen: _l, admin: _a, store: _s, ...config } = structuredClone(loaded.value.config)
  const [entry, ...rest] = config.jwt.issuers
  assert.ok(entry && entry.discovery === true && rest.length === 0, 'the recipe has one issuer, with discovery')
  const { discovery: _d, ...asWritten } = entry
  const issuers = [{ ...asWritten, publicKeyFile: 'idp.jwks.json', ...patch }]
  return {
    issuer: entry.issuer,
    start: () =>
      startTestGatehouse({ ...config, upstream: { url: upstream.url }, jwt: { ...config.jwt, issuers } }, { files: { 'idp.jwks.json': JSON.stringify(jwksOf(key)) } }),
  }
}

let upstream: RecordingUpstream
let key: TestKey
before(async () => {
  upstream = await startRecordingUpstream()
  key = await makeKeyPair('RS256', 'idp-test-key')
})
after(() => upstream.close())

for (const recipe of IDP_RECIPES) {
  describe(`recipe ${recipe.file}`, () => {
    let gh: TestGatehouse
    let issuer: string
    before(async () => {
      const run = await runnable(recipe.file)
      issuer = run.issuer
      gh = await run.start()
    })
    after(() => gh.close())

    test('check-config accepts the file as written', async () => {
      const out = sink()
      const err = sink()
      assert.equal(await checkConfig(path.join(EXAMPLES, recipe.file), out.stream, err.stream), 0, err.text())
    })

    for (const c of recipe.cases) {
      test(`${c.name}: ${c.status}`, async () => {
        const now = Math.floor(Date.now() / 1000)
        const token = await mintJwt({ iat: now, exp: now + (c.lifetimeSeconds ?? 600), ...c.claims }, key, c.header ?? {})
        const seen = upstream.requests.length
        const res = await fetch(`${gh.url}${c.path ?? '/api/v1/users/7'}`, {
          method: c.method ?? 'GET',
          headers: { authorization: `Bearer ${token}`, 'x-auth-groups': 'spoofed', 'x-auth-email': 'spoofed@example.com' },
        })
        await res.arrayBuffer()
        assert.equal(res.status, c.status)
        if (c.status !== 200) {
          assert.equal(upstream.requests.length, seen, 'a refused request never reaches the upstream')
          return
        }
        const forwarded = upstream.requests.at(-1)
        assert.ok(forwarded && upstream.requests.length === seen + 1)
        assert.equal(forwarded.headers['x-auth-issuer'], issuer)
        for (const [name, value] of Object.entries(c.headers ?? {})) {
          assert.equal(forwarded.headers[name], value ?? undefined, name)
        }
        // Callers' copies of claim headers are stripped: either ours or none arrives.
        assert.notEqual(forwarded.headers['x-auth-groups'], 'spoofed')
        assert.notEqual(forwarded.headers['x-auth-email'], 'spoofed@example.com')
      })
    }
  })
}

test('google.yaml: with requiredType at+jwt (how an access-token IdP is set up), the ID token is refused', async () => {
  const gh = await (await runnable('google.yaml', { requiredType: 'at+jwt' })).start()
  try {
    const now = Math.floor(Date.now() / 1000)
    const idToken = await mintJwt(
      { iss: 'https://accounts.google.com', aud: 'https://legacy-api.shop.example', sub: '1098', email: 'batch@shop-project.iam.gserviceaccount.com', iat: now, exp: now + 3600 },
      key,
      { typ: 'JWT' },
    )
    const seen = upstream.requests.length
    const res = await fetch(`${gh.url}/api/v1/users`, { headers: { authorization: `Bearer ${idToken}` } })
    assert.equal(res.status, 401)
    assert.equal(upstream.requests.length, seen)
  } finally {
    await gh.close()
  }
})

