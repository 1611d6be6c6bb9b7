// SPEC §2 `limits:`: sizes, counts and times that bound what one client can cost.
import { Type } from '@sinclair/typebox'
import { Strict } from './schema-common.js'

export const LimitsSchema = Type.Object(
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
)
