// Attack catalogue §1 (SECURITY.md) (JWT), every row over a real socket to a real Gatehouse: the
// exact tokens of the catalogue, built by hand, the safe outcome, and "no-U" (the
// recording upstream saw nothing) wherever the row refuses.
import assert from 'node:assert/strict'
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { startTestGatehouse } from '../support/gatehouse.js'
import { startRecordingUpstream } from '../support/recording-upstream.js'
import { rawRequest } from '../support/raw-http.js'
import { jwksOf, makeKeyPair } from '../support/mint.js'
import {
  b64u,
  bearer,
  handMint,
  headerOf,
  HS_ISS,
  HS_SECRET,
  IDP_AUD,
  IDP_ISS,
  OWN_AUD,
  OWN_ISS,
  problemType,
  rawText,
  SERVICE,
  signers,
  startWorld,
  apiKey,
  assertUClean,
  type World,
} from '../support/security-fixture.js'
import type { RawResponse } from '../support/raw-http.js'

let w: World
before(async () => {
  w = await startWorld()
})
after(() => w.close())

/** 401 with the RFC 6750 invalid_token challenge, and no-U. */
async function refused401(token: string, why: string, target = '/api/x'): Promise<RawResponse> {
  const before = w.seen()
  const r = await w.request(target, [bearer(token)])
  assert.equal(r.status, 401, `${why}: ${r.status} ${r.body}`)
  assert.match(headerOf(r, 'www-authenticate') ?? '', /^Bearer realm="gatehouse", error="invalid_token"/, why)
  assert.ok(!r.body.includes(token), `${why}: the token is echoed`)
  assert.equal(w.seen(), before, `${why}: no-U`)
  return r
}

async function accepted(token: string, why: string, target = '/api/x'): Promise<void> {
  const before = w.seen()
  const r = await w.request(target, [bearer(token)])
  assert.equal(r.status, 200, `${why}: ${r.status} ${r.body}`)
  assert.equal(w.seen(), before + 1, why)
}

const sigOf = (token: string): string => token.split('.')[2] as string
const headerPayload = (token: string): string => token.split('.').slice(0, 2).join('.')

describe('attack catalogue §1 JWT', () => {
  test('control: T1, Tidp and the HS issuer token are accepted, and U-clean', async () => {
    await accepted(w.T1(), 'T1')
    assertUClean(w.lastSeen(), 'alice', 'api:rw pub:r')
    await accepted(w.Tidp(), 'Tidp')
    assertUClean(w.lastSeen(), 'bob', 'api:r')
    await accepted(w.hs(), 'hs')
  })

  test('#1 alg none: none/None/NONE/nOnE, with an empty signature and with T1\'s old signature, are 401 no-U', async () => {
    const headers = [
      'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0',
      'eyJhbGciOiJOb25lIiwidHlwIjoiSldUIn0',
      'eyJhbGciOiJOT05FIiwidHlwIjoiSldUIn0',
      'eyJhbGciOiJuT25FIiwidHlwIjoiSldUIn0',
    ]
    const payload = b64u(w.B())
    const oldSig = sigOf(w.T1())
    for (const h of headers) {
      await refused401(`${h}.${payload}.`, `${h} empty signature`)
      await refused401(`${h}.${payload}.${oldSig}`, `${h} with T1's signature`)
    }
  })

  test('#2 signature stripping: h.p., a truncated signature, and an exp:0 token with a bad signature fail as signature, not expiry', async () => {
    const t1 = w.T1()
    await refused401(`${headerPayload(t1)}.`, 'h.p.')
    await refused401(t1.slice(0, -4), 'last 4 signature characters removed')
    const expired = w.T1({ exp: 0 })
    const bad = `${headerPayload(expired)}.${sigOf(w.T1())}`
    const r = await refused401(bad, 'exp:0 with a bad signature')
    assert.equal(problemType(r), 'token_invalid', 'verified before claims: never "expired"')
    assert.match(r.body, /signature/)
  })

  test('#3 blank and weak HMAC secrets are 401; P refuses to start with an HS256 secret under 32 bytes', async () => {
    await refused401(handMint({ alg: 'HS256', kid: 'own-hs' }, w.B(), signers.hs256('')), 'own issuer, HS256 with ""')
    // ticarpi/jwt_tool jwt-common.txt, the first entries.
    const common = ['', 'secret', 'password', 'your-256-bit-secret', '123456', 'changeme', 'key', 'jwt', 'test', 'admin', 'secretkey', 'qwerty', 'default']
    for (const s of common) {
      await refused401(handMint({ alg: 'HS256', typ: 'JWT' }, w.B(), signers.hs256(s)), `own issuer, secret ${JSON.stringify(s)}`)
      await refused401(
        handMint({ alg: 'HS256', typ: 'JWT' }, { iss: HS_ISS, sub: 'x', exp: w.now() + 300, permissions: { api: 'rw' } }, signers.hs256(s)),
        `HS issuer, secret ${JSON.stringify(s)}`,
      )
    }
    await assert.rejects(
      startTestGatehouse(
        { upstream: { url: 'http://127.0.0.1:9' }, jwt: { issuers: [{ issuer: 'weak', secretEnv: 'GH_WEAK', algorithms: ['HS256'] }] } },
        { env: { ...process.env, GH_WEAK: 'your-256-bit-secret' } },
      ),
      (err: Error & { exitCode?: number }) => err.exitCode === 1 && /at least 32/.test(err.message),
    )
  })

  test('#4 RS->HS key confusion: HS256 under the RSA kid, keyed with the PEM (every spelling), DER, JWK, JWKS and modulus, is 401', async () => {
    const pem = w.ownPublicPem
    const jwksText = (await w.request(`${SERVICE}/.well-known/jwks.json`)).body
    const jwk = (JSON.parse(jwksText) as { keys: { n: string; kid: string }[] }).keys.find((k) => k.kid === w.ownKid)
    assert.ok(jwk)
    const der = createPublicKey(pem).export({ type: 'spki', format: 'der' })
    const secrets: [string, string | Buffer][] = [
      ['exact PEM', pem],
      ['PEM without trailing newline', pem.trimEnd()],
      ['PEM with a leading space', ` ${pem}`],
      ['PEM with a leading newline', `\n${pem}`],
      ['PEM with a BOM', `\ufeff${pem}`],
      ['DER SPKI', der],
      ['the JWK JSON', JSON.stringify(jwk)],
      ['the JWKS served by P', jwksText],
      ['raw modulus n', Buffer.from(jwk.n, 'base64url')],
      ['modulus n as text', jwk.n],
    ]
    for (const [what, secret] of secrets) {
      await refused401(handMint({ alg: 'HS256', kid: w.ownKid, typ: 'at+jwt' }, w.B(), signers.hs256(secret)), `own key: ${what}`)
    }
    // The IdP's EC and RSA keys, by their kids.
    for (const key of [w.idpEs, w.idpRs]) {
      await refused401(
        handMint({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' }, { iss: IDP_ISS, aud: IDP_AUD, sub: 'bob', exp: w.now() + 300, scope: 'api.read' }, signers.hs256(key.publicPem)),
        `IdP ${key.kid} PEM`,
      )
    }
  })

  test('#5 alg/key mismatch: PS256, RS512, ES384, HS256 re-signing, and rs256 / "RS256 " / "" / null / missing are 401', async () => {
    await refused401(handMint({ alg: 'PS256', kid: w.ownKid, typ: 'at+jwt' }, w.B(), signers.ps256(w.ownKey)), 'RS256 key as PS256')
    await refused401(handMint({ alg: 'RS512', kid: w.ownKid, typ: 'at+jwt' }, w.B(), signers.rs512(w.ownKey)), 'RS256 key as RS512')
    const idpEs = createPrivateKey(w.idpEs.privatePem)
    const idpClaims = { iss: IDP_ISS, aud: IDP_AUD, sub: 'bob', exp: w.now() + 300, scope: 'api.read' }
    await refused401(handMint({ alg: 'ES384', kid: 'idp-es', typ: 'at+jwt' }, idpClaims, signers.es256(idpEs)), 'ES256 key as ES384')
    await refused401(handMint({ alg: 'HS256', kid: 'idp-es', typ: 'at+jwt' }, idpClaims, signers.hs256(w.idpEs.publicPem)), 'IdP token re-signed HS256')
    for (const alg of ['rs256', 'RS256 ', '', null, undefined]) {
      const header: Record<string, unknown> = { kid: w.ownKid, typ: 'at+jwt' }
      if (alg !== undefined) header.alg = alg
      await refused401(handMint(header, w.B(), signers.rs256(w.ownKey)), `alg ${JSON.stringify(alg)}`)
    }
  })

  test('#7 ECDSA encoding: the genuine ES256 signature as ASN.1 DER, 63 and 65 bytes, is 401 (R‖S only)', async () => {
    const key = createPrivateKey(w.idpEs.privatePem)
    const header = { alg: 'ES256', kid: 'idp-es', typ: 'at+jwt' }
    const claims = { iss: IDP_ISS, aud: IDP_AUD, sub: 'bob', exp: w.now() + 300, scope: 'api.read' }
    const good = handMint(header, claims, signers.es256(key))
    await accepted(good, 'the genuine P1363 signature')
    await refused401(handMint(header, claims, signers.es256(key, 'der')), 'DER-encoded signature')
    const raw = Buffer.from(sigOf(good), 'base64url')
    await refused401(`${headerPayload(good)}.${raw.subarray(0, 63).toString('base64url')}`, '63 bytes')
    await refused401(`${headerPayload(good)}.${Buffer.concat([raw, Buffer.from([0])]).toString('base64url')}`, '65 bytes')
  })

  test('#8 an embedded jwk is never used: RS256 under our kid signed with the attacker key it carries is 401', async () => {
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const jwk = attacker.publicKey.export({ format: 'jwk' })
    await refused401(handMint({ alg: 'RS256', kid: w.ownKid, typ: 'at+jwt', jwk }, w.B(), signers.rs256(attacker.privateKey)), 'own kid')
    await refused401(
      handMint({ alg: 'RS256', kid: 'idp-rs', typ: 'at+jwt', jwk }, { iss: IDP_ISS, aud: IDP_AUD, sub: 'bob', exp: w.now() + 300, scope: 'api.write' }, signers.rs256(attacker.privateKey)),
      'IdP kid',
    )
    await refused401(handMint({ alg: 'RS256', typ: 'at+jwt', jwk }, w.B(), signers.rs256(attacker.privateKey)), 'no kid at all')
  })

  test('#10 x5c: an attacker self-signed certificate with a matching signature is 401', async () => {
    const key = createPrivateKey(ATTACKER_EC_KEY)
    const claims = { iss: IDP_ISS, aud: IDP_AUD, sub: 'bob', exp: w.now() + 300, scope: 'api.write' }
    await refused401(handMint({ alg: 'ES256', typ: 'at+jwt', x5c: [ATTACKER_CERT_DER_B64] }, claims, signers.es256(key)), 'x5c, no kid')
    await refused401(handMint({ alg: 'ES256', kid: 'idp-es', typ: 'at+jwt', x5c: [ATTACKER_CERT_DER_B64] }, claims, signers.es256(key)), 'x5c with the IdP kid')
  })

  test('#11 kid injection (path, SQL, shell, URL) is 401 at normal latency, and L sees no connection', async () => {
    const L = `127.0.0.1:${w.L.port}`
    const kids: [string, string][] = [
      ['../../../../../../dev/null', ''],
      ['/dev/null', ''],
      ["x' UNION SELECT '1';--", '1'],
      ['|sleep 10', ''],
      [`$(curl http://${L}/)`, ''],
      [`http://${L}/key`, ''],
    ]
    const attackerEc = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    for (const [kid, key] of kids) {
      for (const [label, token] of [
        ['own issuer', handMint({ alg: 'HS256', kid }, w.B(), signers.hs256(key))],
        ['HS issuer', handMint({ alg: 'HS256', kid }, { iss: HS_ISS, sub: 'x', exp: w.now() + 300 }, signers.hs256(key))],
        ['JWKS issuer', handMint({ alg: 'ES256', kid, typ: 'at+jwt' }, { iss: IDP_ISS, aud: IDP_AUD, sub: 'x', exp: w.now() + 300 }, signers.es256(attackerEc))],
      ] as const) {
        const t0 = performance.now()
        await refused401(token, `${label} kid ${kid}`)
        assert.ok(performance.now() - t0 < 2000, `${label} kid ${kid}: answered in ${Math.round(performance.now() - t0)} ms`)
      }
    }
    assert.equal(w.L.connections(), 0, 'L=0')
  })

  test('#12 kid of every type and shape (0, null, [], {}, "", __proto__, constructor, toString, a removed key) is 401, never 500; a 60 KB kid is 431', async () => {
    const idpEs = createPrivateKey(w.idpEs.privatePem)
    const claims = { iss: IDP_ISS, aud: IDP_AUD, sub: 'bob', exp: w.now() + 300, scope: 'api.read' }
    for (const kid of [0, null, [], {}, '', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      await refused401(handMint({ alg: 'ES256', kid, typ: 'at+jwt' }, claims, signers.es256(idpEs)), `IdP kid ${JSON.stringify(kid)}`)
      await refused401(handMint({ alg: 'RS256', kid, typ: 'at+jwt' }, w.B(), signers.rs256(w.ownKey)), `own kid ${JSON.stringify(kid)}`)
    }
    const before = w.seen()
    const huge = await w.request('/api/x', [bearer(handMint({ alg: 'ES256', kid: 'k'.repeat(60_000), typ: 'at+jwt' }, claims, signers.es256(idpEs)))])
    assert.equal(huge.status, 431)
    assert.equal(w.seen(), before)
    // A kid removed from the IdP's set: refused once the set is refreshed.
    const removed = await makeKeyPair('ES256', 'idp-removed')
    w.I.setKeys(jwksOf(w.idpEs, w.idpRs, removed))
    await w.P.gh.runtime().jwt.refreshNow()
    const byRemoved = handMint({ alg: 'ES256', kid: 'idp-removed', typ: 'at+jwt' }, claims, signers.es256(createPrivateKey(removed.privatePem)))
    await accepted(byRemoved, 'while the key is published')
    w.I.setKeys(jwksOf(w.idpEs, w.idpRs))
    await w.P.gh.runtime().jwt.refreshNow()
    await refused401(byRemoved, 'the kid of a removed key')
  })

  test('#14 foreign privileged claims (scopes, act, roles) grant nothing: /api/admin is 403, U-clean on an allowed path', async () => {
    const t = w.Tidp({ scopes: 'rw:/api/admin', act: { sub: 'carol' }, roles: ['admin'], admin: true })
    const before = w.seen()
    const r = await w.request('/api/admin', [bearer(t)])
    assert.equal(r.status, 403)
    assert.equal(problemType(r), 'permission_insufficient')
    assert.equal(w.seen(), before)
    await accepted(t, 'the same token where its scopeMap grants r', '/api/x')
    // Only scopeMap decides (capped by bob's users-file entry, api:r); X-Auth-User is the verified sub.
    assertUClean(w.lastSeen(), 'bob', 'api:r')
  })

  test('#15 crit: an unknown critical member, crit:[], crit:"b64", crit:["alg"] and crit naming an absent member are 401', async () => {
    const claims = { iss: HS_ISS, sub: 'hs-user', exp: w.now() + 300, permissions: { api: 'rw' } }
    const exact = 'eyJhbGciOiJIUzI1NiIsImNyaXQiOlsieC1tdXN0LXVuZGVyc3RhbmQiXSwieC1tdXN0LXVuZGVyc3RhbmQiOjF9'
    assert.equal(b64u({ alg: 'HS256', crit: ['x-must-understand'], 'x-must-understand': 1 }), exact)
    await refused401(handMint({ alg: 'HS256', crit: ['x-must-understand'], 'x-must-understand': 1 }, claims, signers.hs256(HS_SECRET)), 'the exact header')
    for (const crit of [[], 'b64', ['alg'], ['x-absent']]) {
      await refused401(handMint({ alg: 'HS256', crit }, claims, signers.hs256(HS_SECRET)), `crit ${JSON.stringify(crit)}`)
    }
    await accepted(handMint({ alg: 'HS256' }, claims, signers.hs256(HS_SECRET)), 'control: the same token without crit')
  })

  test('#16 b64:false with crit (RFC 7797) is 401; b64:false without crit is an ordinary token', async () => {
    const claims = { iss: HS_ISS, sub: 'hs-user', exp: w.now() + 300, permissions: { api: 'rw' } }
    const header = 'eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19'
    const payload = JSON.stringify(claims)
    const sig = signers.hs256(HS_SECRET)(Buffer.from(`${header}.${payload}`, 'utf8')).toString('base64url')
    await refused401(`${header}.${payload}.${sig}`, 'unencoded payload in the compact form')
    await refused401(`${header}.${b64u(payload)}.${sig}`, 'the same signature over a base64url payload')
    await refused401(`${header}..${sig}`, 'detached payload')
    await accepted(handMint({ alg: 'HS256', b64: false }, claims, signers.hs256(HS_SECRET)), 'b64:false without crit')
  })

  test('#17 compact JWE (dir, PBES2 with p2c 2^31-1, RSA-OAEP with a zip bomb) is 401 at once; nothing is decrypted', async () => {
    const parts = (h: unknown) => `${b64u(h)}.${b64u(Buffer.alloc(32))}.${b64u(Buffer.alloc(12))}.${b64u(Buffer.alloc(1024, 0x78))}.${b64u(Buffer.alloc(16))}`
    for (const h of [
      { alg: 'dir', enc: 'A256GCM' },
      { alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', p2c: 2147483647, p2s: 'AAAAAAAAAAA' },
      { alg: 'RSA-OAEP', enc: 'A256GCM', zip: 'DEF' },
    ]) {
      const t0 = performance.now()
      const r = await refused401(parts(h), `JWE ${h.alg}`)
      assert.equal(problemType(r), 'credential_malformed')
      assert.ok(performance.now() - t0 < 250, `${h.alg}: ${Math.round(performance.now() - t0)} ms`)
    }
    const logged = w.P.logs().filter((l) => l.reason === 'credential_malformed').slice(-3)
    for (const l of logged) assert.ok((l.durationMs as number) < 50, `decided in ${String(l.durationMs)} ms`)
  })

  test('#18 nested or non-object payloads (cty JWT, a JSON string, an array) are 401, never unwrapped', async () => {
    const inner = `${b64u({ alg: 'none' })}.${b64u({ iss: OWN_ISS, aud: OWN_AUD, sub: 'carol', exp: w.now() + 300, permissions: { admin: 'rw' } })}.`
    const h = { alg: 'RS256', kid: w.ownKid, typ: 'at+jwt', cty: 'JWT' }
    await refused401(handMint(h, inner, signers.rs256(w.ownKey)), 'cty JWT with an unsigned inner JWT')
    await refused401(handMint(h, w.T1({ sub: 'carol' }), signers.rs256(w.ownKey)), 'cty JWT with a signed inner JWT')
    await refused401(handMint({ ...h, cty: undefined }, JSON.stringify('alice'), signers.rs256(w.ownKey)), 'a JSON string')
    await refused401(handMint({ ...h, cty: undefined }, JSON.stringify([w.B()]), signers.rs256(w.ownKey)), 'a JSON array')
  })

  test('#19 a missing exp is 401, for our own key and for the IdP', async () => {
    await refused401(w.T1({ exp: undefined }), 'own token without exp')
    await refused401(w.Tidp({ exp: undefined }), 'Tidp without exp')
  })

  test('#20 time edges at leeway 30 s: exp and nbf either side of the leeway, exp before nbf', async () => {
    const now = w.now()
    await refused401(w.T1({ exp: now - 30 - 2 }), 'exp = now - L - 2')
    await accepted(w.T1({ exp: now - 30 + 2 }), 'exp = now - L + 2')
    await refused401(w.T1({ nbf: now + 30 + 2 }), 'nbf = now + L + 2')
    await accepted(w.T1({ nbf: now + 30 - 2 }), 'nbf = now + L - 2')
    await refused401(w.T1({ nbf: now + 20, exp: now + 10 }), 'exp < nbf')
  })

  test('#20 time edges at leeway 0: exp = now is 401', async () => {
    const up = await startRecordingUpstream()
    const gh = await startTestGatehouse(
      {
        upstream: { url: up.url },
        apis: [{ name: 'api', prefixes: ['/api'] }],
        jwt: { leewaySeconds: 0, issuers: [{ issuer: HS_ISS, secretEnv: 'GH_CATALOGUE_HS', algorithms: ['HS256'] }] },
      },
      { env: { ...process.env, GH_CATALOGUE_HS: HS_SECRET } },
    )
    try {
      const now = Math.floor(Date.now() / 1000)
      const t = handMint({ alg: 'HS256' }, { iss: HS_ISS, sub: 'x', exp: now, permissions: { api: 'rw' } }, signers.hs256(HS_SECRET))
      const r = await rawRequest(Number(new URL(gh.url).port), rawText('GET', '/api/x', [bearer(t)]))
      assert.equal(r.status, 401)
      assert.equal(up.requests.length, 0)
    } finally {
      await gh.close()
      await up.close()
    }
  })

  test('#23 iss: a trailing slash, upper case, a longer host, arrays and a missing iss are 401 (exact string only)', async () => {
    for (const iss of [`${OWN_ISS}/`, OWN_ISS.toUpperCase(), `${OWN_ISS}.evil.example`, [OWN_ISS], ['evil', OWN_ISS], undefined]) {
      await refused401(w.T1({ iss }), `iss ${JSON.stringify(iss)}`)
    }
  })

  test('#24 aud: ["other", OWN_AUD] is 200; ["other"], [], missing, a trailing space, upper case, {} and 1 are 401', async () => {
    await accepted(w.T1({ aud: ['other', OWN_AUD] }), 'aud list holding ours')
    for (const aud of [['other'], [], undefined, `${OWN_AUD} `, OWN_AUD.toUpperCase(), {}, 1]) {
      await refused401(w.T1({ aud }), `aud ${JSON.stringify(aud)}`)
    }
  })

  test('#25 token-kind confusion: an IdP ID token, typ JWT where at+jwt is required, and an own token of another kind are 401', async () => {
    await refused401(w.Tidp({ aud: 'my-client-id', nonce: 'n-0S6_WzA2Mj', scope: undefined }, { typ: 'JWT' }), 'IdP ID token')
    await refused401(w.Tidp({}, { typ: 'JWT' }), 'IdP access token typed JWT')
    await refused401(w.Tidp({}, { typ: undefined }), 'IdP token without typ')
    await refused401(w.T1({}, { typ: 'JWT' }), 'own token typed JWT')
    await refused401(w.T1({}, { typ: 'refresh+jwt' }), 'own refresh-like token')
  })

  test('#26 malformed compact forms (4 parts, 2 parts, empty parts, standard base64, non-ASCII, %2E, a leading TAB) are 401, never 500', async () => {
    const t1 = w.T1()
    const [h, p, s] = t1.split('.') as [string, string, string]
    const std = t1.replace(/-/g, '+').replace(/_/g, '/')
    assert.notEqual(std, t1, 'the token has - or _ to turn into + or /')
    for (const [what, token] of [
      ['h.p.s.x', `${t1}.x`],
      ['h.p', `${h}.${p}`],
      ['.p.s', `.${p}.${s}`],
      ['h..s', `${h}..${s}`],
      ['standard base64', std],
      ['%2E for .', t1.replaceAll('.', '%2E')],
    ]) {
      await refused401(token as string, what as string)
    }
    for (const [what, value] of [
      ['non-ASCII', `Bearer ${h}.${p}é.${s}`],
      ['a leading TAB', `Bearer \t${t1}`],
    ]) {
      const before = w.seen()
      const r = await w.send(rawText('GET', '/api/x', [['Authorization', value as string]]).replace('é', '\u00e9'))
      assert.equal(r.status, 401, what as string)
      assert.equal(w.seen(), before)
    }
  })

  test('#26 a trailing TAB is optional whitespace around the field value (RFC 9110 §5.5): the token arrives intact and is accepted', async () => {
    const before = w.seen()
    const r = await w.send(`GET /api/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${w.T1()}\t\r\nConnection: close\r\n\r\n`)
    assert.equal(r.status, 200)
    assert.equal(w.seen(), before + 1)
  })

  test('#29 encoding: invalid UTF-8, a lone surrogate, a BOM and UTF-16 claims are 401', async () => {
    const h = { alg: 'RS256', kid: w.ownKid, typ: 'at+jwt' }
    const json = JSON.stringify(w.B({ sub: 'aXb' }))
    const invalid = Buffer.from(json, 'utf8')
    const at = invalid.indexOf('aXb') + 1
    const overlong = Buffer.concat([invalid.subarray(0, at), Buffer.from([0xc0, 0xaf]), invalid.subarray(at + 1)])
    await refused401(handMint(h, overlong, signers.rs256(w.ownKey)), 'invalid UTF-8 (0xC0 0xAF)')
    await refused401(handMint(h, JSON.stringify(w.B()).replace('"alice"', '"\\ud800"'), signers.rs256(w.ownKey)), 'a lone surrogate sub')
    await refused401(handMint(h, JSON.stringify(w.B({ act: { sub: 'x' } })).replace('"x"', '"\\udc00x"'), signers.rs256(w.ownKey)), 'a lone surrogate act.sub')
    await refused401(handMint(h, Buffer.from(`\ufeff${JSON.stringify(w.B())}`, 'utf8'), signers.rs256(w.ownKey)), 'a BOM before the claims')
    await refused401(handMint(h, Buffer.from(JSON.stringify(w.B()), 'utf16le'), signers.rs256(w.ownKey)), 'UTF-16LE claims')
    await refused401(handMint(Buffer.from(`\ufeff${JSON.stringify(h)}`, 'utf8'), w.B(), signers.rs256(w.ownKey)), 'a BOM before the header')
  })

  test('#32 size: a 15 KB token is 401, 17 KB / 10 000 claims / 100 000 nested arrays are 431, in bounded time; P survives', async () => {
    const t0 = performance.now()
    const big = w.T1({ pad: 'x'.repeat(11_000) })
    assert.ok(big.length > 15_000 && big.length < 16_000, `${big.length}`)
    await refused401(`${headerPayload(big)}.${sigOf(w.T1())}`, '15 KB with a wrong signature')
    const claims: Record<string, number> = {}
    for (let i = 0; i < 10_000; i++) claims[`c${i}`] = i
    const nested = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
    for (const [what, token] of [
      ['17 KB', w.T1({ pad: 'x'.repeat(13_000) })],
      ['10 000 claims', handMint({ alg: 'RS256', kid: w.ownKid }, { ...w.B(), ...claims }, signers.rs256(w.ownKey))],
      ['100 000 nested arrays', handMint({ alg: 'RS256', kid: w.ownKid }, nested, signers.none())],
    ] as const) {
      const before = w.seen()
      const r = await w.request('/api/x', [bearer(token)])
      assert.equal(r.status, 431, what)
      assert.equal(w.seen(), before, what)
    }
    assert.ok(performance.now() - t0 < 3000)
    assert.equal((await w.request('/health')).status, 200, 'P still serves')
  })

  test('#33 Bearer scheme: bearer/BEARER are 200; BearerT1, Bearer<TAB>T1, extra words, a list, Token, empty and quoted are 401', async () => {
    const t1 = w.T1()
    for (const value of [`bearer ${t1}`, `BEARER ${t1}`]) {
      const r = await w.request('/api/x', [['Authorization', value]])
      assert.equal(r.status, 200, value.slice(0, 8))
    }
    for (const value of [`Bearer${t1}`, `Bearer\t${t1}`, `Bearer ${t1} x`, `Bearer ${t1},Bearer ${w.T1()}`, `Token ${t1}`, 'Bearer ', `Bearer "${t1}"`]) {
      const before = w.seen()
      const r = await w.request('/api/x', [['Authorization', value]])
      assert.equal(r.status, 401, value.slice(0, 9))
      assert.match(headerOf(r, 'www-authenticate') ?? '', /^Bearer realm="gatehouse"/)
      assert.equal(w.seen(), before)
    }
  })

  test('#34 multiple credentials: two Authorization lines (both orders), Authorization + X-API-Key, header + ?access_token= are 400 invalid_request', async () => {
    const low = w.T1({ permissions: { pub: 'r' } })
    const high = w.T1()
    const cases: [string, string, [string, string][]][] = [
      ['low then high', '/api/x', [bearer(low), bearer(high)]],
      ['high then low', '/api/x', [bearer(high), bearer(low)]],
      ['JWT and a key of another principal', '/api/x', [bearer(w.Tidp()), apiKey(w.K1)]],
      ['header and ?access_token=', `/api/x?access_token=${low}`, [bearer(high)]],
      ['header and ?access%5Ftoken=', `/api/x?a=1&access%5Ftoken=${low}`, [bearer(high)]],
      ['key and ?access_token=', `/api/x?access_token=${low}`, [apiKey(w.K1)]],
    ]
    for (const [what, target, headers] of cases) {
      const before = w.seen()
      const r = await w.request(target, headers)
      assert.equal(r.status, 400, what)
      assert.equal(problemType(r), 'credential_ambiguous', what)
      assert.match(headerOf(r, 'www-authenticate') ?? '', /error="invalid_request"/, what)
      assert.equal(w.seen(), before, what)
    }
  })

  test('#35 a credential in the URL (?access_token, ?api_key, ?token) is 401 no-U, and the logs hold neither token nor key', async () => {
    const t1 = w.T1()
    for (const target of [`/api/x?access_token=${t1}`, `/api/x?api_key=${w.K1}`, `/api/x?token=${t1}`]) {
      const before = w.seen()
      const r = await w.request(target)
      assert.equal(r.status, 401, target.slice(0, 20))
      assert.equal(problemType(r), 'credential_missing')
      assert.equal(w.seen(), before)
    }
    const logs = w.P.logText()
    assert.ok(!logs.includes(t1) && !logs.includes(sigOf(t1)), 'no token in the logs')
    assert.ok(!logs.includes(w.K1), 'no key in the logs')
  })
})

// An attacker's self-signed P-256 certificate (CN=attacker.example) and its key, for #10
// (made with `openssl req -x509`; nothing trusts it).
const ATTACKER_EC_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSCOp7gBaH+dCDe35
YmkOVWzzFeON0H/Xr69PH7nNytKhRANCAAROdAsdExcS98VAusfvO4NdWh3/uyrD
/dE6mY3Rn2nFFcvUz8BfASxsUaeWl1OSbdTuGKcQ58coudKvo8F6tsSV
-----END PRIVATE KEY-----
`
const ATTACKER_CERT_DER_B64 =
  'MIIBjTCCATOgAwIBAgIUFgTdc5aYn4i5LNx/7ULPaz3YhDkwCgYIKoZIzj0EAwIwGzEZMBcGA1UEAwwQYXR0YWNrZXIuZXhhbXBsZTAgFw0yNjExMjMxOTI4MjJaGA8yMTI2MTAzMDE5MjgyMlowGzEZMBcGA1UEAwwQYXR0YWNrZXIuZXhhbXBsZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABE50Cx0TFxL3xUC6x+87g11aHf+7KsP90TqZjdGfacUVy9TPwF8BLGxRp5aXU5Jt1O4YpxDnxyi50q+jwXq2xJWjUzBRMB0GA1UdDgQWBBSKVrHi8JQ6QERdONnMQKnuw9YiXDAfBgNVHSMEGDAWgBSKVrHi8JQ6QERdONnMQKnuw9YiXDAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQD3hs1Us3muTWpaB+anHuvR3d70mxZdImOPCgg7a4hVGAIgGWN87CGjszHayDnsJG4GhXLfCKJeVUFVIEtwZ9kVDy8='
