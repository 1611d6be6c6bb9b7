// compileJwtVerifier at the edges of its own checks (issue 19, mutation testing):
// the structural precheck, the claims jose leaves to it (iat, nbf/exp order,
// finiteness, userClaim, act, jti, client_id, parent_key_id, claimHeaders), the
// failure details, the compile problems and the verifier's bookkeeping. HS256 with a
// secretEnv (no key generation: fast), a frozen clock; expected values from the SPEC
// (§5, §9, §12) and RFC 7519 / 8693 / 9068, not from the code under test.
import { strict as assert } from 'node:assert'
import { createHmac, KeyObject, sign as cryptoSign } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportSPKI, generateKeyPair } from 'jose'
import { describe, it } from 'node:test'
import type { IssuerConfig } from '../../../src/config/schema.js'
import { compileJwtVerifier, type JwtResult, type JwtVerifier, type JwtVerifierOptions } from '../../../src/credentials/verify-jwt.js'

const NOW = 1_900_000_000
const LEEWAY = 30
const SECRET = 'a-32-byte-secret-for-hs256-tests!'
const ENV = { S: SECRET }

const b64u = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
/** Header and claims as JSON text, so that values JSON.stringify cannot write (1e400) can be sent. */
function mintText(headerJson: string, claimsJson: string, secret = SECRET): string {
  const input = `${b64u(headerJson)}.${b64u(claimsJson)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}
const mint = (claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256' }, secret = SECRET) =>
  mintText(JSON.stringify(header), JSON.stringify(claims), secret)

const issuer = (over: Partial<IssuerConfig> = {}): IssuerConfig =>
  ({ issuer: 'idp', secretEnv: 'S', algorithms: ['HS256'], audience: 'api', jwksCacheSeconds: 300, jwksCooldownSeconds: 30, ...over }) as IssuerConfig

async function compile(issuers: IssuerConfig[], opts: Partial<JwtVerifierOptions> = {}) {
  return compileJwtVerifier(issuers, { leewaySeconds: LEEWAY, now: () => NOW * 1000, env: ENV, fetchKeys: false, ...opts })
}
async function verifierOf(issuers: IssuerConfig[] = [issuer()], opts: Partial<JwtVerifierOptions> = {}): Promise<JwtVerifier> {
  const r = await compile(issuers, opts)
  if (!r.ok) assert.fail(JSON.stringify(r.problems))
  return r.verifier
}

const claims = (over: Record<string, unknown> = {}) => ({ iss: 'idp', aud: 'api', sub: 'alice', iat: NOW - 10, exp: NOW + 300, ...over })

function refused(r: JwtResult, reason: string, detail: string | RegExp): void {
  assert.equal(r.ok, false, `expected ${reason}, got ${JSON.stringify(r)}`)
  if (r.ok) return
  assert.equal(r.reason, reason, r.detail)
  if (typeof detail === 'string') assert.equal(r.detail, detail)
  else assert.match(r.detail, detail)
}
function accepted(r: JwtResult) {
  assert.ok(r.ok, JSON.stringify(r))
  return r.identity
}

describe('verify: the structural precheck', () => {
  it('a token exactly maxTokenBytes long passes, one byte longer is malformed', async () => {
    const token = mint(claims())
    assert.ok((await (await verifierOf([issuer()], { maxTokenBytes: token.length })).verify(token)).ok)
    refused(await (await verifierOf([issuer()], { maxTokenBytes: token.length - 1 })).verify(token), 'credential_malformed', 'not a compact JWS')
  })

  it('anything around the three base64url parts is malformed', async () => {
    const v = await verifierOf()
    const token = mint(claims())
    for (const t of [`e!${token}`, `${token}=`, `${token}.`, `${token} `, ` ${token}`, token.replace('.', '..'), `${token.split('.')[0]}.${token.split('.')[1]}`])
      refused(await v.verify(t), 'credential_malformed', 'not a compact JWS')
    refused(await v.verify(undefined as unknown as string), 'credential_malformed', 'not a compact JWS')
  })

  it('a header or claims set that is not a JSON object in UTF-8 is malformed (RFC 8725 §3.7)', async () => {
    const v = await verifierOf()
    const good = JSON.stringify(claims())
    for (const [h, c] of [[' {"alg":"HS256"}', good], ['{"alg":"HS256"}', ` ${good}`], ['\ufeff{"alg":"HS256"}', good], ['["HS256"]', good]])
      refused(await v.verify(mintText(h as string, c as string)), 'credential_malformed', 'header or claims are not a JSON object')
    refused(await v.verify(mintText('{"alg":"HS256"', good)), 'credential_malformed', 'header or claims cannot be decoded')
    refused(await v.verify(mintText('{"alg":"HS256"}', '{"iss":')), 'credential_malformed', 'header or claims cannot be decoded')
  })

  it('an iss that is not a configured issuer string, an alg that is not an allowed string', async () => {
    const v = await verifierOf()
    refused(await v.verify(mint(claims({ iss: 7 }))), 'token_invalid', 'unknown issuer')
    refused(await v.verify(mint(claims({ iss: 'other' }))), 'token_invalid', 'unknown issuer')
    refused(await v.verify(mint(claims(), { alg: ['HS256'] })), 'token_invalid', 'algorithm not allowed')
    refused(await v.verify(mint(claims(), { alg: 'HS384' })), 'token_invalid', 'algorithm not allowed')
  })

  it('a kid of up to 256 characters is looked at; longer or not a string is malformed', async () => {
    const v = await verifierOf()
    assert.ok((await v.verify(mint(claims(), { alg: 'HS256', kid: 'k'.repeat(256) }))).ok)
    refused(await v.verify(mint(claims(), { alg: 'HS256', kid: 'k'.repeat(257) })), 'token_invalid', 'kid malformed')
    refused(await v.verify(mint(claims(), { alg: 'HS256', kid: 7 })), 'token_invalid', 'kid malformed')
  })
})

describe('verify: failures named by what failed', () => {
  it('signature, expiry and each claim check', async () => {
    const v = await verifierOf()
    refused(await v.verify(mint(claims(), { alg: 'HS256' }, 'another-32-byte-secret-for-tests!')), 'token_invalid', 'signature verification failed')
    refused(await v.verify(mint(claims({ exp: NOW - LEEWAY }))), 'token_expired', 'token expired')
    refused(await v.verify(mint(claims({ exp: undefined }))), 'token_invalid', 'exp missing')
    refused(await v.verify(mint(claims({ aud: 'other' }))), 'token_invalid', 'aud check failed')
    refused(await v.verify(mint(claims({ nbf: NOW + LEEWAY + 1 }))), 'token_invalid', 'nbf check failed')
  })
})

describe('verify: the claims jose leaves to Gatehouse', () => {
  it('iat up to now + leeway passes, later is refused', async () => {
    const v = await verifierOf()
    accepted(await v.verify(mint(claims({ iat: NOW + LEEWAY }))))
    refused(await v.verify(mint(claims({ iat: NOW + LEEWAY + 1 }))), 'token_invalid', 'iat in the future')
  })

  it('exp equal to nbf passes, exp before nbf is refused', async () => {
    const v = await verifierOf()
    accepted(await v.verify(mint(claims({ nbf: NOW + 20, exp: NOW + 20 }))))
    refused(await v.verify(mint(claims({ nbf: NOW + 20, exp: NOW + 19 }))), 'token_invalid', 'exp before nbf')
  })

  it('a date JSON spells as infinite is refused by name', async () => {
    const v = await verifierOf()
    const text = (over: string) => JSON.stringify(claims()).replace(/}$/, `,${over}}`)
    refused(await v.verify(mintText('{"alg":"HS256"}', text('"iat":1e400').replace(`"iat":${NOW - 10},`, ''))), 'token_invalid', 'iat not a finite number')
    refused(await v.verify(mintText('{"alg":"HS256"}', text('"nbf":-1e400'))), 'token_invalid', 'nbf not a finite number')
  })

  it('the user is the userClaim, a non-empty string without lone surrogates', async () => {
    const v = await verifierOf([issuer({ userClaim: 'email' })])
    assert.equal(accepted(await v.verify(mint(claims({ email: 'a@x.test' })))).user, 'a@x.test')
    refused(await v.verify(mint(claims())), 'token_invalid', 'email missing')
    refused(await v.verify(mint(claims({ email: '' }))), 'token_invalid', 'email missing')
    refused(await v.verify(mint(claims({ email: 'a\ud800' }))), 'token_invalid', 'email malformed')
    assert.equal(accepted(await v.verify(mint(claims({ email: 'a\ud83d\ude00' })))).user, 'a\ud83d\ude00')
  })

  it('act.sub names the actor (RFC 8693 §4.1); anything else is malformed', async () => {
    const v = await verifierOf()
    const id = accepted(await v.verify(mint(claims({ act: { sub: 'bob' } }))))
    assert.equal(id.actor, 'bob')
    assert.equal(id.user, 'alice')
    assert.equal(accepted(await v.verify(mint(claims({ act: { sub: 'alice' } })))).actor, undefined)
    assert.equal(accepted(await v.verify(mint(claims()))).actor, undefined)
    for (const act of [null, 'bob', ['bob'], {}, { sub: '' }, { sub: 7 }, { sub: 'b\udc00' }])
      refused(await v.verify(mint(claims({ act }))), 'token_invalid', 'act malformed')
  })

  it('jti, client_id and parent_key_id are taken when non-empty strings', async () => {
    const v = await verifierOf()
    const id = accepted(await v.verify(mint(claims({ jti: 'j-1', client_id: 'app', parent_key_id: 'k1' }))))
    assert.equal(id.credentialId, 'j-1')
    assert.equal(id.clientId, 'app')
    assert.equal(id.parentKeyId, 'k1')
    assert.equal(id.method, 'jwt')
    assert.equal(id.issuer, 'idp')
    assert.equal(id.expiresAt, NOW + 300)
    assert.ok(Object.isFrozen(id))
    assert.ok(!('claimHeaders' in id))
    // Another issuer's client may well be called "gatehouse".
    assert.equal(accepted(await v.verify(mint(claims({ client_id: 'gatehouse' })))).clientId, 'gatehouse')
    for (const empty of ['', 7]) {
      const e = accepted(await v.verify(mint(claims({ jti: empty, client_id: empty, parent_key_id: empty }))))
      assert.equal(e.credentialId, undefined)
      assert.equal(e.clientId, undefined)
      assert.equal(e.parentKeyId, undefined)
    }
  })

  it("the token service's own issuer: client_id gatehouse marks a login, not a client (SPEC §12)", async () => {
    const pair = await generateKeyPair('ES256')
    const own = { issuer: 'gh', getKey: async () => pair.publicKey, algorithms: ['ES256' as const] }
    const v = await verifierOf([{ issuer: 'gh', jwksCacheSeconds: 300, jwksCooldownSeconds: 30 } as IssuerConfig], { ownKeys: own })
    const mintOwn = (c: Record<string, unknown>) => {
      const input = `${b64u({ alg: 'ES256' })}.${b64u({ iss: 'gh', sub: 'alice', iat: NOW, exp: NOW + 60, ...c })}`
      return `${input}.${cryptoSign('sha256', Buffer.from(input), { key: KeyObject.from(pair.privateKey), dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
    }
    assert.equal(accepted(await v.verify(mintOwn({ client_id: 'gatehouse' }))).clientId, undefined)
    assert.equal(accepted(await v.verify(mintOwn({ client_id: 'reports' }))).clientId, 'reports')
    // The same name with a key source of its own is not the token service.
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-verify-claims-'))
    const pem = join(dir, 'gh.pub')
    await writeFile(pem, await exportSPKI(pair.publicKey))
    const other = await verifierOf([{ issuer: 'gh', publicKeyFile: pem, algorithms: ['ES256'], jwksCacheSeconds: 300, jwksCooldownSeconds: 30 } as IssuerConfig], { ownKeys: own })
    assert.equal(accepted(await other.verify(mintOwn({ client_id: 'gatehouse' }))).clientId, 'gatehouse')
    await rm(dir, { recursive: true, force: true })
  })

  it('claimHeaders: scalars and lists of scalars; objects, mixed lists and infinities give none (SPEC §9)', async () => {
    const v = await verifierOf([issuer({ claimHeaders: { a: 'X-Auth-A', b: 'X-Auth-B', c: 'X-Auth-C', d: 'X-Auth-D', e: 'X-Auth-E', 'f.g': 'X-Auth-G' } })])
    const text = JSON.stringify(claims({ a: true, b: [1, 'x', false], c: [1, { x: 1 }], d: { x: 1 }, f: { g: 0 } })).replace(/}$/, ',"e":1e400}')
    const id = accepted(await v.verify(mintText('{"alg":"HS256"}', text)))
    assert.deepEqual(
      id.claimHeaders?.map(([h, val]) => [h, val]),
      [
        ['X-Auth-A', 'true'],
        ['X-Auth-B', ['1', 'x', 'false']],
        ['X-Auth-G', '0'],
      ],
    )
  })

  it('requiredType: the typ header must match (RFC 9068 §4)', async () => {
    const v = await verifierOf([issuer({ requiredType: 'at+jwt' })])
    accepted(await v.verify(mint(claims(), { alg: 'HS256', typ: 'at+jwt' })))
    refused(await v.verify(mint(claims(), { alg: 'HS256', typ: 'JWT' })), 'token_invalid', 'typ check failed')
    refused(await v.verify(mint(claims(), { alg: 'HS256' })), 'token_invalid', 'typ check failed')
  })

  it('without an audience configured, aud is not looked at', async () => {
    const v = await verifierOf([issuer({ audience: undefined })])
    accepted(await v.verify(mint(claims({ aud: 'anything' }))))
    accepted(await v.verify(mint(claims({ aud: undefined }))))
  })

  it('leeway applies to exp: expired exactly at now - leeway', async () => {
    const v = await verifierOf()
    accepted(await v.verify(mint(claims({ exp: NOW - LEEWAY + 1 }))))
    refused(await v.verify(mint(claims({ exp: NOW - LEEWAY }))), 'token_expired', 'token expired')
    const strict = await verifierOf([issuer()], { leewaySeconds: 0 })
    refused(await strict.verify(mint(claims({ exp: NOW }))), 'token_expired', 'token expired')
    accepted(await strict.verify(mint(claims({ exp: NOW + 1, iat: NOW }))))
    refused(await strict.verify(mint(claims({ iat: NOW + 1 }))), 'token_invalid', 'iat in the future')
  })

  it("jose and node:crypto give the same verdicts (signatures: 'jose')", async () => {
    const v = await verifierOf([issuer()], { signatures: 'jose' })
    accepted(await v.verify(mint(claims())))
    refused(await v.verify(mint(claims({ exp: NOW - LEEWAY }))), 'token_expired', 'token expired')
  })
})

describe('compile problems, each with its path', () => {
  it('leewaySeconds must be a non-negative number', async () => {
    for (const leewaySeconds of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const r = await compile([issuer()], { leewaySeconds })
      assert.ok(!r.ok, String(leewaySeconds))
      assert.deepEqual(r.problems.map((p) => p.path), ['jwt.leewaySeconds'])
    }
    assert.ok((await compile([issuer()], { leewaySeconds: 0 })).ok)
  })

  it('an issuer configured twice, a bad maxLifetime, a bad claim path: all reported', async () => {
    const r = await compile([issuer(), issuer({ issuer: 'b', maxLifetime: 'P', claimHeaders: { 'a..b': 'X-Auth-X' } }), issuer()])
    assert.ok(!r.ok)
    const paths = r.problems.map((p) => p.path).sort()
    assert.deepEqual(paths, ['jwt.issuers[1].claimHeaders.a..b', 'jwt.issuers[1].maxLifetime', 'jwt.issuers[2].issuer'])
    assert.match(r.problems.find((p) => p.path === 'jwt.issuers[2].issuer')?.message ?? '', /"idp" is configured twice/)
    assert.match(r.problems.find((p) => p.path.endsWith('a..b'))?.message ?? '', /claim path/)
  })

  it('a key source problem and a claim problem of one issuer together', async () => {
    const r = await compile([issuer({ secretEnv: 'MISSING', maxLifetime: 'nonsense' })])
    assert.ok(!r.ok)
    const paths = r.problems.map((p) => p.path)
    assert.ok(paths.includes('jwt.issuers[0].maxLifetime'), JSON.stringify(paths))
    assert.ok(paths.some((p) => p !== 'jwt.issuers[0].maxLifetime'), JSON.stringify(paths))
  })

  it('maxLifetime: a token living longer than it, measured from now, is refused', async () => {
    const v = await verifierOf([issuer({ maxLifetime: 'PT10M' })])
    accepted(await v.verify(mint(claims({ exp: NOW + 600 + LEEWAY }))))
    refused(await v.verify(mint(claims({ exp: NOW + 600 + LEEWAY + 1 }))), 'token_invalid', /maxLifetime/)
  })
})

describe('the verifier without and with a remote JWKS', () => {
  it('only key files and secrets: no stats, keys loaded, nothing pooled', async () => {
    const v = await verifierOf()
    assert.deepEqual(v.stats(), [])
    assert.equal(v.keysLoaded(true), true)
    assert.deepEqual(v.poolKeys, [])
    await v.ready()
    await v.refreshNow()
    v.close()
  })

  it('a jwksUri not fetched yet (fetchKeys: false): listed in stats, keys not loaded', async () => {
    const v = await verifierOf([issuer(), issuer({ issuer: 'remote', secretEnv: undefined, algorithms: ['RS256'], jwksUri: 'http://127.0.0.1:9/jwks' })])
    const stats = v.stats()
    assert.deepEqual(stats.map((s) => s.issuer), ['remote'])
    assert.equal(v.keysLoaded(true), false)
    assert.equal(v.keysLoaded(false), true)
    assert.deepEqual(v.poolKeys, [])
    v.close()
  })
})
