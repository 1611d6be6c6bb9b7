// compileKeySource (SPEC §5 JWT key sources; README "JWT issuers"), called directly:
// exactly one key source, the default algorithms, HS* secrets of at least the hash length
// (RFC 7518 §3.2) counted in bytes, never HS* with a public key (RFC 8725 §3.1), PEM and
// JWKS files (a private key refused, RSA below 2048 bits refused), remote sources unstarted
// and pooled by source and timing. EC and Ed25519 keys, so nothing slow is generated.
import { strict as assert } from 'node:assert'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { errors, exportJWK } from 'jose'
import type { IssuerConfig } from '../../../src/config/schema.js'
import { createJwksPool } from '../../../src/credentials/jwks-pool.js'
import { compileKeySource, type KeySource, type KeySourceOptions } from '../../../src/credentials/jwt-keys.js'
import { makeKeyPair, type TestKey } from '../../support/mint.js'

const opts = (over: Partial<KeySourceOptions> = {}): KeySourceOptions => ({
  now: () => 1_000_000,
  env: {},
  fetchTimeoutMs: 5000,
  maxJwksBytes: 512 * 1024,
  maxBackoffMs: 300_000,
  ...over,
})
const AT = 'jwt.issuers[0]'
const header = (alg: string, kid?: string) => ({ alg, ...(kid === undefined ? {} : { kid }) })
const NO_TOKEN = { payload: '', signature: '' }

/** An issuer entry as the schema gives it, except that jwksCacheSeconds and jwksCooldownSeconds may be left out. */
type Cfg = Omit<IssuerConfig, 'jwksCacheSeconds' | 'jwksCooldownSeconds'> & Partial<IssuerConfig>

async function ok(cfg: Cfg, o: Partial<KeySourceOptions> = {}): Promise<KeySource> {
  const r = await compileKeySource(cfg as IssuerConfig, AT, opts(o))
  if (!r.ok) assert.fail(JSON.stringify(r.problems))
  return r.source
}
async function problems(cfg: Cfg, o: Partial<KeySourceOptions> = {}) {
  const r = await compileKeySource(cfg as IssuerConfig, AT, opts(o))
  if (r.ok) {
    r.source.remote?.close()
    assert.fail('expected problems')
  }
  return r.problems
}

let dir: string
let ec: TestKey
let ed: TestKey
const file = async (name: string, text: string): Promise<string> => {
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-jwt-keys-'))
  ec = await makeKeyPair('ES256', 'ec-1')
  ed = await makeKeyPair('EdDSA', 'ed-1')
})
after(() => rm(dir, { recursive: true, force: true }))

describe('compileKeySource: one key source, its algorithms', () => {
  it('two key sources are refused, naming both; discovery: false is no source', async () => {
    const pem = await file('one.pem', ec.publicPem)
    assert.deepEqual(await problems({ issuer: 'a', jwksUri: 'https://idp.example/jwks', publicKeyFile: pem }), [
      { path: AT, message: 'has jwksUri and publicKeyFile: an issuer has exactly one key source (SPEC §5)' },
    ])
    assert.deepEqual(await problems({ issuer: 'a', secretEnv: 'S', discovery: true }), [
      { path: AT, message: 'has secretEnv and discovery: an issuer has exactly one key source (SPEC §5)' },
    ])
    const source = await ok({ issuer: 'a', publicKeyFile: pem, discovery: false, algorithms: ['ES256'] })
    assert.equal(source.remote, null)
  })

  it('defaults: RS256 for a public key, HS256 for a secret, the own keys\' algorithms for the own issuer', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }) as string
    const rsaFile = await file('rsa.pem', rsa)
    assert.deepEqual((await ok({ issuer: 'a', publicKeyFile: rsaFile })).algorithms, ['RS256'])
    assert.deepEqual((await ok({ issuer: 'a', secretEnv: 'S' }, { env: { S: 'k'.repeat(32) } })).algorithms, ['HS256'])
    const getKey = async () => ec.publicKey
    const own = { issuer: 'gatehouse', getKey, algorithms: ['ES256', 'EdDSA'] as const, requiredType: 'at+jwt' }
    const source = await ok({ issuer: 'gatehouse' }, { ownKeys: own })
    assert.deepEqual(source.algorithms, ['ES256', 'EdDSA'])
    assert.equal(source.getKey, getKey)
    assert.equal(source.requiredType, 'at+jwt')
    assert.equal(source.remote, null)
    // The config's algorithms win over the own keys'.
    assert.deepEqual((await ok({ issuer: 'gatehouse', algorithms: ['EdDSA'] }, { ownKeys: own })).algorithms, ['EdDSA'])
    // Only the entry named like the own issuer, and only without a key source of its own.
    assert.deepEqual(await problems({ issuer: 'other' }, { ownKeys: own }), [
      { path: AT, message: "has no key source: set jwksUri, discovery, publicKeyFile or secretEnv (only the token service's own issuer may omit it)" },
    ])
    // RSA exactly 2048 bits is enough.
    const ownWithFile = await ok({ issuer: 'gatehouse', publicKeyFile: rsaFile }, { ownKeys: own })
    assert.deepEqual(ownWithFile.algorithms, ['RS256'])
    assert.notEqual(ownWithFile.getKey, getKey)
  })

  it('an algorithm outside the supported list is named', async () => {
    assert.deepEqual(await problems({ issuer: 'a', secretEnv: 'S', algorithms: ['none', 'HS256', 'foo'] as never }, { env: { S: 'k'.repeat(32) } }), [
      { path: `${AT}.algorithms`, message: 'unsupported algorithm none, foo' },
    ])
  })

  it('never an HMAC algorithm with a public key (RFC 8725 §3.1)', async () => {
    // Without own keys at all, the same.
    assert.deepEqual(await problems({ issuer: 'a' }), [
      { path: AT, message: "has no key source: set jwksUri, discovery, publicKeyFile or secretEnv (only the token service's own issuer may omit it)" },
    ])
    const pem = await file('hs.pem', ec.publicPem)
    assert.deepEqual(await problems({ issuer: 'a', publicKeyFile: pem, algorithms: ['ES256', 'HS256', 'HS512'] }), [
      { path: `${AT}.algorithms`, message: 'HS256, HS512 needs secretEnv; an HMAC algorithm never uses a public key (RFC 8725 §3.1)' },
    ])
  })
})

describe('compileKeySource: secretEnv', () => {
  it('the secret, as bytes, for every allowed HS algorithm', async () => {
    const source = await ok({ issuer: 'a', secretEnv: 'S', algorithms: ['HS256', 'HS384'] }, { env: { S: 's'.repeat(48) } })
    assert.deepEqual(await source.getKey(header('HS256'), NO_TOKEN), new TextEncoder().encode('s'.repeat(48)))
    assert.equal(source.remote, null)
  })

  it('at least the hash length in bytes (RFC 7518 §3.2): 32, 48, 64', async () => {
    for (const [alg, min] of [['HS256', 32], ['HS384', 48], ['HS512', 64]] as const) {
      await ok({ issuer: 'a', secretEnv: 'S', algorithms: [alg] }, { env: { S: 'k'.repeat(min) } })
      assert.deepEqual(await problems({ issuer: 'a', secretEnv: 'S', algorithms: [alg] }, { env: { S: 'k'.repeat(min - 1) } }), [
        { path: `${AT}.secretEnv`, message: `the secret in S is ${min - 1} bytes; ${alg} needs at least ${min} (RFC 7518 §3.2)` },
      ])
    }
    // Bytes, not characters: 16 two-byte characters are 32 bytes.
    await ok({ issuer: 'a', secretEnv: 'S' }, { env: { S: 'é'.repeat(16) } })
  })

  it('every problem at once: another algorithm and a short secret', async () => {
    assert.deepEqual(await problems({ issuer: 'a', secretEnv: 'S', algorithms: ['HS256', 'ES256', 'RS256'] }, { env: { S: 'short' } }), [
      { path: `${AT}.algorithms`, message: 'secretEnv allows only HS256, HS384 or HS512, not ES256, RS256' },
      { path: `${AT}.secretEnv`, message: 'the secret in S is 5 bytes; HS256 needs at least 32 (RFC 7518 §3.2)' },
    ])
    assert.deepEqual(await problems({ issuer: 'a', secretEnv: 'S', algorithms: ['ES256'] }, { env: {} }), [
      { path: `${AT}.algorithms`, message: 'secretEnv allows only HS256, HS384 or HS512, not ES256' },
      { path: `${AT}.secretEnv`, message: 'environment variable S is not set or empty' },
    ])
    assert.deepEqual(await problems({ issuer: 'a', secretEnv: 'S' }, { env: { S: '' } }), [
      { path: `${AT}.secretEnv`, message: 'environment variable S is not set or empty' },
    ])
  })
})

describe('compileKeySource: publicKeyFile', () => {
  it('a PEM key is bound to the configured algorithms: another alg is not allowed', async () => {
    const pem = await file('ed.pem', `\n  ${ed.publicPem}\n`)
    const source = await ok({ issuer: 'a', publicKeyFile: pem, algorithms: ['EdDSA', 'Ed25519'] })
    const key = (await source.getKey(header('EdDSA'), NO_TOKEN)) as unknown as { type: string; algorithm: { name: string } }
    assert.equal(key.type, 'public')
    assert.equal(key.algorithm.name, 'Ed25519')
    assert.ok(await source.getKey(header('Ed25519'), NO_TOKEN))
    await assert.rejects(Promise.resolve(source.getKey(header('ES256'), NO_TOKEN)), {
      name: 'JOSEAlgNotAllowed',
      message: '"alg" (Algorithm) Header Parameter value not allowed',
    })
  })

  it('a relative file is read from baseDir, an absolute one as it is', async () => {
    await file('rel.pem', ec.publicPem)
    await ok({ issuer: 'a', publicKeyFile: 'rel.pem', algorithms: ['ES256'] }, { baseDir: dir })
    await ok({ issuer: 'a', publicKeyFile: join(dir, 'rel.pem'), algorithms: ['ES256'] }, { baseDir: '/nonexistent' })
    // Without baseDir, a relative file is read from the working directory.
    assert.deepEqual(await problems({ issuer: 'a', publicKeyFile: 'no-such-relative-key.pem', algorithms: ['ES256'] }), [
      { path: `${AT}.publicKeyFile`, message: 'cannot read no-such-relative-key.pem: ENOENT' },
    ])
    assert.deepEqual(await problems({ issuer: 'a', publicKeyFile: 'absent.pem', algorithms: ['ES256'] }, { baseDir: dir }), [
      { path: `${AT}.publicKeyFile`, message: 'cannot read absent.pem: ENOENT' },
    ])
  })

  it('refuses a private key, anything that is no public key, a key unfit for an algorithm and RSA below 2048 bits', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string
    const cases: [string, string, IssuerConfig['algorithms'], string][] = [
      ['private.pem', ec.privatePem, ['ES256'], 'publicKeyFile holds a private key'],
      ['rsa-private.pem', '-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n', ['RS256'], 'publicKeyFile holds a private key'],
      ['text.pem', 'hello', ['ES256'], 'publicKeyFile must hold a PEM public key (BEGIN PUBLIC KEY), an X.509 certificate or a JWKS'],
      ['unfit.pem', ec.publicPem, ['ES256', 'ES384'], 'the key in FILE cannot be used with ES384'],
      ['bad-cert.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', ['RS256'], 'the key in FILE cannot be used with RS256'],
      ['weak.pem', weak, ['RS256'], 'the RSA key has 1024 bits; at least 2048 are required'],
    ]
    for (const [name, text, algorithms, message] of cases) {
      const path = await file(name, text)
      assert.deepEqual(await problems({ issuer: 'a', publicKeyFile: path, algorithms }), [{ path: `${AT}.publicKeyFile`, message: message.replace('FILE', path) }], name)
    }
  })

  it('a JWKS file: its keys by kid; private members, invalid JSON and invalid sets refused', async () => {
    const set = { keys: [ec.publicJwk, ed.publicJwk] }
    const source = await ok({ issuer: 'a', publicKeyFile: await file('set.json', ` ${JSON.stringify(set)}`), algorithms: ['ES256', 'EdDSA'] })
    assert.ok(await source.getKey(header('ES256', 'ec-1'), NO_TOKEN))
    await assert.rejects(Promise.resolve(source.getKey(header('ES256', 'nope'), NO_TOKEN)), errors.JWKSNoMatchingKey)

    const priv = { ...(await exportJWK(ec.privateKey)), kid: 'p' }
    const refused: [string, unknown, string][] = [
      ['not JSON', '{"keys": [', 'publicKeyFile is neither PEM nor valid JSON'],
      ['an oct key', { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }, 'publicKeyFile holds a private key'],
      ['an oct key without k', { keys: [ec.publicJwk, { kty: 'oct' }] }, 'publicKeyFile holds a private key'],
      ['a private EC key', { keys: [priv] }, 'publicKeyFile holds a private key'],
      ...['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'priv'].map((m): [string, unknown, string] => [`member ${m}`, { keys: [{ ...ec.publicJwk, [m]: 'AAAA' }] }, 'publicKeyFile holds a private key']),
      ['keys that are not objects', { keys: [null, 'x'] }, 'publicKeyFile is not a valid JWKS (RFC 7517 §5)'],
      ['keys not a list', { keys: { d: 'AAAA' } }, 'publicKeyFile is not a valid JWKS (RFC 7517 §5)'],
    ]
    for (const [what, json, message] of refused) {
      const path = await file(`refused-${what.replace(/\W/g, '-')}.json`, typeof json === 'string' ? json : JSON.stringify(json))
      assert.deepEqual(await problems({ issuer: 'a', publicKeyFile: path, algorithms: ['ES256'] }), [{ path: `${AT}.publicKeyFile`, message }], what)
    }
  })
})

describe('compileKeySource: remote sources', () => {
  it('jwksUri and discovery: checked addresses, unstarted, with the README defaults', async () => {
    const source = await ok({ issuer: 'https://idp.example/', jwksUri: 'https://idp.example/jwks' })
    assert.ok(source.remote)
    assert.equal(source.getKey, source.remote.getKey)
    assert.equal(source.remote.discovered, false)
    assert.deepEqual(source.remote.status(), { url: 'https://idp.example/jwks', fetches: 0, failures: 0, lastSuccessAt: null, lastError: null })
    assert.equal(source.poolKey, undefined)
    source.remote.close()

    const found = await ok({ issuer: 'https://idp.example/', discovery: true })
    assert.equal(found.remote?.discovered, true)
    assert.equal(found.remote?.status().url, '')
    found.remote?.close()

    const refused: [Cfg, string, string][] = [
      [{ issuer: 'a', jwksUri: 'http://idp.example/jwks' }, `${AT}.jwksUri`, 'jwksUri must use https:// (http:// only to a loopback host)'],
      [{ issuer: 'a', jwksUri: 'https://u:p@idp.example/jwks' }, `${AT}.jwksUri`, 'jwksUri must not carry credentials'],
      [{ issuer: 'not a url', discovery: true }, `${AT}.discovery`, 'with discovery, the issuer is not a valid URL'],
      [{ issuer: 'http://idp.example', discovery: true }, `${AT}.discovery`, 'with discovery, the issuer must use https:// (http:// only to a loopback host)'],
    ]
    for (const [cfg, path, message] of refused) assert.deepEqual(await problems(cfg), [{ path, message }], message)
  })

  it('a pool gives the running cache to the same issuer, source and timing, a new one otherwise', async (t) => {
    const pool = createJwksPool()
    t.after(() => pool.closeAll())
    const cfg: Cfg = { issuer: 'https://idp.example/', jwksUri: 'https://idp.example/jwks' }
    const first = await ok(cfg, { pool })
    assert.ok(first.remote)
    assert.equal((await ok({ ...cfg }, { pool })).remote, first.remote)
    const others: [Cfg, Partial<KeySourceOptions>][] = [
      [{ ...cfg, issuer: 'https://other.example/' }, {}],
      [{ ...cfg, jwksUri: 'https://idp.example/jwks2' }, {}],
      [{ issuer: cfg.issuer, discovery: true }, {}],
      [{ ...cfg, jwksCacheSeconds: 60 }, {}],
      [{ ...cfg, jwksCooldownSeconds: 10 }, {}],
      [cfg, { maxBackoffMs: 60_000 }],
      [cfg, { fetchTimeoutMs: 1000 }],
      [cfg, { maxJwksBytes: 1024 }],
      [cfg, { maxFetchesPerMinute: 5 }],
    ]
    const seen = new Set([first.poolKey])
    for (const [c, o] of others) {
      const source = await ok(c, { pool, ...o })
      assert.notEqual(source.remote, first.remote, JSON.stringify([c, o]))
      assert.ok(!seen.has(source.poolKey), JSON.stringify([c, o]))
      seen.add(source.poolKey)
    }
    // The defaults are part of the key: the README's jwksCacheSeconds 300 and jwksCooldownSeconds 30.
    assert.equal((await ok({ ...cfg, jwksCacheSeconds: 300, jwksCooldownSeconds: 30 }, { pool })).remote, first.remote)
    // The backoff never waits less than the cooldown: a maxBackoffMs below it changes nothing.
    const slow = await ok({ ...cfg, jwksCooldownSeconds: 600 }, { pool, maxBackoffMs: 1000 })
    assert.equal((await ok({ ...cfg, jwksCooldownSeconds: 600 }, { pool, maxBackoffMs: 600_000 })).remote, slow.remote)
  })

  it('reports a failed fetch with the issuer it belongs to', async () => {
    const seen: [string, string][] = []
    const source = await ok({ issuer: 'http://127.0.0.1:9/realm', discovery: true }, { onFetchError: (issuer, reason) => seen.push([issuer, reason]) })
    source.remote?.start()
    await source.remote?.ready()
    source.remote?.close()
    assert.equal(seen.length, 1)
    assert.equal(seen[0]?.[0], 'http://127.0.0.1:9/realm')
    assert.match(seen[0]?.[1] ?? '', /^fetch failed/)
  })
})
