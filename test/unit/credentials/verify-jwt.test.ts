// verify-jwt (SPEC §5 JWT): every named vector against a frozen clock, each supported
// algorithm and key source with real keys, and every compile problem with its path.
import * as assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createLocalJWKSet, exportJWK, importPKCS8, SignJWT, type JWTVerifyGetKey } from 'jose'
import type { IssuerConfig, JwtAlgorithm } from '../../../src/config/schema.js'
import {
  compileJwtVerifier,
  type JwtResult,
  type JwtVerifier,
  type JwtVerifierOptions,
} from '../../../src/credentials/verify-jwt.js'
import { bytes, jwksOf, makeKeyPair, mintJwt, tamperSignature, type KeyAlg, type TestKey } from '../../support/mint.js'
import { findTool } from '../../support/tools.js'
import { LEEWAY, makeVectorKeys, NOW, TOKEN_VECTORS, vectorIssuers, type VectorKeys } from '../../vectors/tokens.js'

const frozen = (): number => NOW * 1000
const SECRET_32 = 'k'.repeat(32)

function issuer(over: Partial<IssuerConfig> & { issuer: string }): IssuerConfig {
  return { jwksCacheSeconds: 300, jwksCooldownSeconds: 30, ...over }
}

async function compileOk(issuers: IssuerConfig[], opts: Partial<JwtVerifierOptions> = {}): Promise<JwtVerifier> {
  const result = await compileJwtVerifier(issuers, { leewaySeconds: LEEWAY, now: frozen, env: {}, ...opts })
  if (!result.ok) assert.fail(`unexpected problems: ${JSON.stringify(result.problems)}`)
  return result.verifier
}

async function problemsOf(issuers: IssuerConfig[], opts: Partial<JwtVerifierOptions> = {}) {
  const result = await compileJwtVerifier(issuers, { leewaySeconds: LEEWAY, now: frozen, env: {}, ...opts })
  if (result.ok) {
    result.verifier.close()
    assert.fail('expected compile problems, got a verifier')
  }
  return result.problems
}

function assertRejected(result: JwtResult, reason: string, token: string): void {
  assert.equal(result.ok, false, 'expected a rejection')
  if (result.ok) return
  assert.equal(result.reason, reason, `detail: ${result.detail}`)
  if (token !== '') assert.ok(!result.detail.includes(token), 'the detail must never echo the token')
}

// The system openssl makes the certificate; with CI set a missing openssl fails the test.
const openssl = findTool('openssl', 'GATEHOUSE_OPENSSL', "install Debian's openssl package (.ci/run does)")

const basics = (iss: string) => ({ iss, sub: 'alice', iat: NOW, exp: NOW + 300 })

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-verify-jwt-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('the named token vectors, at a frozen clock', () => {
  let keys: VectorKeys
  let verifier: JwtVerifier
  before(async () => {
    keys = await makeVectorKeys()
    const aJwksFile = join(dir, 'vectors-a.jwks.json')
    const bPemFile = join(dir, 'vectors-b.pem')
    await writeFile(aJwksFile, JSON.stringify(jwksOf(keys.a)))
    await writeFile(bPemFile, keys.b.publicPem)
    verifier = await compileOk(vectorIssuers({ aJwksFile, bPemFile }))
  })
  after(() => verifier.close())

  for (const vector of TOKEN_VECTORS) {
    const outcome = vector.expect.ok ? 'is accepted' : `is refused as ${vector.expect.reason}`
    it(`${vector.name} ${outcome}`, async () => {
      const token = await vector.mint(keys)
      const result = await verifier.verify(token)
      const expect = vector.expect
      if (!expect.ok) return assertRejected(result, expect.reason, token)
      assert.ok(result.ok, result.ok ? '' : `refused: ${result.reason} (${result.detail})`)
      const id = result.identity
      assert.equal(id.user, expect.user)
      assert.equal(id.actor, expect.actor)
      assert.equal(id.method, 'jwt')
      assert.equal(id.credentialId, expect.credentialId)
      assert.equal(id.expiresAt, expect.expiresAt)
      assert.deepEqual({ ...id.permissions }, expect.permissions)
    })
  }
})

describe('each supported algorithm with its key source', () => {
  const cases: { name: string; keyAlg: KeyAlg; alg: JwtAlgorithm; file: 'pem' | 'jwks' }[] = [
    { name: 'RS256 with an SPKI PEM file', keyAlg: 'RS256', alg: 'RS256', file: 'pem' },
    { name: 'PS256 with an SPKI PEM file', keyAlg: 'PS256', alg: 'PS256', file: 'pem' },
    { name: 'ES256 with an SPKI PEM file', keyAlg: 'ES256', alg: 'ES256', file: 'pem' },
    { name: 'EdDSA with an SPKI PEM file', keyAlg: 'EdDSA', alg: 'EdDSA', file: 'pem' },
    { name: 'Ed25519 with an SPKI PEM file', keyAlg: 'EdDSA', alg: 'Ed25519', file: 'pem' },
    { name: 'RS256 with a JWKS file', keyAlg: 'RS256', alg: 'RS256', file: 'jwks' },
    { name: 'ES256 with a JWKS file', keyAlg: 'ES256', alg: 'ES256', file: 'jwks' },
    { name: 'EdDSA with a JWKS file', keyAlg: 'EdDSA', alg: 'EdDSA', file: 'jwks' },
  ]
  for (const c of cases) {
    it(`${c.name}: accepts its own tokens, refuses another key's and tampered ones`, async () => {
      const key = await makeKeyPair(c.keyAlg, `${c.alg}-1`)
      const other = await makeKeyPair(c.keyAlg, `${c.alg}-1`)
      const file = join(dir, `${c.name.replace(/\W+/g, '-')}.${c.file}`)
      await writeFile(file, c.file === 'pem' ? key.publicPem : JSON.stringify(jwksOf(key)))
      const iss = `https://${c.alg.toLowerCase()}.example/`
      const verifier = await compileOk([issuer({ issuer: iss, publicKeyFile: file, algorithms: [c.alg] })])
      const good = await mintJwt(basics(iss), key, { alg: c.alg })
      const result = await verifier.verify(good)
      assert.ok(result.ok, result.ok ? '' : result.detail)
      const foreign = await mintJwt(basics(iss), other, { alg: c.alg })
      assertRejected(await verifier.verify(foreign), 'token_invalid', foreign)
      assertRejected(await verifier.verify(tamperSignature(good)), 'token_invalid', good)
      verifier.close()
    })
  }

  it('HS256 with a secret from secretEnv: accepts its tokens, refuses other secrets and other algorithms', async () => {
    const env = { APP_JWT_SECRET: SECRET_32 }
    const iss = 'shared-secret-app'
    const verifier = await compileOk([issuer({ issuer: iss, secretEnv: 'APP_JWT_SECRET' })], { env })
    const result = await verifier.verify(await mintJwt(basics(iss), bytes(SECRET_32)))
    assert.ok(result.ok, result.ok ? '' : result.detail)
    const otherSecret = await mintJwt(basics(iss), bytes('x'.repeat(32)))
    assertRejected(await verifier.verify(otherSecret), 'token_invalid', otherSecret)
    const hs384 = await mintJwt(basics(iss), bytes(SECRET_32.repeat(2)), { alg: 'HS384' })
    assertRejected(await verifier.verify(hs384), 'token_invalid', hs384)
    verifier.close()
  })

  it('HS512 accepts a 64-byte secret', async () => {
    const secret = 's'.repeat(64)
    const verifier = await compileOk([issuer({ issuer: 'hs512', secretEnv: 'S', algorithms: ['HS512'] })], { env: { S: secret } })
    const result = await verifier.verify(await mintJwt(basics('hs512'), bytes(secret), { alg: 'HS512' }))
    assert.ok(result.ok)
    verifier.close()
  })

  it('RS256 with an X.509 certificate file', { skip: openssl.skip }, async () => {
    const keyFile = join(dir, 'x509.key')
    const certFile = join(dir, 'x509.crt')
    execFileSync(openssl.require(), ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=idp'], { stdio: 'ignore' })
    const privateKey = await importPKCS8(await readFile(keyFile, 'utf8'), 'RS256')
    const verifier = await compileOk([issuer({ issuer: 'x509', publicKeyFile: certFile })])
    const token = await new SignJWT(basics('x509')).setProtectedHeader({ alg: 'RS256' }).sign(privateKey)
    assert.ok((await verifier.verify(token)).ok)
    assertRejected(await verifier.verify(tamperSignature(token)), 'token_invalid', token)
    verifier.close()
  })

  it('resolves a relative publicKeyFile against baseDir', async () => {
    const key = await makeKeyPair('ES256', 'rel')
    await writeFile(join(dir, 'relative.pem'), key.publicPem)
    const verifier = await compileOk([issuer({ issuer: 'rel', publicKeyFile: 'relative.pem', algorithms: ['ES256'] })], {
      baseDir: dir,
    })
    assert.ok((await verifier.verify(await mintJwt(basics('rel'), key))).ok)
    verifier.close()
  })
})

describe("the token service's own issuer", () => {
  let own: TestKey
  let idp: TestKey
  let calls = 0
  let verifier: JwtVerifier
  before(async () => {
    own = await makeKeyPair('ES256', 'own-1')
    idp = await makeKeyPair('RS256', 'idp-1')
    const idpFile = join(dir, 'own-idp.pem')
    await writeFile(idpFile, idp.publicPem)
    const localSet = createLocalJWKSet(jwksOf(own))
    const getKey: JWTVerifyGetKey = (header, token) => {
      calls++
      return localSet(header, token)
    }
    verifier = await compileOk(
      [issuer({ issuer: 'gatehouse' }), issuer({ issuer: 'https://idp.example/', publicKeyFile: idpFile })],
      { ownKeys: { issuer: 'gatehouse', getKey, algorithms: ['ES256', 'EdDSA'], requiredType: 'at+jwt' } },
    )
  })
  after(() => verifier.close())

  it('verifies its own tokens with the keys the caller provides', async () => {
    const result = await verifier.verify(await mintJwt({ ...basics('gatehouse'), jti: 'j1' }, own, { typ: 'at+jwt' }))
    assert.ok(result.ok, result.ok ? '' : result.detail)
    assert.equal(result.identity.issuer, 'gatehouse')
    assert.equal(result.identity.credentialId, 'j1')
  })

  it('applies the requiredType given with the own keys', async () => {
    const idToken = await mintJwt(basics('gatehouse'), own, { typ: 'JWT' })
    assertRejected(await verifier.verify(idToken), 'token_invalid', idToken)
  })

  it('never lets its own key verify a token naming another issuer', async () => {
    const forged = await mintJwt(basics('https://idp.example/'), own, { alg: 'ES256' })
    assertRejected(await verifier.verify(forged), 'token_invalid', forged)
    const forgedRs = await mintJwt(basics('https://idp.example/'), idp, { typ: 'at+jwt' })
    assert.ok((await verifier.verify(forgedRs)).ok, 'control: the IdP key verifies its own issuer')
    const idpAsOwn = await mintJwt(basics('gatehouse'), idp, { alg: 'RS256', kid: 'own-1', typ: 'at+jwt' })
    assertRejected(await verifier.verify(idpAsOwn), 'token_invalid', idpAsOwn)
  })

  it('refuses a disallowed alg or an unknown issuer before any key lookup (#100)', async () => {
    calls = 0
    const tokens = [
      await mintJwt(basics('gatehouse'), bytes(SECRET_32), { alg: 'HS256', kid: 'own-1' }),
      await mintJwt(basics('gatehouse'), idp, { alg: 'RS256', kid: 'own-1' }),
      await mintJwt(basics('nobody'), own),
    ]
    for (const token of tokens) assertRejected(await verifier.verify(token), 'token_invalid', token)
    assert.equal(calls, 0)
  })
})

describe('never throws on hostile input', () => {
  it('answers credential_malformed for anything that is not a compact JWS', async () => {
    const verifier = await compileOk([issuer({ issuer: 'x', secretEnv: 'S' })], { env: { S: SECRET_32 } })
    const good = await mintJwt(basics('x'), bytes(SECRET_32))
    const inputs = ['', '.', '..', 'a.b', '\t' + good, good + '\n', good.replace('.', '%2E'), 'é.é.é', 'a'.repeat(20_000)]
    for (const input of inputs) assertRejected(await verifier.verify(input), 'credential_malformed', input)
    const notJson = 'eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.'
    assertRejected(await verifier.verify(notJson), 'credential_malformed', notJson)
    verifier.close()
  })
})

describe('compile problems, each with its path', () => {
  let rsa: TestKey
  let ec: TestKey
  let files: Record<'rsaPem' | 'ecPem' | 'privatePem' | 'privateJwks', string>
  before(async () => {
    rsa = await makeKeyPair('RS256', 'r')
    ec = await makeKeyPair('ES256', 'e')
    files = {
      rsaPem: join(dir, 'p-rsa.pem'),
      ecPem: join(dir, 'p-ec.pem'),
      privatePem: join(dir, 'p-private.pem'),
      privateJwks: join(dir, 'p-private.jwks.json'),
    }
    await writeFile(files.rsaPem, rsa.publicPem)
    await writeFile(files.ecPem, ec.publicPem)
    await writeFile(files.privatePem, rsa.privatePem)
    await writeFile(files.privateJwks, JSON.stringify({ keys: [{ ...(await exportJWK(ec.privateKey)), kid: 'e' }] }))
  })

  const cases: {
    name: string
    issuers: () => IssuerConfig[]
    env?: Record<string, string>
    path: string
    message: RegExp
  }[] = [
    { name: 'a missing secretEnv variable', issuers: () => [issuer({ issuer: 'a', secretEnv: 'NOPE' })], path: 'jwt.issuers[0].secretEnv', message: /NOPE is not set/ },
    { name: 'an empty secretEnv variable', issuers: () => [issuer({ issuer: 'a', secretEnv: 'S' })], env: { S: '' }, path: 'jwt.issuers[0].secretEnv', message: /not set or empty/ },
    { name: 'an HS256 secret shorter than 32 bytes', issuers: () => [issuer({ issuer: 'a', secretEnv: 'S' })], env: { S: 'k'.repeat(31) }, path: 'jwt.issuers[0].secretEnv', message: /31 bytes; HS256 needs at least 32 \(RFC 7518/ },
    { name: 'an HS512 secret shorter than 64 bytes', issuers: () => [issuer({ issuer: 'a', secretEnv: 'S', algorithms: ['HS512'] })], env: { S: 'k'.repeat(48) }, path: 'jwt.issuers[0].secretEnv', message: /HS512 needs at least 64/ },
    { name: 'RS256 with a secretEnv', issuers: () => [issuer({ issuer: 'a', secretEnv: 'S', algorithms: ['RS256'] })], env: { S: SECRET_32 }, path: 'jwt.issuers[0].algorithms', message: /only HS256/ },
    { name: 'HS256 with a publicKeyFile', issuers: () => [issuer({ issuer: 'a', publicKeyFile: files.rsaPem, algorithms: ['RS256', 'HS256'] })], path: 'jwt.issuers[0].algorithms', message: /HS256 needs secretEnv/ },
    { name: 'HS256 with a jwksUri', issuers: () => [issuer({ issuer: 'a', jwksUri: 'https://idp.example/jwks', algorithms: ['HS256'] })], path: 'jwt.issuers[0].algorithms', message: /never uses a public key/ },
    { name: 'two key sources on one issuer', issuers: () => [issuer({ issuer: 'a', publicKeyFile: files.rsaPem, jwksUri: 'https://idp.example/jwks' })], path: 'jwt.issuers[0]', message: /exactly one key source/ },
    { name: 'no key source', issuers: () => [issuer({ issuer: 'a' })], path: 'jwt.issuers[0]', message: /no key source/ },
    { name: 'an http jwksUri to a non-loopback host', issuers: () => [issuer({ issuer: 'a', jwksUri: 'http://idp.example/jwks' })], path: 'jwt.issuers[0].jwksUri', message: /https/ },
    { name: 'a jwksUri that is not a URL', issuers: () => [issuer({ issuer: 'a', jwksUri: 'idp.example/jwks' })], path: 'jwt.issuers[0].jwksUri', message: /not a valid URL/ },
    { name: 'a file: jwksUri', issuers: () => [issuer({ issuer: 'a', jwksUri: 'file:///etc/passwd' })], path: 'jwt.issuers[0].jwksUri', message: /https/ },
    { name: 'a private key PEM as publicKeyFile', issuers: () => [issuer({ issuer: 'a', publicKeyFile: files.privatePem })], path: 'jwt.issuers[0].publicKeyFile', message: /publicKeyFile holds a private key/ },
    { name: 'a JWKS file holding a private key', issuers: () => [issuer({ issuer: 'a', publicKeyFile: files.privateJwks, algorithms: ['ES256'] })], path: 'jwt.issuers[0].publicKeyFile', message: /publicKeyFile holds a private key/ },
    { name: 'an unreadable publicKeyFile', issuers: () => [issuer({ issuer: 'a', publicKeyFile: join(dir, 'absent.pem') })], path: 'jwt.issuers[0].publicKeyFile', message: /cannot read .*ENOENT/ },
    { name: 'a key that does not fit the algorithm', issuers: () => [issuer({ issuer: 'a', publicKeyFile: files.ecPem, algorithms: ['RS256'] })], path: 'jwt.issuers[0].publicKeyFile', message: /cannot be used with RS256/ },
    { name: 'an algorithm outside the supported list', issuers: () => [issuer({ issuer: 'a', publicKeyFile: files.rsaPem, algorithms: ['none' as JwtAlgorithm] })], path: 'jwt.issuers[0].algorithms', message: /unsupported algorithm none/ },
    { name: 'the same issuer twice', issuers: () => [issuer({ issuer: 'a', publicKeyFile: files.rsaPem }), issuer({ issuer: 'a', publicKeyFile: files.rsaPem })], path: 'jwt.issuers[1].issuer', message: /configured twice/ },
    { name: 'a scopeMap level that is not none, r or rw', issuers: () => [issuer({ issuer: 'a', publicKeyFile: files.rsaPem, scopeMap: { 'x.y': { users: 'admin' as 'rw' } } })], path: 'jwt.issuers[0].scopeMap.x.y', message: /none, r or rw/ },
  ]
  for (const c of cases) {
    it(`refuses ${c.name}`, async () => {
      const problems = await problemsOf(c.issuers(), { env: c.env ?? {} })
      const match = problems.find((p) => p.path === c.path)
      assert.ok(match, `no problem at ${c.path}: ${JSON.stringify(problems)}`)
      assert.match(match.message, c.message)
      if (c.env?.S) assert.ok(!JSON.stringify(problems).includes(c.env.S), 'a problem never prints the secret')
    })
  }

  it('reports the problems of every issuer at once', async () => {
    const problems = await problemsOf([issuer({ issuer: 'a' }), issuer({ issuer: 'b', secretEnv: 'NOPE' })])
    assert.deepEqual(problems.map((p) => p.path), ['jwt.issuers[0]', 'jwt.issuers[1].secretEnv'])
  })

  it('refuses an issuer without key source that is not the token service', async () => {
    const getKey: JWTVerifyGetKey = async () => rsa.publicKey
    const problems = await problemsOf([issuer({ issuer: 'other' })], { ownKeys: { issuer: 'gatehouse', getKey } })
    assert.equal(problems[0]?.path, 'jwt.issuers[0]')
  })

  it('accepts http jwksUri on loopback hosts', async () => {
    for (const uri of ['http://127.0.0.1:9/jwks', 'http://localhost:9/jwks', 'http://[::1]:9/jwks', 'https://idp.example/jwks']) {
      const result = await compileJwtVerifier([issuer({ issuer: 'a', jwksUri: uri })], { leewaySeconds: 0, fetchTimeoutMs: 50 })
      assert.ok(result.ok, `${uri}: ${result.ok ? '' : JSON.stringify(result.problems)}`)
      result.verifier.close()
    }
  })
})

describe('userClaim, claimHeaders and maxLifetime (SPEC §9, §12)', () => {
  let key: TestKey
  let verifier: JwtVerifier
  before(async () => {
    key = await makeKeyPair('RS256', 'u-1')
    const pem = join(dir, 'user-claim.pem')
    await writeFile(pem, key.publicPem)
    verifier = await compileOk([
      issuer({
        issuer: 'u',
        publicKeyFile: pem,
        userClaim: 'preferred_username',
        maxLifetime: 'PT1H',
        claimHeaders: { email: 'X-Auth-Email', 'realm_access.roles': 'X-Auth-Roles', obj: 'X-Auth-Obj', n: 'X-Auth-N' },
      }),
    ])
  })
  after(() => verifier.close())
  const claims = (over: Record<string, unknown>) => ({ ...basics('u'), preferred_username: 'alice', ...over })

  it('names the user by userClaim, not sub', async () => {
    const r = await verifier.verify(await mintJwt(claims({ sub: 'uuid-1' }), key))
    assert.ok(r.ok)
    if (r.ok) assert.equal(r.identity.user, 'alice')
  })

  it('refuses a token whose userClaim is absent, empty or not a string', async () => {
    for (const value of [undefined, '', 42, ['alice'], { name: 'alice' }]) {
      const token = await mintJwt(claims({ preferred_username: value }), key)
      assertRejected(await verifier.verify(token), 'token_invalid', token)
    }
  })

  it('takes claim headers from strings, numbers and lists; objects give none', async () => {
    const r = await verifier.verify(await mintJwt(claims({ email: 'a@x.test', realm_access: { roles: ['r1', 'r2'] }, obj: { a: 1 }, n: 7 }), key))
    assert.ok(r.ok)
    if (r.ok) {
      assert.deepEqual(
        r.identity.claimHeaders?.map(([h, v]) => [h, v]),
        [
          ['X-Auth-Email', 'a@x.test'],
          ['X-Auth-Roles', ['r1', 'r2']],
          ['X-Auth-N', '7'],
        ],
      )
    }
  })

  it('maxLifetime PT1H: exp at now + 1 h + leeway passes, one second more is refused', async () => {
    assert.ok((await verifier.verify(await mintJwt(claims({ exp: NOW + 3600 + LEEWAY }), key))).ok)
    const token = await mintJwt(claims({ exp: NOW + 3600 + LEEWAY + 1 }), key)
    assertRejected(await verifier.verify(token), 'token_invalid', token)
  })
})
