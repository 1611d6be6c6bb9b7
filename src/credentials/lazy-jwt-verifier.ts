// A config without JWT issuers (and without the token service, whose tokens the
// proxy accepts) can pass no JWT: jose and the key sources then load only when a
// request first carries one, not at start-up nor in check-config (issue 17). The
// refusal still comes from verify-jwt.ts, so it reads exactly as with issuers.
import type { IssuerConfig } from '../config/schema.js'
import type { CompileJwtResult, JwtResult, JwtVerifier, JwtVerifierOptions } from './verify-jwt.js'

/** compileJwtVerifier, loaded now when there are issuers and on the first token when there are none. */
export async function compileJwtVerifierLazily(issuers: readonly IssuerConfig[], opts: JwtVerifierOptions): Promise<CompileJwtResult> {
  if (issuers.length > 0) return (await import('./verify-jwt.js')).compileJwtVerifier(issuers, opts)
  let loaded: Promise<JwtVerifier> | undefined
  const load = async (): Promise<JwtVerifier> => {
    const compiled = await (await import('./verify-jwt.js')).compileJwtVerifier([], opts)
    if (!compiled.ok) throw new Error(compiled.problems.map((p) => p.message).join('; '))
    return compiled.verifier
  }
  return {
    ok: true,
    verifier: {
      verify: async (token): Promise<JwtResult> => {
        try {
          return await (await (loaded ??= load())).verify(token)
        } catch {
          return { ok: false, reason: 'token_invalid', detail: 'token rejected' }
        }
      },
      // No issuer, so no remote JWKS: nothing to wait for, refresh, close or report.
      ready: async () => {},
      refreshNow: async () => {},
      close: () => {},
      stats: () => [],
      keysLoaded: () => true,
      poolKeys: Object.freeze([]),
    },
  }
}
