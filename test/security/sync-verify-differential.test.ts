// Issue 17: Gatehouse checks JWT signatures with node:crypto synchronously
// (src/credentials/sync-verify.ts) instead of jose's WebCrypto path. That is only
// allowed while its verdict equals jose's jwtVerify for every token. The oracle is the
// same verifier compiled with `signatures: 'jose'` (jose's jwtVerify for every token);
// both judge each token of a corpus at the same frozen clock and must return the same
// JwtResult (ok, reason, detail, identity).
//
// The corpus: every JWT row of the attack catalogue §1 (SECURITY.md) that reaches the verifier (rows 33–35
// are about the Authorization header and the URL, decided before it), the named token
// vectors, and fast-check mutations of header, payload and signature of valid tokens
// of every algorithm and key source. DIFF_RUNS (default 150) sets the mutations per
// property; the closing note of issue 17 gives a longer run.
import assert from 'node:assert/strict'
import { createHmac, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import { exportJWK } from 'jose'
import type { IssuerConfig } from '../../src/config/schema.js'
import { compileJwtVerifier, type JwtVerifier } from '../../src/credentials/verify-jwt.js'
import { b64u, handMint, type Signer } from '../support/security-fixture.js'
import { LEEWAY, makeVectorKeys, NOW, TOKEN_VECTORS, vectorIssuers } from '../vectors/tokens.js'

const RUNS = Number(process.env.DIFF_RUNS ?? 150)
const SEED = process.env.DIFF_SEED !== undefined ? Number(process.env.DIFF_SEED) : undefined

type Alg = 'RS256' | 'RS512' | 'PS256' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA' | 'HS256'

interface Signing {
  readonly alg: Alg
  readonly iss: string
  readonly kid?: string
  readonly sign: Signer
  readonly privateKey?: KeyObject
}

const HS_SECRET = 'the-differential-hs256-secret-is-32-bytes+'
const AUD = 'legacy-api'
const CACHE = { jwksCacheSeconds: 300, jwksCooldownSeconds: 30 }

function signerFor(alg: Alg, key: KeyObject): Signer {
  switch (alg) {
    case 'RS256':
      return (i) => cryptoSign('sha256', i, key)
    case 'RS512':
      return (i) => cryptoSign('sha512', i, key)
    case 'PS256':
      return (i) => cryptoSign('sha256', i, { key, padding: 6, saltLength: 32 })
    case 'PS512':
      return (i) => cryptoSign('sha512', i, { key, padding: 6, saltLength: 64 })
    case 'ES256':
      return (i) => cryptoSign('sha256', i, { key, dsaEncoding: 'ieee-p1363' })
    case 'ES384':
      return (i) => cryptoSign('sha384', i, { key, dsaEncoding: 'ieee-p1363' })
    case 'ES512':
      return (i) => cryptoSign('sha512', i, { key, dsaEncoding: 'ieee-p1363' })
    case 'EdDSA':
      return (i) => cryptoSign(null, i, key)
    case 'HS256':
      return (i) => createHmac('sha256', HS_SECRET).update(i).digest()
  }
}

function pair(alg: Alg): { publicKey: KeyObject; privateKey: KeyObject } {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return generateKeyPairSync('rsa', { modulusLength: 2048 })
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' })
  if (alg === 'ES384') return generateKeyPairSync('ec', { namedCurve: 'P-384' })
  if (alg === 'ES512') return generateKeyPairSync('ec', { namedCurve: 'P-521' })
  return generateKeyPairSync('ed25519')
}

let dir: string
let viaJose: JwtVerifier
let viaNode: JwtVerifier
const signings: Signing[] = []
/** RSA key of issuer `pem-rs`, used by the catalogue rows that need "our" RSA key. */
let rsaPublicPem: string
let rsaPrivate: KeyObject
let attackerRsa: KeyObject
let vectorTokens: string[] = []

/** The verdict of both verifiers for one token; they must agree. */
async function same(token: string, why: string): Promise<void> {
  const [a, b] = await Promise.all([viaJose.verify(token), viaNode.verify(token)])
  assert.deepEqual(b, a, `${why}: node:crypto and jose disagree on ${token.length > 300 ? token.slice(0, 300) + '…' : token}`)
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-differential-'))
  const issuers: IssuerConfig[] = []
  // One PEM-file issuer per algorithm (a key imported per alg), with audience and typ on some.
  for (const alg of ['RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const) {
    const { publicKey, privateKey } = pair(alg)
    const iss = `pem-${alg.toLowerCase()}`
    const file = join(dir, `${iss}.pem`)
    await writeFile(file, publicKey.export({ type: 'spki', format: 'pem' }).toString())
    issuers.push({
      ...CACHE,
      issuer: iss,
      publicKeyFile: file,
      algorithms: alg === 'RS256' ? ['RS256', 'RS512', 'PS256'] : [alg],
      ...(alg === 'ES256' ? { audience: AUD } : {}),
      ...(alg === 'EdDSA' ? { requiredType: 'at+jwt' } : {}),
    })
    signings.push({ alg, iss, sign: signerFor(alg, privateKey), privateKey })
    if (alg === 'RS256') {
      rsaPublicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
      rsaPrivate = privateKey
      signings.push({ alg: 'RS512', iss, sign: signerFor('RS512', privateKey), privateKey })
      signings.push({ alg: 'PS256', iss, sign: signerFor('PS256', privateKey), privateKey })
    }
  }
  // A JWKS-file issuer with three keys of different kinds, found by kid, and an audience list.
  const jwks: object[] = []
  for (const [alg, kid] of [['RS256', 'j-rs'], ['PS512', 'j-ps'], ['ES256', 'j-es']] as const) {
    const { publicKey, privateKey } = pair(alg)
    jwks.push({ ...(await exportJWK(publicKey)), kid, alg, use: 'sig' })
    signings.push({ alg, iss: 'jwks-file', kid, sign: signerFor(alg, privateKey), privateKey })
  }
  await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: jwks }))
  issuers.push({ ...CACHE, issuer: 'jwks-file', publicKeyFile: join(dir, 'jwks.json'), algorithms: ['RS256', 'PS512', 'ES256'], audience: [AUD, 'other-api'] })
  // HMAC stays on jose's path in both; it is in the corpus so mixing algs is covered.
  issuers.push({ ...CACHE, issuer: 'hs', secretEnv: 'DIFF_HS', algorithms: ['HS256'] })
  signings.push({ alg: 'HS256', iss: 'hs', sign: signerFor('HS256', rsaPrivate) })
  // The named token vectors' issuers (RS256 JWKS file with scopeMap, PEM with at+jwt).
  const vk = await makeVectorKeys()
  await writeFile(join(dir, 'a.jwks'), JSON.stringify({ keys: [vk.a.publicJwk] }))
  await writeFile(join(dir, 'b.pem'), vk.b.publicPem)
  issuers.push(...vectorIssuers({ aJwksFile: join(dir, 'a.jwks'), bPemFile: join(dir, 'b.pem') }))
  vectorTokens = await Promise.all(TOKEN_VECTORS.map((v) => v.mint(vk)))
  attackerRsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey

  const opts = { leewaySeconds: LEEWAY, now: () => NOW * 1000, env: { DIFF_HS: HS_SECRET } }
  const a = await compileJwtVerifier(issuers, { ...opts, signatures: 'jose' })
  const b = await compileJwtVerifier(issuers, { ...opts, signatures: 'node' })
  if (!a.ok || !b.ok) assert.fail(`compile problems: ${JSON.stringify(a.ok ? (b as { problems: unknown }).problems : a.problems)}`)
  viaJose = a.verifier
  viaNode = b.verifier
})
after(async () => {
  viaJose?.close()
  viaNode?.close()
  await rm(dir, { recursive: true, force: true })
})

const claims = (s: Signing, over: Record<string, unknown> = {}): Record<string, unknown> => ({
  iss: s.iss,
  sub: 'alice',
  aud: AUD,
  iat: NOW,
  exp: NOW + 300,
  jti: 'j-1',
  permissions: { api: 'rw' },
  ...over,
})
const headerOf = (s: Signing, over: Record<string, unknown> = {}): Record<string, unknown> => ({
  alg: s.alg,
  ...(s.kid !== undefined ? { kid: s.kid } : {}),
  ...(s.iss === 'pem-eddsa' ? { typ: 'at+jwt' } : {}),
  ...over,
})
const valid = (s: Signing, claimOver: Record<string, unknown> = {}, headerOver: Record<string, unknown> = {}): string =>
  handMint(headerOf(s, headerOver), claims(s, claimOver), s.sign)
const fast = (): Signing[] => signings.filter((s) => s.alg !== 'HS256')
const sigOf = (t: string): string => t.split('.')[2] as string
const hp = (t: string): string => t.slice(0, t.lastIndexOf('.'))

describe('node:crypto signature checks give jose\'s verdict', () => {
  test('control: every valid token is accepted by both, and the node path does not call WebCrypto for RS/PS/ES/EdDSA', async () => {
    const subtle = globalThis.crypto.subtle
    const realVerify = subtle.verify.bind(subtle)
    let webCryptoCalls = 0
    // A counting wrapper around the real function: which path ran, not a stand-in for it.
    type Verify = typeof subtle.verify
    subtle.verify = ((...args: Parameters<Verify>) => {
      webCryptoCalls++
      return realVerify(...args)
    }) as Verify
    try {
      for (const s of fast()) {
        const t = valid(s)
        const before = webCryptoCalls
        const r = await viaNode.verify(t)
        assert.equal(r.ok, true, `${s.alg} ${s.iss}: ${JSON.stringify(r)}`)
        assert.equal(webCryptoCalls, before, `${s.alg} ${s.iss}: verified without WebCrypto`)
        await viaJose.verify(t)
        assert.equal(webCryptoCalls, before + 1, `${s.alg} ${s.iss}: the oracle used jose's WebCrypto path`)
        await same(t, `${s.alg} ${s.iss}`)
      }
    } finally {
      subtle.verify = realVerify
    }
  })

  test('the named token vectors', async () => {
    for (const [i, t] of vectorTokens.entries()) await same(t, TOKEN_VECTORS[i]?.name ?? String(i))
  })

  test('attack catalogue §1 rows 1–32, as far as they reach the verifier', async () => {
    const rs = signings.find((s) => s.iss === 'pem-rs256' && s.alg === 'RS256') as Signing
    const es = signings.find((s) => s.iss === 'pem-es256') as Signing
    const t1 = valid(rs)
    const cases: [string, string][] = []
    const add = (why: string, token: string) => cases.push([why, token])
    // #1 alg none, every spelling, empty signature and T1's signature
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      add(`#1 ${alg}`, `${b64u({ alg, typ: 'JWT' })}.${b64u(claims(rs))}.`)
      add(`#1 ${alg} old sig`, `${b64u({ alg, typ: 'JWT' })}.${b64u(claims(rs))}.${sigOf(t1)}`)
    }
    // #2 stripping: h.p., truncated signature, exp:0 with a bad signature
    add('#2 empty sig', `${hp(t1)}.`)
    add('#2 truncated sig', t1.slice(0, -4))
    add('#2 exp 0 bad sig', `${b64u(headerOf(rs))}.${b64u(claims(rs, { exp: 0 }))}.${sigOf(t1)}`)
    // #3 weak HMAC secrets, #4 RS->HS confusion with the PEM and its variants
    for (const secret of ['', 'secret', 'password', 'your-256-bit-secret', rsaPublicPem, rsaPublicPem.trim(), ` ${rsaPublicPem}`]) {
      const hs: Signer = (i) => createHmac('sha256', secret).update(i).digest()
      add('#3/#4 HS256 under the RSA issuer', handMint({ alg: 'HS256' }, claims(rs), hs))
      add('#3 HS issuer, weak secret', handMint({ alg: 'HS256' }, claims(signings.find((s) => s.alg === 'HS256') as Signing), hs))
    }
    // #5 alg/key mismatch and alg spellings
    add('#5 RS key as PS256', handMint({ alg: 'PS256' }, claims(rs), rs.sign))
    add('#5 RS key as RS512', handMint({ alg: 'RS512' }, claims(rs), rs.sign))
    add('#5 ES256 key as ES384', handMint({ alg: 'ES384' }, claims(es), es.sign))
    for (const alg of ['rs256', 'RS256 ', '', null, undefined, 1, ['RS256']]) add(`#5 alg ${JSON.stringify(alg)}`, handMint(alg === undefined ? {} : { alg }, claims(rs), rs.sign))
    // #7 ECDSA encodings: DER, 63 and 65 bytes
    const esKey = es.privateKey as KeyObject
    add('#7 DER', handMint(headerOf(es), claims(es), (i) => cryptoSign('sha256', i, { key: esKey, dsaEncoding: 'der' })))
    add('#7 63 bytes', handMint(headerOf(es), claims(es), (i) => es.sign(i).subarray(1)))
    add('#7 65 bytes', handMint(headerOf(es), claims(es), (i) => Buffer.concat([Buffer.alloc(1), es.sign(i)])))
    // #8 embedded jwk, #10 x5c: signed by the attacker
    const attackerJwk = await exportJWK(attackerRsa)
    add('#8 jwk', handMint({ alg: 'RS256', jwk: { kty: 'RSA', n: attackerJwk.n, e: attackerJwk.e } }, claims(rs), signerFor('RS256', attackerRsa)))
    add('#10 x5c', handMint({ alg: 'RS256', x5c: ['MIIB'] }, claims(rs), signerFor('RS256', attackerRsa)))
    // #11, #12 kid injection and shapes, on a PEM issuer and the JWKS issuer
    const j = signings.find((s) => s.iss === 'jwks-file' && s.alg === 'RS256') as Signing
    for (const kid of ['../../../../../../dev/null', "x' UNION SELECT '1';--", '|sleep 10', '$(curl http://127.0.0.1/)', 0, null, [], {}, '', '__proto__', 'constructor', 'toString', 'j-removed', 'x'.repeat(300)]) {
      add(`#12 kid ${JSON.stringify(kid).slice(0, 20)} pem`, handMint({ alg: 'RS256', kid }, claims(rs), rs.sign))
      add(`#12 kid ${JSON.stringify(kid).slice(0, 20)} jwks`, handMint({ alg: 'RS256', kid }, claims(j), j.sign))
    }
    add('#12 jwks without kid', handMint({ alg: 'RS256' }, claims(j), j.sign))
    add('#12 jwks kid of another key', handMint({ alg: 'RS256', kid: 'j-es' }, claims(j), j.sign))
    // #14 foreign privileged claims
    add('#14', valid(rs, { scopes: 'rw:/api/admin', act: { sub: 'root' }, roles: ['admin'] }))
    // #15 crit
    for (const crit of [['x-must-understand'], [], 'b64', ['alg'], ['exp'], ['b64']]) {
      add(`#15 crit ${JSON.stringify(crit)}`, handMint({ alg: 'RS256', crit, 'x-must-understand': 1 }, claims(rs), rs.sign))
    }
    // #16 b64:false with and without crit
    add('#16 b64 false + crit', handMint({ alg: 'RS256', b64: false, crit: ['b64'] }, claims(rs), rs.sign))
    add('#16 b64 false alone', handMint({ alg: 'RS256', b64: false }, claims(rs), rs.sign))
    add('#16 b64 true + crit', handMint({ alg: 'RS256', b64: true, crit: ['b64'] }, claims(rs), rs.sign))
    add('#16 b64 "no"', handMint({ alg: 'RS256', b64: 'no', crit: ['b64'] }, claims(rs), rs.sign))
    // #17 JWE
    add('#17 dir', `${b64u({ alg: 'dir', enc: 'A256GCM' })}..${b64u('iv')}.${b64u('ct')}.${b64u('tag')}`)
    add('#17 PBES2', `${b64u({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', p2c: 2147483647, p2s: 'AAAAAAAAAAA' })}.${b64u('k')}.${b64u('iv')}.${b64u('ct')}.${b64u('tag')}`)
    // #18 nested / non-object payloads, signed with our key
    add('#18 cty JWT', handMint({ alg: 'RS256', cty: 'JWT' }, `${b64u({ alg: 'none' })}.${b64u(claims(rs))}.`, rs.sign))
    add('#18 string', handMint({ alg: 'RS256' }, JSON.stringify('a string'), rs.sign))
    add('#18 array', handMint({ alg: 'RS256' }, [claims(rs)], rs.sign))
    add('#18 null', handMint({ alg: 'RS256' }, 'null', rs.sign))
    // #19 missing exp
    add('#19', valid(rs, { exp: undefined }))
    // #20 time edges (leeway 30)
    for (const [name, over] of [
      ['exp past leeway', { exp: NOW - LEEWAY - 2 }],
      ['exp inside leeway', { exp: NOW - LEEWAY + 2 }],
      ['exp at the edge', { exp: NOW - LEEWAY }],
      ['exp at the edge + 1', { exp: NOW - LEEWAY + 1 }],
      ['exp now', { exp: NOW }],
      ['nbf past leeway', { nbf: NOW + LEEWAY + 2 }],
      ['nbf inside leeway', { nbf: NOW + LEEWAY - 2 }],
      ['nbf at the edge', { nbf: NOW + LEEWAY }],
      ['exp before nbf', { nbf: NOW + 10, exp: NOW + 5 }],
      ['iat future', { iat: NOW + LEEWAY + 5 }],
      ['exp string', { exp: String(NOW + 300) }],
      ['exp 1e400', { exp: 1e400 }],
      ['nbf null', { nbf: null }],
      ['iat []', { iat: [] }],
      ['exp fraction', { exp: NOW - LEEWAY + 0.5 }],
    ] as const) {
      add(`#20 ${name}`, valid(rs, over as Record<string, unknown>))
    }
    // #23 iss
    for (const iss of ['pem-rs256/', 'PEM-RS256', 'pem-rs256.evil.example', ['pem-rs256'], ['evil', 'pem-rs256'], undefined]) {
      add(`#23 iss ${JSON.stringify(iss)}`, valid(rs, { iss }))
    }
    // #24 aud on the issuers that require one
    const ja = signings.find((s) => s.iss === 'jwks-file' && s.alg === 'ES256') as Signing
    for (const aud of [['other', AUD], ['other'], [], undefined, `${AUD} `, AUD.toUpperCase(), {}, 1, 'other-api', ['x', 'other-api'], [1, AUD]]) {
      add(`#24 aud ${JSON.stringify(aud)} es`, valid(es, { aud }))
      add(`#24 aud ${JSON.stringify(aud)} jwks`, valid(ja, { aud }))
    }
    // #25 typ where at+jwt is required
    const ed = signings.find((s) => s.iss === 'pem-eddsa') as Signing
    for (const typ of ['JWT', 'at+JWT', 'application/at+jwt', 'AT+JWT', 'application/AT+JWT', 'at+jwt ', undefined, 1]) {
      add(`#25 typ ${JSON.stringify(typ)}`, handMint({ alg: 'EdDSA', ...(typ !== undefined ? { typ } : {}) }, claims(ed), ed.sign))
    }
    add('#25 Ed25519 alg name', handMint({ alg: 'Ed25519', typ: 'at+jwt' }, claims(ed), ed.sign))
    // #26 malformed compact forms
    const [h, p, s] = t1.split('.') as [string, string, string]
    for (const [name, tok] of [
      ['4 parts', `${t1}.x`],
      ['2 parts', `${h}.${p}`],
      ['empty header', `.${p}.${s}`],
      ['empty payload', `${h}..${s}`],
      ['std base64', `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}`],
      ['padding', `${t1}==`],
      ['non-ASCII', `${h}.${p}.${s}é`],
      ['%2E', `${h}%2E${p}.${s}`],
      ['leading TAB', `\t${t1}`],
      ['sig length 4n+1', `${t1}A`],
      ['sig length 4n+2', `${t1}AA`],
      ['sig non-canonical last char', `${t1.slice(0, -1)}${t1.endsWith('A') ? 'B' : 'A'}`],
    ] as const) {
      add(`#26 ${name}`, tok)
    }
    // #29 encoding: invalid UTF-8, lone surrogate, BOM, UTF-16
    add('#29 invalid UTF-8', handMint({ alg: 'RS256' }, Buffer.concat([Buffer.from('{"iss":"pem-rs256","sub":"a'), Buffer.from([0xc0, 0xaf]), Buffer.from(`b","exp":${NOW + 300}}`)]), rs.sign))
    add('#29 lone surrogate', handMint({ alg: 'RS256' }, `{"iss":"pem-rs256","sub":"\\ud800","exp":${NOW + 300}}`, rs.sign))
    add('#29 BOM', handMint({ alg: 'RS256' }, `\ufeff${JSON.stringify(claims(rs))}`, rs.sign))
    add('#29 UTF-16', handMint({ alg: 'RS256' }, Buffer.from(JSON.stringify(claims(rs)), 'utf16le'), rs.sign))
    add('#29 invalid UTF-8 header', handMint(Buffer.concat([Buffer.from('{"alg":"RS256","x":"'), Buffer.from([0xff]), Buffer.from('"}')]), claims(rs), rs.sign))
    // #32 size: a 15 KB well-formed token, many claims
    add('#32 15 KB', valid(rs, { pad: 'x'.repeat(11_000) }))
    add('#32 many claims', valid(rs, Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`c${i}`, i]))))
    for (const [why, token] of cases) await same(token, why)
    assert.ok(cases.length > 150, `the corpus has ${cases.length} catalogue tokens`)
  })

  // fast-check mutations of valid tokens of every algorithm and key source.
  const signingArb = () => fc.constantFrom(...signings)
  const json = fc.jsonValue({ maxDepth: 2 })
  const claimValue = fc.oneof(
    fc.integer({ min: NOW - 400, max: NOW + 400 }),
    fc.constantFrom(NOW - LEEWAY, NOW + LEEWAY, NOW - LEEWAY - 1, NOW + LEEWAY + 1, 0, -1, 1e400, Number.MAX_SAFE_INTEGER),
    fc.double(),
    json,
  )
  const params = () => ({ numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) })

  test('header mutations, re-signed with the right key', async () => {
    const headerArb = fc.record(
      {
        alg: fc.oneof(fc.constantFrom('RS256', 'RS512', 'PS256', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'HS256', 'none', 'RS1'), json),
        kid: fc.oneof(fc.constantFrom('j-rs', 'j-ps', 'j-es', 'a-1', '__proto__'), json),
        typ: fc.oneof(fc.constantFrom('at+jwt', 'JWT', 'application/at+jwt'), json),
        crit: fc.oneof(fc.constant(['b64']), fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }), json),
        b64: fc.oneof(fc.boolean(), json),
        extra: json,
      },
      { requiredKeys: [] },
    )
    await fc.assert(
      fc.asyncProperty(signingArb(), headerArb, fc.boolean(), async (s, over, keepAlg) => {
        const header = { ...headerOf(s), ...over }
        if (keepAlg) header.alg = s.alg
        await same(handMint(header, claims(s), s.sign), 'header mutation')
      }),
      params(),
    )
  })

  test('payload mutations, re-signed with the right key', async () => {
    const names = fc.constantFrom('iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'act', 'permissions', 'scope', 'scp', 'client_id', '__proto__')
    await fc.assert(
      fc.asyncProperty(signingArb(), fc.dictionary(names, claimValue, { maxKeys: 4 }), fc.array(names, { maxLength: 2 }), async (s, over, removed) => {
        const c = claims(s, over)
        for (const r of removed) delete c[r]
        await same(handMint(headerOf(s), c, s.sign), 'payload mutation')
      }),
      params(),
    )
  })

  test('signature mutations: bit flips, truncation, extension, other lengths, another key', async () => {
    await fc.assert(
      fc.asyncProperty(
        signingArb(),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        fc.constantFrom('flip', 'truncate', 'extend', 'zero', 'random', 'swap-key'),
        fc.uint8Array({ maxLength: 600 }),
        async (s, pos, bit, how, bytes) => {
          const t = valid(s)
          const sig = Buffer.from(sigOf(t), 'base64url')
          let next: Buffer
          switch (how) {
            case 'flip':
              next = Buffer.from(sig)
              next[pos % next.length] = (next[pos % next.length] as number) ^ (1 << bit)
              break
            case 'truncate':
              next = sig.subarray(0, pos % sig.length)
              break
            case 'extend':
              next = Buffer.concat([sig, Buffer.from(bytes.subarray(0, 1 + (pos % 3)))])
              break
            case 'zero':
              next = Buffer.alloc(sig.length)
              break
            case 'random':
              next = Buffer.from(bytes)
              break
            default: {
              const other = signings[pos % signings.length] as Signing
              next = other.sign(Buffer.from(hp(t), 'ascii'))
            }
          }
          await same(`${hp(t)}.${next.toString('base64url')}`, `signature ${how}`)
        },
      ),
      params(),
    )
  })

  test('raw character mutations anywhere in the token', async () => {
    const alphabet = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ '.split(''))
    await fc.assert(
      fc.asyncProperty(signingArb(), fc.array(fc.tuple(fc.nat(), alphabet, fc.constantFrom('replace', 'insert', 'delete')), { minLength: 1, maxLength: 3 }), async (s, edits) => {
        let t = valid(s)
        for (const [pos, ch, op] of edits) {
          const i = pos % (t.length + 1)
          t = op === 'replace' ? t.slice(0, i) + ch + t.slice(i + 1) : op === 'insert' ? t.slice(0, i) + ch + t.slice(i) : t.slice(0, i) + t.slice(i + 1)
        }
        await same(t, 'character edit')
      }),
      params(),
    )
  })

  test('header and payload of one token with the signature of another (splicing)', async () => {
    await fc.assert(
      fc.asyncProperty(signingArb(), signingArb(), fc.boolean(), async (s1, s2, swapPayload) => {
        const a = valid(s1).split('.')
        const b = valid(s2, { sub: 'mallory' }).split('.')
        const token = swapPayload ? `${a[0]}.${b[1]}.${a[2]}` : `${b[0]}.${a[1]}.${a[2]}`
        await same(token, 'splice')
      }),
      params(),
    )
  })
})
