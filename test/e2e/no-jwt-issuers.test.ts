// A config without jwt.issuers and without the token service: the JWT verifier loads
// only when a token first arrives (issue 17), and every token is still refused
// (SPEC §3.5: a JWT of an issuer that is not configured is 401 token_invalid, one that
// is not a compact JWS 401 credential_malformed), with nothing reaching the upstream.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { presets, startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js'
import { request } from '../support/http.js'
import { makeKeyPair, mintJwt } from '../support/mint.js'
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js'

let upstream: RecordingUpstream
let gh: TestGatehouse
before(async () => {
  upstream = await startRecordingUpstream()
  gh = await startTestGatehouse(presets.proxy(upstream.url, [{ name: 'users', prefixes: ['/api/v1/users'] }]))
})
after(async () => {
  await gh.close()
  await upstream.close()
})

async function refusedWith(token: string, reason: string): Promise<void> {
  const before = upstream.requests.length
  const res = await request(`${gh.url}/api/v1/users`, { headers: { authorization: `Bearer ${token}` } })
  assert.equal(res.status, 401, res.text)
  assert.equal((res.json as { type?: string }).type, `https://gatehouse.dev/problems/${reason}`)
  assert.ok(!res.text.includes(token), 'the answer echoes the token')
  assert.equal(upstream.requests.length, before, 'the upstream saw the request')
}

test('a signed JWT is 401 token_invalid when no issuer is configured', async () => {
  const key = await makeKeyPair('RS256', 'k-1')
  const now = Math.floor(Date.now() / 1000)
  const token = await mintJwt({ iss: 'https://idp.test', sub: 'alice', iat: now, exp: now + 300, permissions: { users: 'rw' } }, key)
  await refusedWith(token, 'token_invalid')
  // The second token meets the verifier already loaded.
  await refusedWith(token, 'token_invalid')
})

test('a bearer that is not a compact JWS is 401 credential_malformed when no issuer is configured', async () => {
  await refusedWith('not.a-jwt', 'credential_malformed')
})
