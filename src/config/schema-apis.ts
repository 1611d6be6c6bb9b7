// SPEC §2 `apis:`: the APIs behind Gatehouse, each a set of path prefixes.
import { Type } from '@sinclair/typebox'
import { HEADER_NAME_PATTERN, Strict } from './schema-common.js'

const HeaderName = Type.String({ minLength: 1, pattern: HEADER_NAME_PATTERN })

// Fetch standard §3.2; checked further by config/cors-config.ts (origin form, `*` with credentials).
const CorsSchema = Type.Object(
  {
    origins: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      uniqueItems: true,
      description: 'origins (scheme://host[:port], as browsers send them) whose pages may call this API, or ["*"] (never with credentials)',
    }),
    methods: Type.Array(Type.String({ minLength: 1, pattern: HEADER_NAME_PATTERN }), {
      minItems: 1,
      uniqueItems: true,
      default: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      description: 'methods a preflight may ask for (Access-Control-Allow-Methods); compared case-sensitively',
    }),
    headers: Type.Array(HeaderName, {
      uniqueItems: true,
      default: ['Authorization', 'Content-Type'],
      description: 'request headers a page may send (Access-Control-Allow-Headers); add X-API-Key for API keys',
    }),
    exposeHeaders: Type.Array(HeaderName, {
      uniqueItems: true,
      default: [],
      description: 'response headers a page may read besides the safelisted ones (Access-Control-Expose-Headers)',
    }),
    credentials: Type.Boolean({
      default: false,
      description: 'Access-Control-Allow-Credentials: true, for pages that send cookies or TLS client certificates; a bearer token set by the page does not need it',
    }),
    maxAge: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 86400, description: 'seconds a browser may reuse a preflight answer (Access-Control-Max-Age; Chromium caps it at 7200)' }),
    ),
  },
  { ...Strict, description: 'browser cross-origin access; preflights are answered by Gatehouse, never forwarded' },
)

export const ApiSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9_.-]+$' }),
    prefixes: Type.Array(Type.String({ minLength: 1, pattern: '^/' }), { minItems: 1 }),
    public: Type.Boolean({ default: false, description: 'no credential needed' }),
    maxBodyBytes: Type.Optional(
      Type.Integer({ minimum: 0, description: 'largest request body for this API, in bytes (-> 413); default limits.maxBodyBytes' }),
    ),
    cors: Type.Optional(CorsSchema),
  },
  Strict,
)
