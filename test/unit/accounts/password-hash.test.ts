// Password hashes of the users and clients files (SPEC §6; attack #81, #82).
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import bcrypt from 'bcryptjs'
import {
  dummyVerify,
  hashCost,
  hashPassword,
  isSupportedHash,
  MAX_SECRET_BYTES,
  verifyPassword,
} from '../../../src/accounts/password-hash.js'
import { recordScrypt } from '../../support/crypto-calls.js'

describe('scrypt hashes', () => {
  it('verifies the secret it was made from and nothing else', async () => {
    const hash = await hashPassword('correct horse')
    assert.match(hash, /^\$scrypt\$N=16384,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/)
    assert.equal(await verifyPassword('correct horse', hash), true)
    assert.equal(await verifyPassword('correct horsf', hash), false)
    assert.equal(await verifyPassword('', hash), false)
  })

  it('salts every hash', async () => {
    assert.notEqual(await hashPassword('same'), await hashPassword('same'))
  })

  it('verifies a Unicode secret byte for byte', async () => {
    const hash = await hashPassword('pässwörd🔑')
    assert.equal(await verifyPassword('pässwörd🔑', hash), true)
    assert.equal(await verifyPassword('passwörd🔑', hash), false)
  })
})

describe('bcrypt hashes', () => {
  it('verifies $2a$, $2b$ and $2y$ hashes made elsewhere', async () => {
    const hash = await bcrypt.hash('s3cret', 4)
    for (const variant of ['$2a$', '$2b$', '$2y$']) {
      const h = variant + hash.slice(4)
      assert.equal(await verifyPassword('s3cret', h), true, variant)
      assert.equal(await verifyPassword('s3creT', h), false, variant)
    }
  })

  it('refuses a secret over 72 bytes, so two secrets sharing their first 72 bytes never both verify (#82)', async () => {
    const shared = 'x'.repeat(72)
    const hash = await bcrypt.hash(`${shared}-first`, 4)
    // bcrypt itself would accept the second one: it only reads 72 bytes.
    assert.equal(await bcrypt.compare(`${shared}-second`, hash), true)
    assert.equal(await verifyPassword(`${shared}-first`, hash), false)
    assert.equal(await verifyPassword(`${shared}-second`, hash), false)
  })

  it('counts the 72 bytes in UTF-8, not in characters', async () => {
    const exactly72 = 'é'.repeat(36) // 72 bytes, 36 characters
    assert.equal(await verifyPassword(exactly72, await bcrypt.hash(exactly72, 4)), true)
    const over = `${'é'.repeat(36)}a` // 73 bytes
    assert.equal(await verifyPassword(over, await bcrypt.hash(over, 4)), false)
  })

  it('refuses a secret holding a NUL, where C implementations stop reading', async () => {
    const hash = await bcrypt.hash('abc\0def', 4)
    assert.equal(await verifyPassword('abc\0def', hash), false)
  })
})

describe('refusals before hashing', () => {
  it(`refuses a secret of ${MAX_SECRET_BYTES + 1} bytes without hashing it (#82)`, async () => {
    const longest = 'a'.repeat(MAX_SECRET_BYTES)
    const hash = await hashPassword(longest)
    assert.equal(await verifyPassword(longest, hash), true)
    const scrypt = recordScrypt()
    try {
      assert.equal(await verifyPassword(`b${longest.slice(1)}`, hash), false)
      assert.equal(scrypt.calls.length, 1, 'a wrong secret of 4096 bytes is hashed once')
      assert.equal(await verifyPassword(`${longest}a`, hash), false)
      assert.equal(await verifyPassword('a'.repeat(1024 * 1024), hash), false)
      assert.equal(scrypt.calls.length, 1, 'no scrypt was run for the longer secrets')
    } finally {
      scrypt.restore()
    }
    await assert.rejects(hashPassword(`${longest}a`), /longer than 4096 bytes/)
  })

  const malformed: [label: string, hash: string][] = [
    ['empty', ''],
    ['plain text', 'hunter2'],
    ['an unknown scheme', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA'],
    ['scrypt without a key', '$scrypt$N=16384,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$'],
    ['scrypt with N not a power of two', `$scrypt$N=16000,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$${'A'.repeat(43)}`],
    ['scrypt with a huge N (a DoS in a file)', `$scrypt$N=1048576,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$${'A'.repeat(43)}`],
    ['scrypt with a huge p', `$scrypt$N=16384,r=8,p=99$AAAAAAAAAAAAAAAAAAAAAA$${'A'.repeat(43)}`],
    ['scrypt with N below 1024', `$scrypt$N=512,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$${'A'.repeat(43)}`],
    ['scrypt with r=0', `$scrypt$N=16384,r=0,p=1$AAAAAAAAAAAAAAAAAAAAAA$${'A'.repeat(43)}`],
    ['scrypt with padded base64', `$scrypt$N=16384,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$${'A'.repeat(43)}`],
    ['scrypt with non-canonical base64', `$scrypt$N=16384,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAB$${'A'.repeat(43)}`],
    ['bcrypt with cost 3', `$2b$03$${'a'.repeat(53)}`],
    ['bcrypt with cost 16', `$2b$16$${'a'.repeat(53)}`],
    ['bcrypt $2x$', `$2x$04$${'a'.repeat(53)}`],
    ['bcrypt cut short', `$2b$04$${'a'.repeat(52)}`],
    ['bcrypt with a character outside its alphabet', `$2b$04$${'a'.repeat(52)}+`],
  ]
  for (const [label, hash] of malformed) {
    it(`answers false, without throwing, for a hash that is ${label}`, async () => {
      assert.equal(isSupportedHash(hash), false)
      assert.equal(await verifyPassword('anything', hash), false)
    })
  }

  it('recognises the hashes it supports', async () => {
    assert.equal(isSupportedHash(await hashPassword('x')), true)
    assert.equal(isSupportedHash(await bcrypt.hash('x', 4)), true)
    assert.equal(isSupportedHash(`$2y$15$${'a'.repeat(53)}`), true)
    assert.equal(hashCost(`$2y$12$${'a'.repeat(53)}`), 'bcrypt:12')
    assert.equal(hashCost(await hashPassword('x')), 'scrypt:16384,8,1')
    assert.equal(hashCost('nope'), null)
  })
})

describe('dummyVerify', () => {
  it('is always false, even for the secret of the hash it imitates', async () => {
    const hash = await hashPassword('pw')
    assert.equal(await dummyVerify('pw'), false)
    assert.equal(await dummyVerify('pw', hash), false)
    assert.equal(await dummyVerify('pw', await bcrypt.hash('pw', 4)), false)
    assert.equal(await dummyVerify('pw', 'not a hash'), false)
  })

  it('does the work of a real scrypt verification, at the same cost, so an unknown name is not told apart by time (#81)', async () => {
    const hash = await hashPassword('pw')
    const scrypt = recordScrypt()
    try {
      await verifyPassword('wrong', hash)
      const real = scrypt.calls.splice(0)
      await dummyVerify('wrong')
      assert.deepEqual(real, [{ N: 16384 }])
      assert.deepEqual(scrypt.calls, real)
      // A file of N=2^15 hashes: dummyVerify(…, like) pays that cost, not the default one.
      const costly = hash.replace('N=16384', 'N=32768')
      scrypt.calls.splice(0)
      await dummyVerify('wrong', costly)
      assert.deepEqual(scrypt.calls, [{ N: 32768 }])
    } finally {
      scrypt.restore()
    }
  })

  it('imitates the cost of a bcrypt hash it is given', async () => {
    const hash = await bcrypt.hash('pw', 8)
    const original = bcrypt.compare
    const costs: string[] = []
    bcrypt.compare = ((secret: string, h: string) => {
      costs.push(h.slice(0, 7))
      return original(secret, h)
    }) as typeof bcrypt.compare
    try {
      await verifyPassword('wrong', hash)
      await dummyVerify('wrong', hash)
    } finally {
      bcrypt.compare = original
    }
    assert.deepEqual(costs, [hash.slice(0, 7), hash.slice(0, 7)], 'both ran bcrypt at cost 08')
  })
})
