// What the Redis store test files share: a store config with a fresh key prefix per
// store (so cases on one server never see each other's keys) and loggers.
import type { StoreConfig } from '../../src/config/redis-config.js'

let prefixes = 0
const freshPrefix = () => `gh-test-${process.pid}-${++prefixes}:`

export const quiet = { warn: () => undefined, info: () => undefined }

export function storeConfig(url: string | undefined, extra: Partial<StoreConfig> = {}): StoreConfig {
  return { type: 'redis', path: '/nonexistent/apikeys.json', ...(url !== undefined ? { url } : {}), keyPrefix: freshPrefix(), timeoutMs: 1000, waitReplicas: 0, ...extra }
}

export type Logged = { obj: object; msg: string }
export function recordingLogger(): { lines: Logged[]; warn(obj: object, msg: string): void; info(obj: object, msg: string): void } {
  const lines: Logged[] = []
  return { lines, warn: (obj, msg) => void lines.push({ obj, msg }), info: (obj, msg) => void lines.push({ obj, msg }) }
}
