// Named JWT cases for verify-jwt (SPEC §5; attack catalogue §1), each with its header and
// payload beside it. All are judged at the frozen clock NOW with leeway LEEWAY against
// two issuers: A (a JWKS file holding key A, kid a-1, audience, scopeMap) and B (a PEM
// file holding key B, requiredType at+jwt). `stranger` is a key nobody configured.
import type { IssuerConfig } from '../../src/config/schema.js'
import type { Level } from '../../src/credentials/permissions.js'
import {
  bytes,
  makeKeyPair,
  mintJwt,
  mintRaw,
  replaceHeader,
  tamperSignature,
  unsignedJwt,
  withAlg,
  type TestKey,
} from '../support/mint.js'

/** The frozen clock, Unix seconds. */
export const NOW = 1_750_000_000
export const LEEWAY = 30
export const ISS_A = 'https://idp-a.example/'
export const ISS_B = 'https://idp-b.example/'
export const AUD = 'legacy-api'

export interface VectorKeys {
  readonly a: TestKey
  readonly b: TestKey
  readonly stranger: TestKey
}

export async function makeVectorKeys(): Promise<VectorKeys> {
  return {
    a: await makeKeyPair('RS256', 'a-1'),
    b: await makeKeyPair('RS256', 'b-1'),
    stranger: await makeKeyPair('RS256', 'a-404'),
  }
}

/** Issuer entries the vectors are judged against; `aJwksFile` holds jwksOf(a), `bPemFile` b.publicPem. */
export function vectorIssuers(files: { aJwksFile: string; bPemFile: string }): IssuerConfig[] {
  return [
    {
      issuer: ISS_A,
      audience: AUD,
      publicKeyFile: files.aJwksFile,
      algorithms: ['RS256'],
      scopeMap: {
        'users.read': { users: 'r' },
        'users.write': { users: 'rw' },
        'sessions.read': { sessions: 'r' },
      },
      jwksCacheSeconds: 300,
      jwksCooldownSeconds: 30,
    },
    {
      issuer: ISS_B,
      publicKeyFile: files.bPemFile,
      algorithms: ['RS256'],
      requiredType: 'at+jwt',
      jwksCacheSeconds: 300,
      jwksCooldownSeconds: 30,
    },
  ]
}

export type Expected =
  | {
      readonly ok: true
      readonly user: string
      readonly permissions: Readonly<Record<string, Level>>
      readonly actor?: string
      readonly credentialId?: string
      readonly expiresAt: number
    }
  | { readonly ok: false; readonly reason: 'token_invalid' | 'token_expired' | 'credential_malformed' }

export interface TokenVector {
  readonly name: string
  readonly expect: Expected
  mint(k: VectorKeys): Promise<string>
}

type Claims = Record<string, unknown>

/** Base claims of issuer A: {"iss":ISS_A,"sub":"alice","aud":"legacy-api","iat":NOW,"exp":NOW+300}. */
const claimsA = (over: Claims = {}): Claims => drop({ iss: ISS_A, sub: 'alice', aud: AUD, iat: NOW, exp: NOW + 300, ...over })
/** Base claims of issuer B: {"iss":ISS_B,"sub":"bob","iat":NOW,"exp":NOW+300}. */
const claimsB = (over: Claims = {}): Claims => drop({ iss: ISS_B, sub: 'bob', iat: NOW, exp: NOW + 300, ...over })
/** A member set to undefined is left out of the token. */
const drop = (claims: Claims): Claims => Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined))

const INVALID = { ok: false, reason: 'token_invalid' } as const
const EXPIRED = { ok: false, reason: 'token_expired' } as const
const MALFORMED = { ok: false, reason: 'credential_malformed' } as const
const aliceOk = (permissions: Record<string, Level> = {}, exp = NOW + 300): Expected => ({
  ok: true,
  user: 'alice',
  permissions,
  expiresAt: exp,
})

export const TOKEN_VECTORS: readonly TokenVector[] = [
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"jti":"jti-1","permissions":{"users":"rw"}}
  {
    name: 'good',
    expect: { ok: true, user: 'alice', permissions: { users: 'rw' }, credentialId: 'jti-1', expiresAt: NOW + 300 },
    mint: (k) => mintJwt(claimsA({ jti: 'jti-1', scope: 'users.write' }), k.a),
  },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"iat":NOW-600,"exp":NOW-32}   (30 s leeway, 2 s past it)
  { name: 'expired', expect: EXPIRED, mint: (k) => mintJwt(claimsA({ iat: NOW - 600, exp: NOW - LEEWAY - 2 }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"iat":NOW-600,"exp":NOW-28}   (inside the leeway: accepted)
  {
    name: 'expired-inside-leeway',
    expect: aliceOk({}, NOW - LEEWAY + 2),
    mint: (k) => mintJwt(claimsA({ iat: NOW - 600, exp: NOW - LEEWAY + 2 }), k.a),
  },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"exp":0}
  { name: 'exp-zero', expect: EXPIRED, mint: (k) => mintJwt(claimsA({ exp: 0 }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"nbf":NOW+32}
  { name: 'nbf-future', expect: INVALID, mint: (k) => mintJwt(claimsA({ nbf: NOW + LEEWAY + 2 }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"nbf":NOW+28}   (inside the leeway: accepted)
  { name: 'nbf-inside-leeway', expect: aliceOk(), mint: (k) => mintJwt(claimsA({ nbf: NOW + LEEWAY - 2 }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"iat":NOW+32}
  { name: 'iat-future', expect: INVALID, mint: (k) => mintJwt(claimsA({ iat: NOW + LEEWAY + 2 }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"nbf":NOW+10,"exp":NOW+5}
  { name: 'exp-before-nbf', expect: INVALID, mint: (k) => mintJwt(claimsA({ nbf: NOW + 10, exp: NOW + 5 }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {"iss":ISS_A,"sub":"alice","aud":"legacy-api","exp":1e400}   (JSON.parse → Infinity)
  {
    name: 'exp-not-finite',
    expect: INVALID,
    mint: (k) => mintRaw(`{"iss":"${ISS_A}","sub":"alice","aud":"${AUD}","exp":1e400}`, k.a),
  },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"exp":"never"}
  { name: 'exp-string', expect: INVALID, mint: (k) => mintJwt(claimsA({ exp: 'never' }), k.a) },
  // {"alg":"none","typ":"JWT"} . claimsA . (empty)
  { name: 'alg-none', expect: INVALID, mint: async () => unsignedJwt({ alg: 'none', typ: 'JWT' }, claimsA()) },
  // {"alg":"None"} . claimsA . (empty)
  { name: 'alg-None', expect: INVALID, mint: async () => unsignedJwt({ alg: 'None' }, claimsA()) },
  // {"alg":"NONE"} . claimsA . (the good token's signature left in place)
  {
    name: 'alg-NONE-with-signature-left',
    expect: INVALID,
    mint: async (k) => replaceHeader(await mintJwt(claimsA(), k.a), { alg: 'NONE' }),
  },
  // {"alg":"RS256","kid":"a-1"} . claimsA . (empty signature)
  { name: 'signature-stripped', expect: INVALID, mint: async (k) => (await mintJwt(claimsA(), k.a)).replace(/[^.]*$/, '') },
  // {"alg":"HS256","typ":"at+jwt"} . claimsB, HMAC keyed with the exact PEM text of B's public key
  {
    name: 'hs256-signed-with-rsa-public-key-pem',
    expect: INVALID,
    mint: (k) => mintJwt(claimsB(), bytes(k.b.publicPem), { alg: 'HS256', typ: 'at+jwt' }),
  },
  // {"alg":"HS256","kid":"a-1"} . claimsA, HMAC keyed with the JSON of A's published JWK
  {
    name: 'hs256-signed-with-published-jwk',
    expect: INVALID,
    mint: (k) => mintJwt(claimsA(), bytes(JSON.stringify(k.a.publicJwk)), { alg: 'HS256', kid: 'a-1' }),
  },
  // {"alg":"RS512","kid":"a-1"} . claimsA, signed with A's key (A allows RS256 only)
  { name: 'alg-not-allowed', expect: INVALID, mint: async (k) => mintJwt(claimsA(), await withAlg(k.a, 'RS512')) },
  // {"alg":"RS256","kid":"a-404"} . claimsA, signed with a key nobody configured
  { name: 'unknown-kid', expect: INVALID, mint: (k) => mintJwt(claimsA(), k.stranger) },
  // {"alg":"RS256","kid":0} . claimsA
  { name: 'kid-not-a-string', expect: INVALID, mint: (k) => mintJwt(claimsA(), k.a, { kid: 0 as unknown as string }) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"iss":"https://evil.example/"}
  { name: 'wrong-iss', expect: INVALID, mint: (k) => mintJwt(claimsA({ iss: 'https://evil.example/' }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"iss":"https://idp-a.example//"}
  { name: 'iss-with-extra-slash', expect: INVALID, mint: (k) => mintJwt(claimsA({ iss: `${ISS_A}/` }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"iss":["https://idp-a.example/"]}
  { name: 'iss-array', expect: INVALID, mint: (k) => mintJwt(claimsA({ iss: [ISS_A] }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . claimsA without iss
  { name: 'missing-iss', expect: INVALID, mint: (k) => mintJwt(claimsA({ iss: undefined }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"aud":"other-api"}
  { name: 'wrong-aud', expect: INVALID, mint: (k) => mintJwt(claimsA({ aud: 'other-api' }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . claimsA without aud
  { name: 'missing-aud', expect: INVALID, mint: (k) => mintJwt(claimsA({ aud: undefined }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"aud":["other","legacy-api"]}
  { name: 'aud-list-containing-ours', expect: aliceOk(), mint: (k) => mintJwt(claimsA({ aud: ['other', AUD] }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . claimsA without exp
  { name: 'missing-exp', expect: INVALID, mint: (k) => mintJwt(claimsA({ exp: undefined }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . claimsA without sub
  { name: 'missing-sub', expect: INVALID, mint: (k) => mintJwt(claimsA({ sub: undefined }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"sub":""}
  { name: 'empty-sub', expect: INVALID, mint: (k) => mintJwt(claimsA({ sub: '' }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . claimsA, one signature character changed
  { name: 'bad-signature', expect: INVALID, mint: async (k) => tamperSignature(await mintJwt(claimsA(), k.a)) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"exp":0}, bad signature: fails as signature, not as expired (#2)
  {
    name: 'expired-with-bad-signature',
    expect: INVALID,
    mint: async (k) => tamperSignature(await mintJwt(claimsA({ exp: 0 }), k.a)),
  },
  // {"alg":"RS256","kid":"a-1"} . claimsA, signed with the stranger's key under A's kid
  { name: 'wrong-key', expect: INVALID, mint: (k) => mintJwt(claimsA(), k.stranger, { kid: 'a-1' }) },
  // {"alg":"RS256","kid":"x","jwk":{stranger's public JWK}} . claimsA, signed by the stranger (#8)
  {
    name: 'embedded-jwk',
    expect: INVALID,
    mint: (k) => mintJwt(claimsA(), k.stranger, { kid: undefined, jwk: k.stranger.publicJwk }),
  },
  // {"alg":"RS256","kid":"a-1","crit":["x-must-understand"],"x-must-understand":1} . claimsA (#15)
  {
    name: 'crit-unknown',
    expect: INVALID,
    mint: (k) => mintJwt(claimsA(), k.a, { crit: ['x-must-understand'], 'x-must-understand': 1 }),
  },
  // {"alg":"RS256","typ":"at+jwt"} . claimsB
  { name: 'typ-required-and-present', expect: { ok: true, user: 'bob', permissions: {}, expiresAt: NOW + 300 }, mint: (k) => mintJwt(claimsB(), k.b, { typ: 'at+jwt' }) },
  // {"alg":"RS256","typ":"application/at+jwt"} . claimsB   (RFC 9068 §2.1: the same media type)
  { name: 'typ-full-media-type', expect: { ok: true, user: 'bob', permissions: {}, expiresAt: NOW + 300 }, mint: (k) => mintJwt(claimsB(), k.b, { typ: 'application/at+jwt' }) },
  // {"alg":"RS256","typ":"JWT"} . claimsB   (B requires at+jwt)
  { name: 'typ-mismatch', expect: INVALID, mint: (k) => mintJwt(claimsB(), k.b, { typ: 'JWT' }) },
  // {"alg":"RS256"} . claimsB   (B requires at+jwt)
  { name: 'typ-missing', expect: INVALID, mint: (k) => mintJwt(claimsB(), k.b) },
  // {"alg":"RS256","kid":"a-1","typ":"at+jwt"} . claimsB, signed with A's key
  { name: 'key-of-issuer-a-naming-issuer-b', expect: INVALID, mint: (k) => mintJwt(claimsB(), k.a, { typ: 'at+jwt' }) },
  // {"alg":"RS256"} . claimsA, signed with B's key
  { name: 'key-of-issuer-b-naming-issuer-a', expect: INVALID, mint: (k) => mintJwt(claimsA(), k.b, { kid: undefined }) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"permissions":{"users":"admin"}}
  // (B names no permissions and no scopeMap: the permissions object claim is its one source, SPEC §9)
  { name: 'permissions-malformed', expect: INVALID, mint: (k) => mintJwt(claimsB({ permissions: { users: 'admin' } }), k.b, { typ: 'at+jwt' }) },
  // {"alg":"RS256","typ":"at+jwt"} . {…claimsB,"permissions":["users:rw"]}
  { name: 'permissions-not-an-object', expect: INVALID, mint: (k) => mintJwt(claimsB({ permissions: ['users:rw'] }), k.b, { typ: 'at+jwt' }) },
  // {"alg":"RS256","typ":"at+jwt"} . {…claimsB,"permissions":{"users":"rw"}}
  {
    name: 'permissions-object-taken-as-it-is',
    expect: { ok: true, user: 'bob', permissions: { users: 'rw' }, expiresAt: NOW + 300 },
    mint: (k) => mintJwt(claimsB({ permissions: { users: 'rw' } }), k.b, { typ: 'at+jwt' }),
  },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"permissions":{"admin":"rw","users":"rw"},"scope":"users.read"}   (SPEC §9: only the named sources count)
  {
    name: 'permissions-claim-cannot-widen-scopeMap',
    expect: aliceOk({ users: 'r' }),
    mint: (k) => mintJwt(claimsA({ permissions: { admin: 'rw', users: 'rw' }, scope: 'users.read' }), k.a),
  },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"scope":"users.read sessions.read users.write unknown"}
  {
    name: 'scope-mapped-via-scopeMap',
    expect: aliceOk({ users: 'rw', sessions: 'r' }),
    mint: (k) => mintJwt(claimsA({ scope: 'users.read sessions.read users.write unknown' }), k.a),
  },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"scp":["users.read"]}
  { name: 'scp-list-mapped-via-scopeMap', expect: aliceOk({ users: 'r' }), mint: (k) => mintJwt(claimsA({ scp: ['users.read'] }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"scope":"__proto__ constructor toString"}
  { name: 'scope-prototype-names', expect: aliceOk(), mint: (k) => mintJwt(claimsA({ scope: '__proto__ constructor toString' }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"scope":["users.write"]}
  { name: 'scope-as-a-list', expect: aliceOk({ users: 'rw' }), mint: (k) => mintJwt(claimsA({ scope: ['users.write'] }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"scope":42}   (wrong shape, nothing else grants: SPEC §9)
  { name: 'scope-a-number', expect: INVALID, mint: (k) => mintJwt(claimsA({ scope: 42 }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"scope":42,"scp":["users.read"]}   (wrong shape, but scp grants)
  { name: 'scope-a-number-scp-grants', expect: aliceOk({ users: 'r' }), mint: (k) => mintJwt(claimsA({ scope: 42, scp: ['users.read'] }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"exp":NOW+86400+31}   (SPEC §12: maxLifetime P1D + 30 s leeway, 1 s past it)
  { name: 'exp-beyond-max-lifetime', expect: INVALID, mint: (k) => mintJwt(claimsA({ exp: NOW + 86_400 + LEEWAY + 1 }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"exp":NOW+86400+30}   (at the edge: accepted)
  { name: 'exp-at-max-lifetime', expect: aliceOk({}, NOW + 86_400 + LEEWAY), mint: (k) => mintJwt(claimsA({ exp: NOW + 86_400 + LEEWAY }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"scopes":"rw:/api/admin","roles":["admin"]}   (#14: foreign claims grant nothing)
  { name: 'foreign-privileged-claims', expect: aliceOk(), mint: (k) => mintJwt(claimsA({ scopes: 'rw:/api/admin', roles: ['admin'] }), k.a) },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"sub":"bob","act":{"sub":"alice"}}   (RFC 8693 §4.1)
  {
    name: 'act-names-the-actor',
    expect: { ok: true, user: 'bob', actor: 'alice', permissions: {}, expiresAt: NOW + 300 },
    mint: (k) => mintJwt(claimsA({ sub: 'bob', act: { sub: 'alice' } }), k.a),
  },
  // {"alg":"RS256","kid":"a-1"} . {…claimsA,"act":"admin"}
  { name: 'act-malformed', expect: INVALID, mint: (k) => mintJwt(claimsA({ act: 'admin' }), k.a) },
  // not-a-jwt
  { name: 'not-a-jwt', expect: MALFORMED, mint: async () => 'not-a-jwt' },
  // h.p.s.x (four parts)
  { name: 'four-parts', expect: MALFORMED, mint: async (k) => `${await mintJwt(claimsA(), k.a)}.x` },
  // {"alg":"dir","enc":"A256GCM"} . (JWE, five parts)
  { name: 'jwe-where-jws-expected', expect: MALFORMED, mint: async () => 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aaaa.bbbb.cccc' },
  // std-base64 characters in the signature
  { name: 'standard-base64', expect: MALFORMED, mint: async (k) => `${await mintJwt(claimsA(), k.a)}+/` },
  // {"alg":"RS256","kid":"a-1"} . ["not","an","object"]
  { name: 'payload-not-an-object', expect: MALFORMED, mint: (k) => mintRaw('["not","an","object"]', k.a) },
  // claimsA padded with a 17 KiB claim (beyond the 16 KiB cap)
  { name: 'oversized', expect: MALFORMED, mint: (k) => mintJwt(claimsA({ pad: 'x'.repeat(17 * 1024) }), k.a) },
]
