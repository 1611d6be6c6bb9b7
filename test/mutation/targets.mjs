// Mutation-testing targets (issue 19): each names the source files Stryker mutates and
// the fast unit/property tests that cover them, so a run per target stays small on a
// shared machine (no e2e suite: it is far too slow per mutant). Together the targets
// cover src/pipeline/ and src/credentials/. Used by stryker.config.mjs and run.mjs.

/** @type {Record<string, { mutate: string[]; testFiles: string[] }>} */
export const TARGETS = {
  decide: {
    mutate: ['src/pipeline/decide.ts'],
    testFiles: ['test/unit/pipeline/decide.test.ts', 'test/unit/pipeline/decide-edges.test.ts', 'test/unit/pipeline/decide-refusal-facts.test.ts', 'test/unit/pipeline/decision-request.test.ts'],
  },
  'normalize-path': {
    mutate: ['src/pipeline/normalize-path.ts'],
    testFiles: ['test/unit/pipeline/normalize-path-bytes.test.ts', 'test/unit/pipeline/normalize-path.test.ts', 'test/property/normalize-path.test.ts'],
  },
  'path-readings': {
    mutate: ['src/pipeline/path-readings.ts'],
    testFiles: ['test/unit/pipeline/path-readings-decoding.test.ts', 'test/unit/pipeline/path-readings.test.ts', 'test/property/path-readings.test.ts'],
  },
  'identity-headers': {
    mutate: ['src/pipeline/identity-headers.ts'],
    testFiles: [
      'test/unit/pipeline/identity-headers-edges.test.ts',
      'test/unit/pipeline/identity-headers.test.ts',
      'test/property/identity-headers.test.ts',
      'test/property/identity-encoding.test.ts',
    ],
  },
  'verify-jwt': {
    // jwt-token.ts holds the prechecks and the claims -> Identity checks (moved out of verify-jwt.ts).
    mutate: ['src/credentials/verify-jwt.ts', 'src/credentials/jwt-token.ts'],
    testFiles: [
      'test/unit/credentials/verify-jwt-claims.test.ts',
      'test/unit/credentials/verify-jwt-jose-errors.test.ts',
      'test/unit/credentials/verify-jwt-remote.test.ts',
      'test/unit/credentials/verify-jwt-pooled.test.ts',
      'test/unit/credentials/verify-jwt.test.ts',
    ],
  },
  'sync-verify': {
    mutate: ['src/credentials/sync-verify.ts'],
    // Its oracle is jose's jwtVerify, called directly; test/security/sync-verify-differential.test.ts
    // checks the same through verify-jwt.ts but costs ~30 s a mutant on a shared machine.
    testFiles: ['test/unit/credentials/sync-verify-keys.test.ts', 'test/unit/credentials/sync-verify.test.ts'],
  },
  'pipeline-rest': {
    mutate: [
      'src/pipeline/*.ts',
      '!src/pipeline/decide.ts',
      '!src/pipeline/normalize-path.ts',
      '!src/pipeline/path-readings.ts',
      '!src/pipeline/identity-headers.ts',
    ],
    testFiles: [
      'test/unit/pipeline/client-ip.test.ts',
      'test/unit/pipeline/match-api.test.ts',
      'test/unit/pipeline/query-filter.test.ts',
      'test/unit/pipeline/decide.test.ts',
      'test/unit/pipeline/cors.test.ts',
      'test/unit/pipeline/trace-context.test.ts',
      'test/unit/pipeline/failure-throttle.test.ts',
      'test/unit/pipeline/decision-request.test.ts',
      'test/unit/pipeline/decide-refusal-facts.test.ts',
      'test/unit/pipeline/authenticate.test.ts',
      'test/unit/pipeline/authority.test.ts',
    ],
  },
  // The rest of src/credentials/, in three targets so that each runs only the tests that cover it.
  jwks: {
    mutate: ['src/credentials/remote-jwks.ts', 'src/credentials/jwt-keys.ts', 'src/credentials/discovery.ts', 'src/credentials/jwks-pool.ts'],
    // Socket-free tests first (data: URLs, an injected clock); the loopback IdP tests after them.
    testFiles: [
      'test/unit/credentials/remote-jwks.test.ts',
      'test/unit/credentials/remote-jwks-refresh.test.ts',
      'test/unit/credentials/jwks-pool.test.ts',
      'test/unit/credentials/jwt-keys.test.ts',
      'test/unit/credentials/discovery.test.ts',
      'test/unit/credentials/rediscovery.test.ts',
      'test/unit/credentials/jwks.test.ts',
    ],
  },
  'signing-key': {
    mutate: ['src/credentials/signing-key.ts'],
    testFiles: ['test/unit/credentials/signing-key-edges.test.ts', 'test/unit/credentials/signing-key.test.ts'],
  },
  'credential-parts': {
    mutate: [
      'src/credentials/extract.ts',
      'src/credentials/claim-permissions.ts',
      'src/credentials/api-key.ts',
      'src/credentials/permissions.ts',
      'src/credentials/verified-cache.ts',
      'src/credentials/identity.ts',
    ],
    testFiles: [
      'test/unit/credentials/verified-cache.test.ts',
      'test/unit/credentials/extract-details.test.ts',
      'test/unit/credentials/extract.test.ts',
      'test/unit/credentials/claim-permissions.test.ts',
      'test/unit/credentials/api-key.test.ts',
      'test/unit/credentials/permissions.test.ts',
    ],
  },
}
