// verifyJwtSync against its oracle, jose's own jwtVerify, called directly (issue 19,
// mutation testing): the same token, key and options through both, and the same
// verdict — the payload, or an error of the same class with the same claim and reason.
// The cases sit on the edges sync-verify.ts models itself: each algorithm with the
// right, a wrong and a too-small key, typ spellings, audience and issuer lists,
// required claims, nbf/exp exactly at now ± tolerance, non-numeric dates, odd
// tolerances and dates, crit/b64 headers, a bad signature encoding.
import { strict as assert } from 'node:assert'
import { createHmac, KeyObject, sign as cryptoSign, webcrypto } from 'node:crypto'
import { before, describe, it } from 'node:test'
import { decodeJwt, decodeProtectedHeader, errors, generateKeyPair, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose'
import { verifyJwtSync, type SyncVerifyOptions } from '../../../src/credentials/sync-verify.js'

type CryptoKey = webcrypto.CryptoKey
const NOW = 1_900_000_000
const AT = new Date(NOW * 1000)

interface Pair {
  readonly publicKey: CryptoKey
  readonly privateKey: CryptoKey
}

const b64u = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')

/** A compact JWS signed by node:crypto with the scheme of `alg` (RFC 7518 §3), whatever the header says. */
function mint(alg: string, pair: Pair, header: Record<string, unknown>, claims: unknown): string {
  const input = `${b64u(header)}.${b64u(claims)}`
  const key = KeyObject.from(pair.privateKey)
  const bits = alg.slice(2)
  const digest = alg === 'EdDSA' || alg === 'Ed25519' ? null : `sha${bits}`
  const options = alg.startsWith('PS')
    ? { key, padding: 6, saltLength: Number(bits) / 8 }
    : alg.startsWith('ES')
      ? { key, dsaEncoding: 'ieee-p1363' as const }
      : { key }
  return `${input}.${cryptoSign(digest, Buffer.from(input), options).toString('base64url')}`
}

type Verdict = { ok: true; payload: unknown } | { ok: false; name: string; code: string; claim?: string; reason?: string }

function verdictOf(err: unknown): Verdict {
  if (err instanceof errors.JWTClaimValidationFailed || err instanceof errors.JWTExpired) {
    return { ok: false, name: err.constructor.name, code: err.code, claim: err.claim, reason: err.reason }
  }
  if (err instanceof errors.JOSEError) return { ok: false, name: err.constructor.name, code: err.code }
  return { ok: false, name: (err as Error).constructor.name, code: 'none' }
}

/**
 * `via`: who checked the signature of an accepted token. The node:crypto path hands back
 * the claims object it was given; jose parses the token again and returns a new one.
 */
async function both(token: string, getKey: JWTVerifyGetKey, options: SyncVerifyOptions): Promise<{ ours: Verdict; jose: Verdict; via: 'node' | 'jose' }> {
  const run = async (f: () => Promise<unknown>): Promise<Verdict> => {
    try {
      return { ok: true, payload: await f() }
    } catch (err) {
      return verdictOf(err)
    }
  }
  const claims = decodeJwt(token)
  const ours = await run(() => verifyJwtSync(token, decodeProtectedHeader(token), claims, getKey, options))
  const jose = await run(async () => (await jwtVerify(token, getKey, options as JWTVerifyOptions)).payload)
  return { ours, jose, via: ours.ok && ours.payload === claims ? 'node' : 'jose' }
}

/** Same verdict as jose; an accepted token checked by `via` (the common case must take the fast path). */
async function agree(token: string, getKey: JWTVerifyGetKey, options: SyncVerifyOptions, what: string, via: 'node' | 'jose' = 'node'): Promise<Verdict> {
  const r = await both(token, getKey, options)
  assert.deepEqual(r.ours, r.jose, what)
  if (r.jose.ok) assert.equal(r.via, via, `${what}: checked by`)
  return r.jose
}

const keys: Record<string, Pair> = {}
before(async () => {
  const make = async (name: string, alg: string, opts: Record<string, unknown> = {}) => {
    keys[name] = (await generateKeyPair(alg, { extractable: true, ...opts })) as Pair
  }
  await make('RS256', 'RS256')
  await make('PS256', 'PS256')
  await make('ES256', 'ES256')
  await make('ES384', 'ES384')
  await make('ES512', 'ES512')
  await make('EdDSA', 'EdDSA')
  // jose will not generate it; WebCrypto will.
  keys['RS256-1024'] = (await webcrypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )) as Pair
})

const claims = (over: Record<string, unknown> = {}) => ({ iss: 'idp', aud: 'api', sub: 'alice', iat: NOW - 10, exp: NOW + 300, ...over })
const base = (over: Partial<SyncVerifyOptions> = {}): SyncVerifyOptions => ({ algorithms: ['ES256'], issuer: 'idp', audience: 'api', requiredClaims: ['exp'], clockTolerance: 30, currentDate: AT, ...over })

describe('verifyJwtSync agrees with jose jwtVerify', () => {
  it('every modelled algorithm: its own key passes, every other key fails the same way', async () => {
    // One RSA key per padding: RSA key generation is slow, and RS384/PS512 differ only in their digest.
    const algs = ['RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA']
    let passed = 0
    for (const alg of algs) {
      const token = mint(alg, keys[alg] as Pair, { alg }, claims())
      for (const keyName of [...algs, 'RS256-1024']) {
        const v = await agree(token, async () => (keys[keyName] as Pair).publicKey, base({ algorithms: [alg] }), `${alg} token, ${keyName} key`)
        if (v.ok) passed++
        assert.equal(v.ok, keyName === alg, `${alg} token, ${keyName} key`)
      }
    }
    assert.equal(passed, algs.length)
  })

  it('a key jose will not use: private, an RSA key under 2048 bits, a secret', async () => {
    const small = mint('RS256', keys['RS256-1024'] as Pair, { alg: 'RS256' }, claims())
    const v = await agree(small, async () => (keys['RS256-1024'] as Pair).publicKey, base({ algorithms: ['RS256'] }), 'RSA 1024')
    assert.equal(v.ok, false)
    const token = mint('ES256', keys.ES256 as Pair, { alg: 'ES256' }, claims())
    assert.equal((await agree(token, async () => (keys.ES256 as Pair).privateKey, base(), 'private key')).ok, false)
    const secret = new Uint8Array(32)
    assert.equal((await agree(token, async () => secret, base(), 'a secret for ES256')).ok, false)
  })

  it('a signature that is not base64url, or tampered', async () => {
    const token = mint('ES256', keys.ES256 as Pair, { alg: 'ES256' }, claims())
    const getKey = async () => (keys.ES256 as Pair).publicKey
    const cut = token.lastIndexOf('.') + 1
    for (const sig of ['', 'A', 'AAAA', token.slice(cut).replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))])
      assert.equal((await agree(token.slice(0, cut) + sig, getKey, base(), `signature ${sig.slice(0, 8)}`)).ok, false)
  })

  it('the algorithms option: an alg not listed is refused before a key is asked for', async () => {
    const token = mint('ES256', keys.ES256 as Pair, { alg: 'ES256' }, claims())
    let asked = 0
    const getKey = async () => {
      asked++
      return (keys.ES256 as Pair).publicKey
    }
    const v = await agree(token, getKey, base({ algorithms: ['ES384', 'RS256'] }), 'not listed')
    assert.equal(v.ok, false)
    assert.equal(asked, 0)
    assert.equal((await agree(token, getKey, base({ algorithms: undefined }), 'no algorithms option')).ok, true)
  })

  it('crit and b64 headers go to jose', async () => {
    const getKey = async () => (keys.ES256 as Pair).publicKey
    const cases: [Record<string, unknown>, boolean][] = [
      [{ alg: 'ES256', crit: ['exp'], exp: 1 }, false],
      [{ alg: 'ES256', crit: [] }, false],
      [{ alg: 'ES256', b64: true, crit: ['b64'] }, true],
      [{ alg: 'ES256', b64: false, crit: ['b64'] }, false],
      [{ alg: 'ES256', b64: false }, true], // RFC 7797 §6: b64 means nothing unless crit names it
    ]
    for (const [header, ok] of cases) {
      assert.equal((await agree(mint('ES256', keys.ES256 as Pair, header, claims()), getKey, base(), JSON.stringify(header), 'jose')).ok, ok, JSON.stringify(header))
    }
  })

  it('typ: compared as a media type, case-insensitively, application/ implied', async () => {
    const getKey = async () => (keys.ES256 as Pair).publicKey
    const cases: [unknown, string, boolean][] = [
      ['at+jwt', 'at+jwt', true],
      ['AT+JWT', 'at+jwt', true],
      ['application/at+jwt', 'at+jwt', true],
      ['Application/AT+JWT', 'at+jwt', true],
      ['at+jwt', 'application/at+jwt', true],
      ['JWT', 'at+jwt', false],
      ['at+jwt', 'JWT', false],
      ['x/at+jwt', 'at+jwt', false],
      ['application/jwt', 'at+jwt', false],
      [undefined, 'at+jwt', false],
      [7, 'at+jwt', false],
    ]
    for (const [typ, wanted, ok] of cases) {
      const header = typ === undefined ? { alg: 'ES256' } : { alg: 'ES256', typ }
      const v = await agree(mint('ES256', keys.ES256 as Pair, header, claims()), getKey, base({ typ: wanted }), `typ ${String(typ)} against ${wanted}`)
      assert.equal(v.ok, ok, `typ ${String(typ)} against ${wanted}`)
    }
  })

  it('issuer, audience and required claims: presence first, then values', async () => {
    const getKey = async () => (keys.ES256 as Pair).publicKey
    const t = (over: Record<string, unknown>) => mint('ES256', keys.ES256 as Pair, { alg: 'ES256' }, claims(over))
    const cases: [Record<string, unknown>, Partial<SyncVerifyOptions>, boolean][] = [
      [{}, {}, true],
      [{ iss: undefined }, {}, false],
      [{ aud: undefined }, {}, false],
      [{ aud: undefined, iss: undefined }, {}, false],
      [{ exp: undefined }, {}, false],
      [{ exp: undefined, aud: undefined }, {}, false],
      [{ iss: 'other' }, {}, false],
      [{ iss: 'other' }, { issuer: ['idp', 'other'] }, true],
      [{ iss: 'idp' }, { issuer: ['x', 'y'] }, false],
      [{ iss: ['idp'] }, {}, false],
      [{ aud: 'other' }, {}, false],
      [{ aud: ['other', 'api'] }, {}, true],
      [{ aud: ['other'] }, {}, false],
      [{ aud: [] }, {}, false],
      [{ aud: 7 }, {}, false],
      [{ aud: 'b' }, { audience: ['a', 'b'] }, true],
      [{ aud: ['c', 'b'] }, { audience: ['a', 'b'] }, true],
      [{ aud: ['c'] }, { audience: ['a', 'b'] }, false],
      [{ aud: 'x' }, { audience: undefined }, true],
      [{ iss: 'x' }, { issuer: undefined }, true],
      [{ jti: 'j' }, { requiredClaims: ['exp', 'jti'] }, true],
      [{}, { requiredClaims: ['exp', 'jti'] }, false],
      [{ exp: undefined }, { requiredClaims: [] }, true],
      [{ exp: undefined }, { requiredClaims: undefined }, true],
    ]
    for (const [over, opts, ok] of cases) {
      const v = await agree(t(over), getKey, base(opts), `${JSON.stringify(over)} with ${JSON.stringify(opts)}`)
      assert.equal(v.ok, ok, `${JSON.stringify(over)} with ${JSON.stringify(opts)}`)
    }
  })

  it('nbf and exp exactly at now ± clockTolerance, and dates that are not numbers', async () => {
    const getKey = async () => (keys.ES256 as Pair).publicKey
    const t = (over: Record<string, unknown>) => mint('ES256', keys.ES256 as Pair, { alg: 'ES256' }, claims(over))
    const cases: [Record<string, unknown>, Partial<SyncVerifyOptions>][] = []
    for (const tolerance of [0, 30, undefined]) {
      const tol = tolerance ?? 0
      for (const d of [-1, 0, 1]) {
        cases.push([{ nbf: NOW + tol + d }, { clockTolerance: tolerance }])
        cases.push([{ exp: NOW - tol + d }, { clockTolerance: tolerance }])
      }
    }
    for (const bad of ['1', null, true, [1], { n: 1 }]) {
      for (const claim of ['iat', 'nbf', 'exp']) cases.push([{ [claim]: bad }, {}])
    }
    cases.push([{ iat: NOW + 3600 }, {}], [{ exp: NOW + 0.5 }, { clockTolerance: 0, currentDate: new Date(NOW * 1000 + 999) }], [{ nbf: NOW + 1 }, { clockTolerance: 0, currentDate: new Date(NOW * 1000 + 999) }])
    let ok = 0
    for (const [over, opts] of cases) if ((await agree(t(over), getKey, base(opts), `${JSON.stringify(over)} with ${JSON.stringify(opts)}`)).ok) ok++
    assert.ok(ok > 5 && ok < cases.length - 5, `${ok} of ${cases.length} accepted`)
  })

  it('a tolerance or date jose refuses is refused the same way', async () => {
    const getKey = async () => (keys.ES256 as Pair).publicKey
    const token = mint('ES256', keys.ES256 as Pair, { alg: 'ES256' }, claims())
    for (const opts of [{ clockTolerance: -1 }, { clockTolerance: Number.NaN }, { clockTolerance: Number.POSITIVE_INFINITY }, { currentDate: new Date(Number.NaN) }]) {
      assert.equal((await agree(token, getKey, base(opts), JSON.stringify(opts))).ok, false, String(Object.values(opts)[0]))
    }
  })

  it('options it does not model go to jose', async () => {
    const getKey = async () => (keys.ES256 as Pair).publicKey
    const t = (over: Record<string, unknown>) => mint('ES256', keys.ES256 as Pair, { alg: 'ES256' }, claims(over))
    assert.equal((await agree(t({}), getKey, base({ subject: 'bob' }), 'subject')).ok, false)
    assert.equal((await agree(t({ iat: NOW - 100 }), getKey, base({ maxTokenAge: 50 }), 'maxTokenAge')).ok, false)
    assert.equal((await agree(t({}), getKey, base({ subject: 'alice' }), 'subject met', 'jose')).ok, true)
    assert.equal((await agree(t({}), getKey, base({ maxTokenAge: 3600 }), 'maxTokenAge met', 'jose')).ok, true)
    assert.equal((await agree(t({}), getKey, base({ clockTolerance: undefined }), 'no clockTolerance')).ok, true)
    assert.equal((await agree(t({ exp: NOW - 40 }), getKey, base({ clockTolerance: '1 minute' }), 'clockTolerance as text', 'jose')).ok, true)
    assert.equal((await agree(t({}), getKey, base({ crit: { exp: true } }), 'crit option', 'jose')).ok, true)
  })

  it('an alg jose has and this file does not model (HS256) goes to jose', async () => {
    const secret = new Uint8Array(32).fill(7)
    const input = `${b64u({ alg: 'HS256' })}.${b64u(claims())}`
    const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
    assert.equal((await agree(token, async () => secret, base({ algorithms: ['HS256'] }), 'HS256', 'jose')).ok, true)
  })
})
