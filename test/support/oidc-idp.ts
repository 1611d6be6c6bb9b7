// A real OpenID provider for tests: the npm package `oidc-provider` in-process on a
// loopback port, issuing RFC 9068 JWT access tokens by client credentials with
// resource indicators (RFC 8707). It can be stopped and started again on the same
// port, started late (a port is reserved first), its signing key rotated, and its
// key set moved to another address (its discovery document then names that one).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import Provider from 'oidc-provider'

export const IDP_CLIENT = { id: 'batch', secret: 'batch-secret-0123456789abcdef' }
export const IDP_RESOURCE = 'https://legacy-api.test'

export interface OidcIdp {
  /** `http://127.0.0.1:<port>` (no trailing slash, as oidc-provider names itself). */
  readonly issuer: string
  /** Requests for the JWKS since start. */
  readonly jwksRequests: number
  /** A client-credentials access token for these scopes and the legacy API as resource. */
  token(scope: string): Promise<string>
  /** A new signing key (new kid); the old one is no longer published. */
  rotate(): Promise<void>
  /**
   * A new signing key published only at `path`, which the discovery document now
   * names as jwks_uri; the old address keeps answering with the old key set.
   */
  moveJwks(path: string): Promise<void>
  /** Requests for this path since start. */
  requestsFor(path: string): number
  start(): Promise<void>
  stop(): Promise<void>
}

async function signingJwk(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' }
}

function makeProvider(issuer: string, key: JWK, jwksPath = '/jwks'): Provider {
  const provider = new Provider(issuer, {
    routes: { jwks: jwksPath },
    clients: [
      {
        client_id: IDP_CLIENT.id,
        client_secret: IDP_CLIENT.secret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'users.read users.write sessions.read',
      },
    ],
    jwks: { keys: [key] },
    ttl: { ClientCredentials: 600 },
    scopes: ['users.read', 'users.write', 'sessions.read'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => IDP_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'users.read users.write sessions.read',
          audience: 'legacy-api',
          accessTokenFormat: 'jwt',
          accessTokenTTL: 600,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  })
  // Its own errors go to the test's answer, not to stderr.
  provider.on('server_error', () => {})
  return provider
}

export async function startOidcIdp(opts: { late?: boolean } = {}): Promise<OidcIdp> {
  // Reserve a port (the issuer names it before the provider is up).
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const issuer = `http://127.0.0.1:${port}`
  let keyNo = 1
  let provider = makeProvider(issuer, await signingJwk(`idp-key-${keyNo}`))
  let jwksPath = '/jwks'
  /** Key-set address -> the provider that published there before the set moved. */
  const retired = new Map<string, Provider>()
  const hits = new Map<string, number>()
  let server: Server | null = null
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? ''
    hits.set(path, (hits.get(path) ?? 0) + 1)
    const answering = path !== jwksPath ? (retired.get(path) ?? provider) : provider
    answering.callback()(req, res)
  }
  const idp: OidcIdp = {
    issuer,
    get jwksRequests() {
      return hits.get('/jwks') ?? 0
    },
    requestsFor: (path) => hits.get(path) ?? 0,
    async token(scope) {
      const basic = Buffer.from(`${IDP_CLIENT.id}:${IDP_CLIENT.secret}`).toString('base64')
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource: IDP_RESOURCE }),
      })
      const body = (await res.json()) as { access_token?: string; error?: string; error_description?: string }
      if (!body.access_token) throw new Error(`the IdP refused: ${body.error} ${body.error_description}`)
      return body.access_token
    },
    async rotate() {
      keyNo++
      provider = makeProvider(issuer, await signingJwk(`idp-key-${keyNo}`), jwksPath)
    },
    async moveJwks(path) {
      keyNo++
      retired.set(jwksPath, provider)
      jwksPath = path
      provider = makeProvider(issuer, await signingJwk(`idp-key-${keyNo}`), path)
    },
    async start() {
      if (server) return
      const s = createServer(handle)
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject)
        s.listen(port, '127.0.0.1', () => resolve())
      })
      server = s
    },
    async stop() {
      const s = server
      server = null
      if (!s) return
      s.closeAllConnections()
      await new Promise<void>((resolve) => s.close(() => resolve()))
    },
  }
  if (!opts.late) await idp.start()
  return idp
}
