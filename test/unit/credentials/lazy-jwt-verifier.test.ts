// lazy-jwt-verifier (issue 17): without issuers, jose loads on the first token, and
// the answers are the eager verifier's own (the oracle: compileJwtVerifier with no issuers).
import * as assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { compileJwtVerifierLazily } from '../../../src/credentials/lazy-jwt-verifier.js'
import { compileJwtVerifier, type JwtVerifier, type JwtVerifierOptions } from '../../../src/credentials/verify-jwt.js'
import { LEEWAY, makeVectorKeys, NOW, TOKEN_VECTORS, type VectorKeys } from '../../vectors/tokens.js'

const OPTIONS: JwtVerifierOptions = { leewaySeconds: LEEWAY, now: () => NOW * 1000, env: {} }

async function compiled(result: ReturnType<typeof compileJwtVerifier>): Promise<JwtVerifier> {
  const r = await result
  if (!r.ok) assert.fail(`unexpected problems: ${JSON.stringify(r.problems)}`)
  return r.verifier
}

describe('a JWT verifier without issuers', () => {
  let keys: VectorKeys
  let lazy: JwtVerifier
  let eager: JwtVerifier
  before(async () => {
    keys = await makeVectorKeys()
    lazy = await compiled(compileJwtVerifierLazily([], OPTIONS))
    eager = await compiled(compileJwtVerifier([], OPTIONS))
  })

  it('refuses every token vector exactly as the eager verifier does, none passing', async () => {
    for (const vector of TOKEN_VECTORS) {
      const token = await vector.mint(keys)
      const answer = await lazy.verify(token)
      assert.equal(answer.ok, false, `${vector.name} passed without any issuer`)
      assert.deepEqual(answer, await eager.verify(token), vector.name)
    }
  })

  it('refuses what is not a token as the eager verifier does (credential_malformed)', async () => {
    for (const text of ['', 'not-a-jwt', 'a.b.c', 'eyJ.eyJ.', 'x'.repeat(20_000)]) {
      const answer = await lazy.verify(text)
      assert.equal(answer.ok === false && answer.reason, 'credential_malformed')
      assert.deepEqual(answer, await eager.verify(text), JSON.stringify(text.slice(0, 20)))
    }
  })

  it('has no remote keys to wait for, refresh or report', async () => {
    await lazy.ready()
    await lazy.refreshNow()
    assert.deepEqual(lazy.stats(), eager.stats())
    assert.deepEqual([...lazy.poolKeys], [...eager.poolKeys])
    assert.equal(lazy.keysLoaded(true), eager.keysLoaded(true))
    assert.equal(lazy.keysLoaded(false), eager.keysLoaded(false))
    lazy.close()
  })
})

it('with issuers, compileJwtVerifierLazily is compileJwtVerifier: the same problems for a bad issuer', async () => {
  const bad = [{ issuer: 'https://idp.test', jwksCacheSeconds: 300, jwksCooldownSeconds: 30 }]
  const lazy = await compileJwtVerifierLazily(bad, OPTIONS)
  assert.equal(lazy.ok, false)
  assert.deepEqual(lazy, await compileJwtVerifier(bad, OPTIONS))
})
