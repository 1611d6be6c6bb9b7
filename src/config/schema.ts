// SPEC §2: the YAML configuration. One strict schema with defaults and a one-line
// description per field; unknown fields are errors so a typo cannot silently turn
// a security feature off. The generated config-validator.ts validates it once at (re)load; the result is frozen.
// The larger sections live in schema-<section>.ts beside this file.
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { SPOOFABLE_HEADERS } from './spoofable-headers.js'
import { Cidr, HEADER_NAME_PATTERN, HostPort, FilePath, Strict } from './schema-common.js'
import { ApiSchema } from './schema-apis.js'
import { IssuerServiceSchema } from './schema-issuer.js'
import { JwtSchema } from './schema-jwt.js'
import { LimitsSchema } from './schema-limits.js'
import { StoreSchema } from './schema-store.js'

export { JWT_ALGORITHMS, type JwtAlgorithm } from './schema-jwt.js'

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
    apis: Type.Array(ApiSchema, { default: [] }),
    unmatched: Type.Union([Type.Literal('deny'), Type.Literal('authenticated')], { default: 'deny' }),
    ipFilter: Type.Object(
      { allow: Type.Array(Cidr, { default: [] }), deny: Type.Array(Cidr, { default: [] }) },
      { ...Strict, default: {} },
    ),
    jwt: JwtSchema,
    apiKeys: Type.Object(
      {
        headers: Type.Array(Type.String({ minLength: 1, pattern: HEADER_NAME_PATTERN }), {
          default: ['X-API-Key'],
        }),
      },
      { ...Strict, default: {} },
    ),
    store: StoreSchema,
    identityHeaders: Type.Object(
      {
        prefix: Type.String({ minLength: 1, pattern: HEADER_NAME_PATTERN, default: 'X-Auth-' }),
        forwardAuthorization: Type.Boolean({ default: false }),
        removeHeaders: Type.Array(Type.String({ minLength: 1, pattern: HEADER_NAME_PATTERN }), {
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
    issuer: Type.Optional(IssuerServiceSchema),
    limits: LimitsSchema,
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
