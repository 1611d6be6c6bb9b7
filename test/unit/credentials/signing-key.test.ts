// The token service's signing key (SPEC §2 issuer.signingKeyFile, §6; attack #92).
import { strict as assert } from 'node:assert'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { calculateJwkThumbprint, decodeProtectedHeader, errors, jwtVerify, SignJWT } from 'jose'
import { GENERATED_KEY_FILE, loadSigningKeys, type SigningKeys } from '../../../src/credentials/signing-key.js'
import type { Checked, Problem } from '../../../src/config/problem.js'

let dir: string
let n = 0

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-signing-'))
})
after(() => rm(dir, { recursive: true, force: true }))

type Pair = { privateKey: KeyObject; publicKey: KeyObject }
const rsa = (bits: number): Pair => generateKeyPairSync('rsa', { modulusLength: bits })
const ec = (namedCurve: string): Pair => generateKeyPairSync('ec', { namedCurve })
const rsa2048 = rsa(2048)

async function pemFile(key: KeyObject, type: 'pkcs8' | 'pkcs1' | 'sec1' | 'spki' = 'pkcs8'): Promise<string> {
  const file = join(dir, `key-${n++}.pem`)
  await writeFile(file, key.export({ type, format: 'pem' } as never))
  return file
}

function valueOf(result: Checked<SigningKeys>): SigningKeys {
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.problems))
  return result.value
}

function problemsOf(result: Checked<SigningKeys>): Problem[] {
  assert.equal(result.ok, false, 'the key should be refused')
  return result.ok ? [] : result.problems
}

async function sign(keys: SigningKeys): Promise<string> {
  return new SignJWT({ sub: 'alice' })
    .setProtectedHeader({ alg: keys.current.alg, kid: keys.current.kid, typ: 'JWT' })
    .setIssuer('gatehouse')
    .setExpirationTime('5m')
    .sign(keys.current.privateKey)
}

async function verifies(keys: SigningKeys, token: string): Promise<boolean> {
  try {
    await jwtVerify(token, keys.getKey, { algorithms: [...keys.algorithms], issuer: 'gatehouse' })
    return true
  } catch (err) {
    assert.ok(err instanceof errors.JOSEError, String(err))
    return false
  }
}

describe('loadSigningKeys from signingKeyFile', () => {
  const cases: [label: string, make: () => Promise<string>, alg: string][] = [
    ['an RSA 2048 PKCS#8 key', () => pemFile(rsa2048.privateKey), 'RS256'],
    ['an RSA 2048 PKCS#1 key', () => pemFile(rsa2048.privateKey, 'pkcs1'), 'RS256'],
    ['an EC P-256 PKCS#8 key', () => pemFile(ec('P-256').privateKey), 'ES256'],
    ['an EC P-256 SEC1 key', () => pemFile(ec('P-256').privateKey, 'sec1'), 'ES256'],
    ['an EC P-384 key', () => pemFile(ec('P-384').privateKey), 'ES384'],
    ['an Ed25519 key', () => pemFile(generateKeyPairSync('ed25519').privateKey), 'EdDSA'],
  ]
  for (const [label, make, alg] of cases) {
    it(`signs with ${label} as ${alg}, and its token verifies through getKey`, async () => {
      const keys = valueOf(await loadSigningKeys({ signingKeyFile: await make(), dataDir: join(dir, 'unused') }))
      assert.equal(keys.current.alg, alg)
      assert.deepEqual(keys.algorithms, [alg])
      const token = await sign(keys)
      assert.equal(decodeProtectedHeader(token).kid, keys.current.kid)
      assert.equal(await verifies(keys, token), true)
    })
  }

  it('names the key by its RFC 7638 thumbprint, the same for PKCS#8 and PKCS#1 of one key', async () => {
    const a = valueOf(await loadSigningKeys({ signingKeyFile: await pemFile(rsa2048.privateKey), dataDir: dir }))
    const b = valueOf(await loadSigningKeys({ signingKeyFile: await pemFile(rsa2048.privateKey, 'pkcs1'), dataDir: dir }))
    assert.equal(a.current.kid, await calculateJwkThumbprint(rsa2048.publicKey.export({ format: 'jwk' }), 'sha256'))
    assert.equal(b.current.kid, a.current.kid)
  })

  it('publishes only public members, each key with kid, alg and use (#92)', async () => {
    const previous = [await pemFile(rsa2048.privateKey), await pemFile(generateKeyPairSync('ed25519').privateKey)]
    const keys = valueOf(await loadSigningKeys({ signingKeyFile: await pemFile(ec('P-384').privateKey), previousKeyFiles: previous, dataDir: dir }))
    assert.equal(keys.jwks.keys.length, 3)
    for (const jwk of keys.jwks.keys) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) assert.equal(Object.hasOwn(jwk, member), false, `${jwk.kty} has ${member}`)
      assert.equal(typeof jwk.kid, 'string')
      assert.equal(typeof jwk.alg, 'string')
      assert.equal(jwk.use, 'sig')
    }
    assert.deepEqual(Object.keys(keys.jwks.keys[0] ?? {}).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'])
    assert.deepEqual(Object.keys(keys.jwks.keys[1] ?? {}).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use'])
    assert.deepEqual(Object.keys(keys.jwks.keys[2] ?? {}).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x'])
    assert.ok(!JSON.stringify(keys.jwks).includes('"d"'))
    assert.ok(Object.isFrozen(keys.jwks.keys[0]))
  })

  const refused: [label: string, make: () => Promise<string>, message: RegExp][] = [
    ['an RSA 1024 key', () => pemFile(rsa(1024).privateKey), /1024 bits; at least 2048/],
    ['a public key', () => pemFile(rsa2048.publicKey, 'spki'), /no private key/],
    ['an EC P-521 key', () => pemFile(ec('P-521').privateKey), /curve secp521r1 is not supported/],
    ['an Ed448 key', () => pemFile(generateKeyPairSync('ed448').privateKey), /ed448 key is not supported/],
    ['an encrypted key', async () => {
      const file = join(dir, `key-${n++}.pem`)
      await writeFile(file, ec('P-256').privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }))
      return file
    }, /encrypted/],
    ['a file that is not PEM', async () => {
      const file = join(dir, `key-${n++}.pem`)
      await writeFile(file, '{"kty":"EC"}')
      return file
    }, /not a PEM key file/],
    ['a PEM whose body is garbage', async () => {
      const file = join(dir, `key-${n++}.pem`)
      await writeFile(file, '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n')
      return file
    }, /not a key node:crypto can read/],
    ['a missing file', async () => join(dir, 'no-such-key.pem'), /cannot read .*ENOENT/],
  ]
  for (const [label, make, message] of refused) {
    it(`refuses ${label} at issuer.signingKeyFile`, async () => {
      const problems = problemsOf(await loadSigningKeys({ signingKeyFile: await make(), dataDir: dir }))
      assert.equal(problems.length, 1)
      assert.equal(problems[0]?.path, 'issuer.signingKeyFile')
      assert.match(problems[0]?.message ?? '', message)
    })
  }
})

describe('loadSigningKeys without signingKeyFile', () => {
  it('generates an EC P-256 key once, with mode 0600 in a 0700 folder, and keeps it', async () => {
    const dataDir = join(dir, 'data-once', 'nested')
    const first = valueOf(await loadSigningKeys({ dataDir }))
    assert.equal(first.current.alg, 'ES256')
    const file = join(dataDir, GENERATED_KEY_FILE)
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700)
    assert.match(await readFile(file, 'utf8'), /^-----BEGIN PRIVATE KEY-----/)
    const token = await sign(first)

    const second = valueOf(await loadSigningKeys({ dataDir }))
    assert.equal(second.current.kid, first.current.kid, 'the same key after a restart')
    assert.equal(await verifies(second, token), true, 'a token from before the restart still verifies')
    assert.deepEqual(await readdir(dataDir), [GENERATED_KEY_FILE], 'no temporary file left behind')
  })

  it('ends with one key when two loads race on an empty folder', async () => {
    const dataDir = join(dir, 'data-race')
    const [a, b] = await Promise.all([loadSigningKeys({ dataDir }), loadSigningKeys({ dataDir })])
    assert.equal(valueOf(a).current.kid, valueOf(b).current.kid)
    assert.deepEqual(await readdir(dataDir), [GENERATED_KEY_FILE])
  })

  it('uses a key already in the data folder', async () => {
    const dataDir = join(dir, 'data-given')
    await loadSigningKeys({ dataDir })
    const ed = generateKeyPairSync('ed25519')
    await writeFile(join(dataDir, GENERATED_KEY_FILE), ed.privateKey.export({ type: 'pkcs8', format: 'pem' }))
    assert.equal(valueOf(await loadSigningKeys({ dataDir })).current.alg, 'EdDSA')
  })

  it('reports a data folder it cannot write to', { skip: process.platform !== 'linux' && 'needs /proc' }, async () => {
    // /proc/self exists but takes no new files, even for root.
    const problems = problemsOf(await loadSigningKeys({ dataDir: '/proc/self' }))
    assert.equal(problems[0]?.path, 'issuer.signingKeyFile')
    assert.match(problems[0]?.message ?? '', /^absent, and no key could be generated in \/proc\/self: E/)
  })

  it('reports a data folder it cannot create', async () => {
    const blocker = join(dir, 'a-file')
    await writeFile(blocker, 'x')
    const problems = problemsOf(await loadSigningKeys({ dataDir: join(blocker, 'data') }))
    assert.equal(problems[0]?.path, 'issuer.signingKeyFile')
    assert.match(problems[0]?.message ?? '', /^absent, and .*ENOTDIR/)
  })
})

describe('previous keys (rotation grace period)', () => {
  it('verifies tokens of a previous key, given as a private or a public PEM, and never signs with it', async () => {
    const oldEc = ec('P-256')
    const oldKeys = valueOf(await loadSigningKeys({ signingKeyFile: await pemFile(oldEc.privateKey), dataDir: dir }))
    const oldRsa = valueOf(await loadSigningKeys({ signingKeyFile: await pemFile(rsa2048.privateKey), dataDir: dir }))
    const oldToken = await sign(oldKeys)
    const oldRsaToken = await sign(oldRsa)

    const rotated = valueOf(
      await loadSigningKeys({
        signingKeyFile: await pemFile(generateKeyPairSync('ed25519').privateKey),
        previousKeyFiles: [await pemFile(oldEc.publicKey, 'spki'), await pemFile(rsa2048.privateKey, 'pkcs1')],
        dataDir: dir,
      }),
    )
    assert.equal(rotated.current.alg, 'EdDSA')
    assert.deepEqual(rotated.algorithms, ['EdDSA', 'ES256', 'RS256'])
    assert.deepEqual(rotated.jwks.keys.map((k) => k.kid), [rotated.current.kid, oldKeys.current.kid, oldRsa.current.kid])
    assert.equal(await verifies(rotated, oldToken), true)
    assert.equal(await verifies(rotated, oldRsaToken), true)
    assert.equal(await verifies(rotated, await sign(rotated)), true)
  })

  it('refuses tokens of a key that is no longer configured', async () => {
    const old = valueOf(await loadSigningKeys({ signingKeyFile: await pemFile(ec('P-256').privateKey), dataDir: dir }))
    const rotated = valueOf(await loadSigningKeys({ signingKeyFile: await pemFile(ec('P-256').privateKey), dataDir: dir }))
    assert.equal(await verifies(rotated, await sign(old)), false)
  })

  it('publishes the current key once when it is also listed as previous', async () => {
    const file = await pemFile(rsa2048.privateKey)
    const keys = valueOf(await loadSigningKeys({ signingKeyFile: file, previousKeyFiles: [file], dataDir: dir }))
    assert.equal(keys.jwks.keys.length, 1)
  })

  it('reports each unusable previous key with its index', async () => {
    const problems = problemsOf(
      await loadSigningKeys({
        signingKeyFile: await pemFile(rsa2048.privateKey),
        previousKeyFiles: [await pemFile(ec('P-256').publicKey, 'spki'), await pemFile(rsa(1024).publicKey, 'spki'), join(dir, 'gone.pem')],
        dataDir: dir,
      }),
    )
    assert.deepEqual(problems.map((p) => p.path), ['issuer.previousKeyFiles[1]', 'issuer.previousKeyFiles[2]'])
  })
})
