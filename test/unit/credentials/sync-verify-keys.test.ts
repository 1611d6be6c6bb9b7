// verifyJwtSync against jose's jwtVerify, stricter than sync-verify.test.ts (issue 19,
// mutation testing): the error message too, and what getKey was handed; every RSA
// algorithm with the one RSA key imported for each of them (a key imported for another
// hash must be refused as jose refuses it), PSS with a salt of the wrong length, the
// fully-specified `Ed25519` alg. Oracle: jose itself, on the same inputs.
import { strict as assert } from 'node:assert'
import { createPublicKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { before, describe, it } from 'node:test'
import { decodeJwt, decodeProtectedHeader, errors, generateKeyPair, importSPKI, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose'
import { verifyJwtSync, type SyncVerifyOptions } from '../../../src/credentials/sync-verify.js'

const NOW = 1_900_000_000
const b64u = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const claims = (over: Record<string, unknown> = {}) => ({ iss: 'idp', aud: 'api', sub: 'alice', iat: NOW - 10, exp: NOW + 300, ...over })
const options = (over: Partial<SyncVerifyOptions> = {}): SyncVerifyOptions => ({ issuer: 'idp', audience: 'api', requiredClaims: ['exp'], clockTolerance: 30, currentDate: new Date(NOW * 1000), ...over })

function mint(header: Record<string, unknown>, payload: unknown, sign: (input: Buffer) => Buffer): string {
  const input = `${b64u(header)}.${b64u(payload)}`
  return `${input}.${sign(Buffer.from(input)).toString('base64url')}`
}

type Outcome = { ok: true; fast: boolean } | { ok: false; name: string; code: string; message: string; claim?: string; reason?: string }

/** Both verifiers on the same token: the outcomes and what each handed getKey must be equal. */
async function agree(token: string, key: unknown, opts: SyncVerifyOptions, what: string): Promise<Outcome> {
  const calls: { ours: unknown[]; jose: unknown[] } = { ours: [], jose: [] }
  const getKeyFor = (into: unknown[]): JWTVerifyGetKey => async (header, input) => {
    into.push(JSON.parse(JSON.stringify([header, input])))
    return key as CryptoKey
  }
  const outcome = async (f: () => Promise<unknown>, given: unknown): Promise<Outcome> => {
    try {
      return { ok: true, fast: (await f()) === given }
    } catch (err) {
      const e = err as Error & { code?: string; claim?: string; reason?: string }
      const base = { ok: false as const, name: e.constructor.name, code: e.code ?? 'none', message: e.message }
      return err instanceof errors.JWTClaimValidationFailed || err instanceof errors.JWTExpired ? { ...base, claim: e.claim, reason: e.reason } : base
    }
  }
  const given = decodeJwt(token)
  const ours = await outcome(() => verifyJwtSync(token, decodeProtectedHeader(token), given, getKeyFor(calls.ours), opts), given)
  const jose = await outcome(async () => (await jwtVerify(token, getKeyFor(calls.jose), opts as JWTVerifyOptions)).payload, null)
  if (ours.ok && jose.ok) assert.ok(ours.fast, `${what}: a modelled token must take the node:crypto path`)
  else assert.deepEqual(ours, jose, what)
  assert.deepEqual(calls.ours, calls.jose, `${what}: getKey arguments`)
  return ours
}

type CryptoKey = Awaited<ReturnType<typeof importSPKI>>
let rsaPrivate: KeyObject
const rsaPublic: Record<string, CryptoKey> = {}
let ed: { publicKey: CryptoKey; privateKey: CryptoKey }
const RSA_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']

before(async () => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 })
  rsaPrivate = pair.privateKey
  const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string
  for (const alg of RSA_ALGS) rsaPublic[alg] = await importSPKI(pem, alg)
  ed = (await generateKeyPair('Ed25519')) as typeof ed
})

const rsaSign = (alg: string, saltLength?: number) => (input: Buffer) =>
  cryptoSign(`sha${alg.slice(2)}`, input, alg.startsWith('PS') ? { key: rsaPrivate, padding: 6, saltLength: saltLength ?? Number(alg.slice(2)) / 8 } : rsaPrivate)

describe('verifyJwtSync agrees with jose, message and getKey arguments included', () => {
  it('one RSA key imported for each RSA algorithm: only its own algorithm verifies', async () => {
    for (const alg of RSA_ALGS) {
      const token = mint({ alg }, claims(), rsaSign(alg))
      for (const keyAlg of RSA_ALGS) {
        const r = await agree(token, rsaPublic[keyAlg], options({ algorithms: RSA_ALGS }), `${alg} token, key for ${keyAlg}`)
        assert.equal(r.ok, alg === keyAlg, `${alg} token, key for ${keyAlg}`)
      }
    }
  })

  it('PSS with a salt that is not the hash length is refused (RFC 7518 §3.5)', async () => {
    for (const saltLength of [0, 20, 64]) {
      const r = await agree(mint({ alg: 'PS256' }, claims(), rsaSign('PS256', saltLength)), rsaPublic.PS256, options(), `PS256 salt ${saltLength}`)
      assert.equal(r.ok, false)
    }
  })

  it('the fully-specified Ed25519 alg and EdDSA, with an Ed25519 key', async () => {
    for (const alg of ['Ed25519', 'EdDSA']) {
      const token = mint({ alg }, claims(), (input) => cryptoSign(null, input, ed.privateKey as unknown as KeyObject))
      assert.equal((await agree(token, ed.publicKey, options(), alg)).ok, true, alg)
    }
  })

  it('without a configured audience or issuer, a token need carry neither aud nor iss', async () => {
    const token = mint({ alg: 'RS256' }, claims({ aud: undefined, iss: undefined }), rsaSign('RS256'))
    const r = await agree(token, rsaPublic.RS256, options({ audience: undefined, issuer: undefined }), 'no aud, no iss')
    assert.equal(r.ok, true)
  })

  it('a public key imported without the verify usage is refused as jose refuses it', async () => {
    // The key the token is signed with: only the missing usage can refuse it.
    const spki = createPublicKey(rsaPrivate).export({ type: 'spki', format: 'der' })
    const noUsage = await crypto.subtle.importKey('spki', spki, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, [])
    assert.equal(noUsage.type, 'public')
    const token = mint({ alg: 'RS256' }, claims(), rsaSign('RS256'))
    const r = await agree(token, noUsage, options(), 'a key without usages')
    assert.equal(r.ok, false)
  })

  it('a KeyObject key (which jose takes too) is left to jose, not refused', async () => {
    const token = mint({ alg: 'RS256' }, claims(), rsaSign('RS256'))
    const keyObject = createPublicKey(rsaPrivate)
    const ours = await verifyJwtSync(token, decodeProtectedHeader(token), decodeJwt(token), async () => keyObject, options())
    const jose = (await jwtVerify(token, async () => keyObject, options() as JWTVerifyOptions)).payload
    assert.deepEqual(ours, jose)
  })

  it('each refusal carries the message jose gives', async () => {
    const good = (c: Record<string, unknown>, h: Record<string, unknown> = { alg: 'RS256' }) => mint(h, c, rsaSign('RS256'))
    const key = rsaPublic.RS256
    const cases: [string, string, Partial<SyncVerifyOptions>][] = [
      ['alg not allowed', good(claims()), { algorithms: ['ES256'] }],
      ['typ', good(claims(), { alg: 'RS256', typ: 'JWT' }), { typ: 'at+jwt' }],
      ['missing exp', good(claims({ exp: undefined })), {}],
      ['missing aud', good(claims({ aud: undefined })), {}],
      ['missing iss', good(claims({ iss: undefined })), {}],
      ['iss', good(claims({ iss: 'x' })), {}],
      ['aud', good(claims({ aud: 'x' })), {}],
      ['nbf', good(claims({ nbf: NOW + 3600 })), {}],
      ['exp', good(claims({ exp: NOW - 3600 })), {}],
      ['iat not a number', good(claims({ iat: 'x' })), {}],
      ['exp not a number', good(claims({ exp: 'x' })), {}],
      ['tolerance', good(claims()), { clockTolerance: -1 }],
      ['date', good(claims()), { currentDate: new Date(Number.NaN) }],
    ]
    for (const [what, token, opts] of cases) assert.equal((await agree(token, key, options(opts), what)).ok, false, what)
    const cut = good(claims())
    assert.equal((await agree(`${cut.slice(0, cut.lastIndexOf('.') + 1)}A`, key, options(), 'signature not base64url')).ok, false)
  })
})
