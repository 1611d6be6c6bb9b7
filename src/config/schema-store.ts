// SPEC §2 `store:`: where API keys live (a file, or Redis with optional Sentinel).
import { Type } from '@sinclair/typebox'
import { HostPort, Strict } from './schema-common.js'

export const StoreSchema = Type.Object(
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
)
