// SPEC §2: the YAML configuration. One strict schema with defaults and a one-line
// description per field; unknown fields are errors so a typo cannot silently turn
// a security feature off. Ajv validates it once at (re)load; the result is frozen.
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { SPOOFABLE_HEADERS } from './spoofable-headers.js'

const Strict = { additionalProperties: false } as const

const LevelSchema = Type.Union([Type.Literal('none'), Type.Literal('r'), Type.Literal('rw')])
const PermissionsSchema = Type.Record(Type.String({ minLength: 1 }), LevelSchema, {
  description: 'API name -> none | r | rw',
})
const Cidr = Type.String({ minLength: 1, description: 'an IPv4 or IPv6 address or CIDR range' })
const HostPort = Type.String({
  minLength: 1,
  description: 'host:port (IPv6 hosts in brackets: [::1]:8080)',
})
const Duration = Type.String({ minLength: 1, description: 'ISO 8601 duration PnDTnHnMnS' })
const FilePath = Type.String({ minLength: 1, description: 'a file path, relative to the config file' })

export const JWT_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
  'HS256', 'HS384', 'HS512',
] as const
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number]

// A dotted path (`realm_access.roles`), or its segments when a claim's own name holds a dot (SPEC §12).
const ClaimPath = Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
  description: 'a dotted claim path (realm_access.roles) or a list of path segments (["https://example.com/roles"])',
})

const IssuerSchema = Type.Object(
  {
    issuer: Type.String({ minLength: 1, description: 'the exact `iss` claim of this issuer' }),
    audience: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
        description: 'required `aud` value(s); tokens without one of them are refused',
      }),
    ),
    jwksUri: Type.Optional(Type.String({ minLength: 1, description: 'https:// (or http:// on loopback) JWKS endpoint' })),
    publicKeyFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM public key, or a JWKS JSON file' })),
    secretEnv: Type.Optional(Type.String({ minLength: 1, description: 'environment variable holding the HS* secret' })),
    algorithms: Type.Optional(
      Type.Array(Type.Union(JWT_ALGORITHMS.map((a) => Type.Literal(a))), {
        minItems: 1,
        uniqueItems: true,
        description: 'accepted `alg` values; default RS256 (HS256 for secretEnv)',
      }),
    ),
    requiredType: Type.Optional(
      Type.String({ minLength: 1, description: 'required `typ` header, e.g. at+jwt (RFC 9068); default none required' }),
    ),
    scopeMap: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), PermissionsSchema, {
        description: 'scope string -> permissions it grants, for tokens without a permissions claim',
      }),
    ),
    discovery: Type.Optional(
      Type.Boolean({
        description:
          'read jwks_uri from <issuer>/.well-known/openid-configuration (then the RFC 8414 document); its issuer must equal this one (SPEC §9)',
      }),
    ),
    userClaim: Type.Optional(
      Type.String({ minLength: 1, description: 'the claim that names the user (default sub): preferred_username, oid, email…' }),
    ),
    maxLifetime: Type.Optional(
      Type.String({ ...Duration, description: 'a token whose exp lies further ahead than this (+ leeway) is refused; default P1D' }),
    ),
    permissions: Type.Optional(
      Type.Array(
        Type.Object(
          {
            claim: ClaimPath,
            map: Type.Optional(
              Type.Record(Type.String({ minLength: 1 }), PermissionsSchema, {
                description: 'claim value -> permissions it grants; without map the claim is a permissions object',
              }),
            ),
          },
          Strict,
        ),
        { minItems: 1, description: 'where permissions come from; the union of what every source grants (SPEC §9)' },
      ),
    ),
    claimHeaders: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }), {
        description: 'claim (dotted path) -> identity header that carries its value; names start with identityHeaders.prefix',
      }),
    ),
    jwksCacheSeconds: Type.Integer({ minimum: 10, default: 300, description: 'how often a JWKS is refreshed in the background' }),
    jwksCooldownSeconds: Type.Integer({
      minimum: 1,
      default: 30,
      description: 'at most one refetch per this many seconds for an unknown kid',
    }),
  },
  Strict,
)

export const ConfigSchema = Type.Object(
  {
    listen: Type.String({ ...HostPort, default: '0.0.0.0:8080' }),
    tls: Type.Optional(Type.Object({ certFile: FilePath, keyFile: FilePath }, Strict)),
    admin: Type.Object({ listen: Type.String({ ...HostPort, default: '0.0.0.0:9464' }) }, { ...Strict, default: {} }),
    upstream: Type.Object(
      {
        url: Type.String({ minLength: 1, default: 'http://127.0.0.1:3000', description: 'the legacy API base URL' }),
        caFile: Type.Optional(FilePath),
        connectTimeoutMs: Type.Integer({ minimum: 1, default: 5000 }),
        timeoutMs: Type.Integer({ minimum: 1, default: 30000, description: 'no response headers within this -> 504' }),
        connections: Type.Integer({ minimum: 1, default: 128, description: 'keep-alive connections to the upstream' }),
        removeQueryParams: Type.Array(Type.String({ minLength: 1 }), {
          default: ['access_token'],
          description: 'query parameters removed before forwarding (compared decoded, case-folded, PHP-style); a credential the upstream might read',
        }),
      },
      { ...Strict, default: {} },
    ),
    trustedProxies: Type.Array(Cidr, { default: [], description: 'peers whose X-Forwarded-For is believed' }),
    apis: Type.Array(
      Type.Object(
        {
          name: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9_.-]+$' }),
          prefixes: Type.Array(Type.String({ minLength: 1, pattern: '^/' }), { minItems: 1 }),
          public: Type.Boolean({ default: false, description: 'no credential needed' }),
          maxBodyBytes: Type.Optional(
            Type.Integer({ minimum: 0, description: 'largest request body for this API, in bytes (-> 413); default limits.maxBodyBytes' }),
          ),
        },
        Strict,
      ),
      { default: [] },
    ),
    unmatched: Type.Union([Type.Literal('deny'), Type.Literal('authenticated')], { default: 'deny' }),
    ipFilter: Type.Object(
      { allow: Type.Array(Cidr, { default: [] }), deny: Type.Array(Cidr, { default: [] }) },
      { ...Strict, default: {} },
    ),
    jwt: Type.Object(
      {
        leewaySeconds: Type.Integer({ minimum: 0, maximum: 300, default: 30 }),
        issuers: Type.Array(IssuerSchema, { default: [] }),
        waitForKeys: Type.Boolean({
          default: false,
          description: '/readyz answers 503 until every remote issuer\'s keys were loaded once (issuers with discovery always wait)',
        }),
      },
      { ...Strict, default: {} },
    ),
    apiKeys: Type.Object(
      {
        headers: Type.Array(Type.String({ minLength: 1, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }), {
          default: ['X-API-Key'],
        }),
      },
      { ...Strict, default: {} },
    ),
    store: Type.Object(
      {
        type: Type.Union([Type.Literal('file'), Type.Literal('redis')], { default: 'file' }),
        path: Type.String({ minLength: 1, default: './data/apikeys.json' }),
        url: Type.Optional(
          Type.String({ minLength: 1, description: 'redis://[:password@]host:port/db, or rediss:// for TLS (store.type redis)' }),
        ),
        keyPrefix: Type.String({
          minLength: 1,
          maxLength: 64,
          pattern: '^[\\x21-\\x7e]+$',
          default: 'gatehouse:',
          description: 'every Redis key and the pub/sub channel start with this; replicas sharing keys use the same prefix',
        }),
        sentinels: Type.Optional(
          Type.Array(HostPort, { minItems: 1, description: 'Redis Sentinels (host:port) asked for the primary of sentinelName' }),
        ),
        sentinelName: Type.Optional(Type.String({ minLength: 1, description: 'the Sentinel master group name; required with sentinels' })),
        caFile: Type.Optional(
          Type.String({ minLength: 1, description: 'PEM CA bundle trusted for a rediss:// server, relative to the config file (default: the system CAs)' }),
        ),
        timeoutMs: Type.Integer({
          minimum: 50,
          maximum: 60000,
          default: 1000,
          description: 'a Redis command not answered within this fails: the request gets 503 store_unavailable',
        }),
        waitReplicas: Type.Integer({
          minimum: 0,
          maximum: 16,
          default: 0,
          description: 'after each write, wait (at most timeoutMs) until this many replicas have it; 1 with Sentinel',
        }),
      },
      { ...Strict, default: {} },
    ),
    identityHeaders: Type.Object(
      {
        prefix: Type.String({ minLength: 1, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", default: 'X-Auth-' }),
        forwardAuthorization: Type.Boolean({ default: false }),
        removeHeaders: Type.Array(Type.String({ minLength: 1, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }), {
          default: [...SPOOFABLE_HEADERS],
          description: 'headers other stacks read as identity or client address, removed from every request (case and `_` folded); replaces the default list',
        }),
      },
      { ...Strict, default: {} },
    ),
    pathReadings: Type.Object(
      {
        doubleDecoding: Type.Boolean({ default: true, description: '%25xx decoded once more (PHP, old frameworks)' }),
        encodedDelimiters: Type.Boolean({ default: true, description: 'a decoded ? or # ends the path' }),
        trailingDotsSpaces: Type.Boolean({ default: true, description: 'trailing dots and spaces of a segment dropped (IIS, Windows)' }),
        pathParameters: Type.Boolean({ default: true, description: 'a segment with ;params read without dropping them (Gatehouse itself drops them, as Tomcat does)' }),
        unicodeCompatibility: Type.Boolean({ default: true, description: 'Unicode NFKC forms: fullwidth letters, ／ ．, ligatures' }),
        unicodeCaseFolding: Type.Boolean({ default: true, description: 'Unicode letters whose upper or lower case is ASCII (ı ſ K ß)' }),
        invalidUtf8: Type.Boolean({ default: true, description: 'overlong and invalid UTF-8 read as old decoders do' }),
      },
      { ...Strict, default: {}, description: 'a path that a legacy upstream could read as another API is 400 path_ambiguous; each reading can be switched off' },
    ),
    // SPEC §10: Gatehouse as the decision service behind nginx, Caddy, Traefik or Envoy.
    forwardAuth: Type.Optional(
      Type.Object(
        {
          path: Type.String({
            pattern: '^/[^?#]*[^/?#]$',
            default: '/_gatehouse/decide',
            description: 'decision endpoint on the traffic listener; {path}/<original path> is the Envoy ext_authz form',
          }),
          trustedCallers: Type.Array(Cidr, {
            minItems: 1,
            default: ['127.0.0.1/32', '::1/128'],
            description: 'the only peers that may ask for decisions (others get 403); their X-Forwarded-For is believed',
          }),
        },
        Strict,
      ),
    ),
    cache: Type.Object(
      {
        maxEntries: Type.Integer({ minimum: 0, default: 10000, description: 'verified credentials kept; 0 = no cache' }),
        ttlSeconds: Type.Integer({ minimum: 1, default: 300, description: 'longest a verified credential is trusted unchecked' }),
      },
      { ...Strict, default: {} },
    ),
    issuer: Type.Optional(
      Type.Object(
        {
          prefix: Type.String({ pattern: '^/[^?#]*[^/?#]$', default: '/_gatehouse' }),
          name: Type.String({ minLength: 1, default: 'gatehouse' }),
          signingKeyFile: Type.Optional(FilePath),
          previousKeyFiles: Type.Array(FilePath, {
            default: [],
            description: 'keys of earlier signing keys, still accepted for verification after a rotation',
          }),
          usersFile: Type.Optional(FilePath),
          clientsFile: Type.Optional(FilePath),
          jwtMaxTtl: Type.String({ ...Duration, default: 'P1D' }),
          jwtDefaultTtl: Type.String({ ...Duration, default: 'PT1H' }),
          impersonationMaxTtl: Type.String({
            ...Duration,
            default: 'PT15M',
            description: 'longest lifetime of a JWT or API key minted with targetUser (acting for someone else)',
          }),
          apiKeyMaxTtl: Type.String({
            ...Duration,
            default: 'P3650D',
            description: 'longest `expires` of an API key made through the token service (at most P36500D, which also bounds `keys create`)',
          }),
          maxKeysPerUser: Type.Integer({ minimum: 1, default: 100, description: 'most API keys one user may hold; more -> 409' }),
        },
        Strict,
      ),
    ),
    limits: Type.Object(
      {
        maxHeaderBytes: Type.Integer({
          minimum: 1024,
          maximum: 1048576,
          default: 16384,
          description: 'largest request line plus header block, in bytes (-> 431); restart to change',
        }),
        maxHeaderCount: Type.Integer({ minimum: 8, maximum: 10000, default: 200, description: 'most header lines in a request (-> 431)' }),
        maxBodyBytes: Type.Integer({
          minimum: 0,
          default: 10485760,
          description: 'largest request body in bytes for APIs without their own maxBodyBytes (-> 413), chunked bodies included',
        }),
        maxConnections: Type.Integer({ minimum: 1, default: 10000, description: 'open client connections on the traffic port; more are closed at once' }),
        headersTimeoutMs: Type.Integer({
          minimum: 100,
          default: 20000,
          description: 'a client must send its whole header block within this (slowloris -> 408 and closed)',
        }),
        requestTimeoutMs: Type.Integer({
          minimum: 100,
          default: 300000,
          description: 'a client must send its whole request, body included, within this (-> 408 and closed)',
        }),
        maxTokenBytes: Type.Integer({
          minimum: 256,
          maximum: 16384,
          default: 16384,
          description: 'longest bearer JWT looked at (at most 16 KiB); a longer one is 401 unverified',
        }),
        authFailuresPerMinute: Type.Integer({
          minimum: 0,
          default: 300,
          description: 'failed credentials one client address (IPv6: one /64) may present per minute before unverified ones get 429; 0 = no limit',
        }),
        tunnelIdleTimeoutMs: Type.Integer({
          minimum: 1000,
          default: 300000,
          description: 'a websocket tunnel with no bytes either way for this long is closed',
        }),
        tunnelMaxLifetimeMs: Type.Integer({
          minimum: 1000,
          default: 3600000,
          description: 'a websocket tunnel is closed this long after it opened, whatever its traffic',
        }),
        jwksFetchesPerMinute: Type.Integer({
          minimum: 1,
          default: 10,
          description: 'most JWKS fetches per issuer in any minute, background refreshes included',
        }),
      },
      { ...Strict, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), {
          default: 'info',
        }),
        levelFormat: Type.Union([Type.Literal('name'), Type.Literal('number')], {
          default: 'name',
          description: 'how a line names its level: "level":"info" (name, what log pipelines read) or pino\'s "level":30 (number)',
        }),
      },
      { ...Strict, default: {} },
    ),
  },
  Strict,
)

export type Config = Static<typeof ConfigSchema>
export type IssuerConfig = Config['jwt']['issuers'][number]
export type ApiConfig = Config['apis'][number]
export type AnySchema = TSchema
