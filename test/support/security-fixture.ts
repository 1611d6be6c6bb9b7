// The world of the attack catalogue (SECURITY.md; test/security/): P is
// Gatehouse with the catalogue's API map (/pub, /api, /api/admin, /other) and its
// token service; U the recording upstream; I a JWKS IdP; L a canary listener that only
// counts connections (the SSRF oracle); K1 alice's API key; T1 alice's own JWT
// (RS256, the token service's key); Tidp bob's IdP access token. Tokens are built by
// hand (handMint), not by a JOSE library, so malformed values survive.
import { createHmac, createPrivateKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto'
import net from 'node:net'
import { stringify } from 'yaml'
import { createKey } from './api-keys.js'
import { startJwksServer, type JwksServer } from './jwks-server.js'
import { jwksOf, makeKeyPair, type TestKey } from './mint.js'
import { rawRequest, type RawResponse } from './raw-http.js'
import { startRecordingUpstream, type RecordingUpstream, type SeenRequest } from './recording-upstream.js'
import { presets, startTestGatehouse, type TestGatehouse } from './gatehouse.js'
import { knownHashes, PASSWORDS, CLIENTS } from './token-service.js'

export const OWN_ISS = 'gatehouse'
export const OWN_AUD = 'own-aud'
export const IDP_ISS = 'https://idp.example/'
export const IDP_AUD = 'legacy-api'
export const HS_ISS = 'hs-app'
export const HS_SECRET = 'the-catalogue-hs256-secret-is-32-bytes-or-more!'
export const SERVICE = '/_gatehouse'

/** The catalogue's grants for K1 and T1 (alice): r on /pub, rw on /api, none on /api/admin and /other. */
export const K1_PERMISSIONS = Object.freeze({ pub: 'r', api: 'rw', admin: 'none', other: 'none' } as const)

export const CATALOGUE_APIS = [
  { name: 'pub', prefixes: ['/pub'] },
  { name: 'api', prefixes: ['/api'] },
  { name: 'admin', prefixes: ['/api/admin'] },
  { name: 'other', prefixes: ['/other'] },
  // The only anonymous routes (attack #54).
  { name: 'health', prefixes: ['/health'], public: true },
]

/** Connection counter: "L=0" means the canary saw no connection. */
export interface Canary {
  readonly host: string
  readonly port: number
  connections(): number
  close(): Promise<void>
}

export async function startCanary(): Promise<Canary> {
  let count = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((s) => {
    count++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => s.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Signs the JWS signing input (ASCII `b64u(header).b64u(payload)`). */
export type Signer = (input: Buffer) => Buffer

export const signers = {
  rs256: (key: KeyObject): Signer => (input) => cryptoSign('sha256', input, key),
  ps256: (key: KeyObject): Signer => (input) => cryptoSign('sha256', input, { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }),
  rs512: (key: KeyObject): Signer => (input) => cryptoSign('sha512', input, key),
  es256: (key: KeyObject, dsaEncoding: 'ieee-p1363' | 'der' = 'ieee-p1363'): Signer => (input) => cryptoSign('sha256', input, { key, dsaEncoding }),
  hs256: (secret: string | Buffer): Signer => (input) => createHmac('sha256', secret).update(input).digest(),
  none: (): Signer => () => Buffer.alloc(0),
}

/** A token part: bytes as they are, a string as its UTF-8 text, anything else as JSON. */
export function b64u(part: unknown): string {
  if (Buffer.isBuffer(part)) return part.toString('base64url')
  if (typeof part === 'string') return Buffer.from(part, 'utf8').toString('base64url')
  return Buffer.from(JSON.stringify(part), 'utf8').toString('base64url')
}

/** `b64u(header).b64u(payload).b64u(sign(…))`, built by hand (the attack catalogue's hand-minted tokens). */
export function handMint(header: unknown, payload: unknown, sign: Signer): string {
  const input = `${b64u(header)}.${b64u(payload)}`
  return `${input}.${sign(Buffer.from(input, 'ascii')).toString('base64url')}`
}

/** A raw HTTP/1.1 request: method, target, header lines (as given), optional body; Connection: close unless given. */
export function rawText(method: string, target: string, headers: readonly (readonly [string, string])[] = [], body = ''): string {
  let text = `${method} ${target} HTTP/1.1\r\n`
  if (!headers.some(([n]) => n.toLowerCase() === 'host')) text += 'Host: gatehouse.test\r\n'
  for (const [n, v] of headers) text += `${n}: ${v}\r\n`
  if (!headers.some(([n]) => n.toLowerCase() === 'connection')) text += 'Connection: close\r\n'
  if (body !== '' && !headers.some(([n]) => /^(content-length|transfer-encoding)$/i.test(n))) text += `Content-Length: ${Buffer.byteLength(body)}\r\n`
  return `${text}\r\n${body}`
}

export interface World {
  readonly P: TestGatehouse
  readonly U: RecordingUpstream
  readonly I: JwksServer
  readonly L: Canary
  readonly port: number
  readonly base: string
  readonly ownKid: string
  readonly ownKey: KeyObject
  readonly ownPublicPem: string
  readonly idpEs: TestKey
  readonly idpRs: TestKey
  readonly K1: string
  readonly K1id: string
  /** P's clock and the tokens' clock, Unix seconds; moved by advance(). */
  now(): number
  /** Moves P's clock (and now()) forward: JWKS cooldowns, backoff and token times all follow it. */
  advance(ms: number): void
  /** B of the catalogue, plus alice's permissions claim. */
  B(extra?: Record<string, unknown>): Record<string, unknown>
  /** T1: alice's own JWT; `extra` claims and `header` members are merged in (undefined removes). */
  T1(extra?: Record<string, unknown>, header?: Record<string, unknown>): string
  /** Tidp: bob's IdP access token (ES256, scope "api.read pub.read"). */
  Tidp(extra?: Record<string, unknown>, header?: Record<string, unknown>): string
  /** A token of the HS256 issuer hs-app signed with its real secret. */
  hs(extra?: Record<string, unknown>, header?: Record<string, unknown>): string
  /** Sends raw text to P; resolves with the response (or status 0 when P closed without one). */
  send(text: string, timeoutMs?: number): Promise<RawResponse>
  /** GET (or `method`) `target` with these header lines, over a raw socket. */
  request(target: string, headers?: readonly (readonly [string, string])[], method?: string, body?: string): Promise<RawResponse>
  /** Requests U has recorded so far. */
  seen(): number
  lastSeen(): SeenRequest
  close(): Promise<void>
}

export interface WorldOptions {
  /** Merged over the top level of P's config. */
  readonly config?: Record<string, unknown>
  readonly limits?: Record<string, unknown>
  readonly jwt?: Record<string, unknown>
  /** Stop I before P starts (attack #93); restart it with I.restart(). */
  readonly idpDownAtStart?: boolean
  /** Options of the IdP's issuer entry (jwksCooldownSeconds…). */
  readonly idp?: Record<string, unknown>
}

function merge(claims: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...claims, ...extra }
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k]
  return out
}

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const U = await startRecordingUpstream()
  const L = await startCanary()
  const idpEs = await makeKeyPair('ES256', 'idp-es')
  const idpRs = await makeKeyPair('RS256', 'idp-rs')
  const I = await startJwksServer({ keys: jwksOf(idpEs, idpRs) })
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const ownPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const h = await knownHashes()
  const users = [
    { name: 'alice', passwordHash: h.alice, permissions: { ...K1_PERMISSIONS } },
    { name: 'bob', passwordHash: h.bob, permissions: { api: 'r' } },
    { name: 'carol', passwordHash: h.carol, permissions: { pub: 'rw', api: 'rw', admin: 'rw', other: 'rw' }, admin: true, canImpersonate: true },
  ]
  const clients = [{ clientId: CLIENTS.billing.id, secretHash: h[CLIENTS.billing.id], permissions: { pub: 'r' }, ttl: 'PT10M' }]
  const jwt = {
    leewaySeconds: 30,
    issuers: [
      { issuer: OWN_ISS, audience: OWN_AUD },
      {
        issuer: IDP_ISS,
        audience: IDP_AUD,
        jwksUri: I.url,
        algorithms: ['ES256', 'RS256'],
        requiredType: 'at+jwt',
        jwksCooldownSeconds: 30,
        scopeMap: { 'api.read': { api: 'r' }, 'api.write': { api: 'rw' }, 'pub.read': { pub: 'r' } },
        ...opts.idp,
      },
      { issuer: HS_ISS, secretEnv: 'GH_CATALOGUE_HS', algorithms: ['HS256'] },
    ],
    ...opts.jwt,
  }
  let offset = 0
  const clock = () => Date.now() + offset
  if (opts.idpDownAtStart) await I.stop()
  let P: TestGatehouse
  try {
    P = await startTestGatehouse(
      {
        ...presets.proxy(U.url, CATALOGUE_APIS, { timeoutMs: 2000, connectTimeoutMs: 1000 }),
        jwt,
        ...presets.tokenService({ name: OWN_ISS, signingKeyFile: './own-rs.pem' }),
        ...(opts.limits ? { limits: opts.limits } : {}),
        ...opts.config,
      },
      {
        files: { 'own-rs.pem': ownPem, 'users.yaml': stringify({ users }), 'clients.yaml': stringify({ clients }) },
        env: { ...process.env, GH_CATALOGUE_HS: HS_SECRET },
        now: clock,
      },
    )
  } catch (err) {
    await I.stop()
    await L.close()
    await U.close()
    throw err
  }
  const port = Number(new URL(P.url).port)
  const ownKid = P.gh.runtime().service?.keys.current.kid as string
  const k1 = await createKey(P.gh.store, { user: 'alice', permissions: { ...K1_PERMISSIONS } })
  const now = () => Math.floor(clock() / 1000)
  const ownKey = createPrivateKey(ownPem)
  const idpEsKey = createPrivateKey(idpEs.privatePem)
  const B = (extra: Record<string, unknown> = {}) =>
    merge({ iss: OWN_ISS, aud: OWN_AUD, sub: 'alice', iat: now(), exp: now() + 300, permissions: { ...K1_PERMISSIONS } }, extra)
  const world: World = {
    P,
    U,
    I,
    L,
    port,
    base: `http://127.0.0.1:${port}`,
    ownKid,
    ownKey,
    ownPublicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    idpEs,
    idpRs,
    K1: k1.key,
    K1id: k1.record.id,
    now,
    advance(ms) {
      offset += ms
    },
    B,
    T1: (extra = {}, header = {}) => handMint(merge({ alg: 'RS256', kid: ownKid, typ: 'at+jwt' }, header), B(extra), signers.rs256(ownKey)),
    Tidp: (extra = {}, header = {}) =>
      handMint(
        merge({ alg: 'ES256', kid: 'idp-es', typ: 'at+jwt' }, header),
        merge({ iss: IDP_ISS, aud: IDP_AUD, sub: 'bob', iat: now(), exp: now() + 300, scope: 'api.read pub.read' }, extra),
        signers.es256(idpEsKey),
      ),
    hs: (extra = {}, header = {}) =>
      handMint(
        merge({ alg: 'HS256', typ: 'JWT' }, header),
        merge({ iss: HS_ISS, sub: 'hs-user', iat: now(), exp: now() + 300, permissions: { api: 'rw' } }, extra),
        signers.hs256(HS_SECRET),
      ),
    send: (text, timeoutMs = 3000) => rawRequest(port, text, timeoutMs).catch(() => ({ status: 0, head: '', body: '' })),
    request: (target, headers = [], method = 'GET', body = '') => world.send(rawText(method, target, headers, body)),
    seen: () => U.requests.length,
    lastSeen: () => U.requests.at(-1) as SeenRequest,
    async close() {
      await P.close()
      await I.stop()
      await L.close()
      await U.close()
    },
  }
  return world
}

export const bearer = (token: string): [string, string] => ['Authorization', `Bearer ${token}`]
export const apiKey = (key: string): [string, string] => ['X-API-Key', key]

/** The problem `type` of a raw response's JSON body, or undefined. */
export function problemType(r: RawResponse): string | undefined {
  try {
    return (JSON.parse(r.body) as { type?: string }).type?.replace('https://gatehouse.dev/problems/', '')
  } catch {
    return undefined
  }
}

/** The value of a response header of a raw response (first one), or undefined. */
export function headerOf(r: RawResponse, name: string): string | undefined {
  const m = new RegExp(`^${name}: *(.*)$`, 'im').exec(r.head)
  return m?.[1]?.trim()
}

/** Names of every header line U received, lowercased, in order. */
export function headerNames(seen: SeenRequest): string[] {
  const out: string[] = []
  for (let i = 0; i < seen.rawHeaders.length; i += 2) out.push((seen.rawHeaders[i] as string).toLowerCase())
  return out
}

/**
 * "U-clean": exactly one proxy-set X-Auth-User (the verified subject) and one
 * X-Auth-Permissions, no client copies, and no name that folds (`_` -> `-`, case)
 * to an identity header unless it is exactly one of ours.
 */
export function assertUClean(seen: SeenRequest, user: string | null, permissions?: string): void {
  const names = headerNames(seen)
  const identity = names.filter((n) => /^x[-_]auth[-_]/i.test(n))
  for (const n of identity) {
    if (n.includes('_')) throw new Error(`U received the underscore name ${n}`)
  }
  if (user === null) {
    if (identity.length > 0) throw new Error(`U received identity headers on an anonymous route: ${identity.join(', ')}`)
    return
  }
  for (const n of new Set(identity)) {
    if (identity.filter((x) => x === n).length !== 1) throw new Error(`U received ${n} more than once`)
  }
  if (seen.headers['x-auth-user'] !== user) throw new Error(`U received X-Auth-User ${String(seen.headers['x-auth-user'])}, not ${user}`)
  if (!identity.includes('x-auth-permissions')) throw new Error('U received no X-Auth-Permissions')
  if (permissions !== undefined && seen.headers['x-auth-permissions'] !== permissions) {
    throw new Error(`U received X-Auth-Permissions ${String(seen.headers['x-auth-permissions'])}, not ${permissions}`)
  }
}

export { PASSWORDS, CLIENTS }
