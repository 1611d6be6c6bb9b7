// The detail of each jose failure a token can reach after the precheck (issue 19, mutation
// testing: verify-jwt survivors #71–#76): no key in a JWKS file for the kid, two keys for
// it, a signature that is no base64url, an unencoded payload (RFC 7797 `b64: false`, which
// RFC 7519 §7.2 rules out for JWTs), an unknown `crit` extension (RFC 7515 §4.1.11), and a
// key lookup that fails with an error that is no JOSE verdict. Which jose error each case
// raises is jose's own; the check here is that each is answered token_invalid and told apart.
import { strict as assert } from 'node:assert'
import { createHmac } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { errors, type JWTVerifyGetKey } from 'jose'
import type { IssuerConfig } from '../../../src/config/schema.js'
import { compileJwtVerifier, type JwtResult, type JwtVerifier, type JwtVerifierOptions } from '../../../src/credentials/verify-jwt.js'
import { makeKeyPair, mintJwt, type TestKey } from '../../support/mint.js'

const NOW = 1_900_000_000
const SECRET = 'a-32-byte-secret-for-hs256-tests!'
const claims = (iss: string) => ({ iss, sub: 'alice', iat: NOW - 10, exp: NOW + 300 })
const b64u = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
function hs256(header: Record<string, unknown>, payload: unknown): string {
  const input = `${b64u(header)}.${b64u(payload)}`
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`
}

async function verifierOf(issuers: IssuerConfig[], opts: Partial<JwtVerifierOptions> = {}): Promise<JwtVerifier> {
  const r = await compileJwtVerifier(issuers, { leewaySeconds: 30, now: () => NOW * 1000, env: { S: SECRET }, fetchKeys: false, ...opts })
  if (!r.ok) assert.fail(JSON.stringify(r.problems))
  return r.verifier
}
function refused(r: JwtResult, detail: string): void {
  assert.deepEqual(r.ok ? r : { reason: r.reason, detail: r.detail }, { reason: 'token_invalid', detail })
}

let dir: string
let k1: TestKey
let k2: TestKey
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-jose-errors-'))
  k1 = await makeKeyPair('ES256', 'k1')
  k2 = await makeKeyPair('ES256', 'k2')
})
after(() => rm(dir, { recursive: true, force: true }))

for (const signatures of ['node', 'jose'] as const) {
  describe(`jose failures and their details (signatures: ${signatures})`, () => {
    it('a JWKS file with no key for the kid: no key matches the token', async () => {
      const file = join(dir, `one-${signatures}.json`)
      await writeFile(file, JSON.stringify({ keys: [k1.publicJwk] }))
      const v = await verifierOf([{ issuer: 'idp', publicKeyFile: file, algorithms: ['ES256'], jwksCacheSeconds: 300, jwksCooldownSeconds: 30 }], { signatures })
      assert.ok((await v.verify(await mintJwt(claims('idp'), k1))).ok, 'control: its own key verifies')
      refused(await v.verify(await mintJwt(claims('idp'), k2)), 'no key matches the token')
    })

    it('a JWKS file with two keys for the kid: refused as a failed signature', async () => {
      const file = join(dir, `two-${signatures}.json`)
      await writeFile(file, JSON.stringify({ keys: [{ ...k2.publicJwk, kid: 'k1' }, { ...k2.publicJwk, kid: 'k1', x: k1.publicJwk.x, y: k1.publicJwk.y }] }))
      const v = await verifierOf([{ issuer: 'idp', publicKeyFile: file, algorithms: ['ES256'], jwksCacheSeconds: 300, jwksCooldownSeconds: 30 }], { signatures })
      refused(await v.verify(await mintJwt(claims('idp'), k2, { kid: 'k1' })), 'signature verification failed')
    })

    it('a signature that is no base64url: malformed JWS', async () => {
      const v = await verifierOf([{ issuer: 'idp', secretEnv: 'S', algorithms: ['HS256'], jwksCacheSeconds: 300, jwksCooldownSeconds: 30 }], { signatures })
      const token = hs256({ alg: 'HS256' }, claims('idp'))
      refused(await v.verify(`${token.slice(0, token.lastIndexOf('.') + 1)}A`), 'malformed JWS')
    })

    it('an unencoded payload (b64: false) is no JWT: malformed claims set', async () => {
      const v = await verifierOf([{ issuer: 'idp', secretEnv: 'S', algorithms: ['HS256'], jwksCacheSeconds: 300, jwksCooldownSeconds: 30 }], { signatures })
      refused(await v.verify(hs256({ alg: 'HS256', crit: ['b64'], b64: false }, claims('idp'))), 'malformed claims set')
    })

    it('a crit extension it does not know: unsupported token', async () => {
      const v = await verifierOf([{ issuer: 'idp', secretEnv: 'S', algorithms: ['HS256'], jwksCacheSeconds: 300, jwksCooldownSeconds: 30 }], { signatures })
      refused(await v.verify(hs256({ alg: 'HS256', crit: ['urn:example:ext'], 'urn:example:ext': 1 }, claims('idp'))), 'unsupported token')
    })

    it('a key lookup that fails with no JOSE verdict, or an unlisted one: token rejected', async () => {
      for (const thrown of [new Error('store down'), new errors.JWKSTimeout()]) {
        const getKey: JWTVerifyGetKey = async () => {
          throw thrown
        }
        const v = await verifierOf([{ issuer: 'gatehouse', jwksCacheSeconds: 300, jwksCooldownSeconds: 30 }], { signatures, ownKeys: { issuer: 'gatehouse', getKey, algorithms: ['ES256'] } })
        refused(await v.verify(await mintJwt(claims('gatehouse'), k1)), 'token rejected')
      }
    })
  })
}
