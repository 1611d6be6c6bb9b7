// What the token service reads: the current Runtime (swapped whole on reload) and
// the long-lived parts that outlive a reload (store, login throttle).
import type { Runtime, ServiceRuntime } from '../runtime/compile.js'
import type { KeyStore } from '../keystore/key-store.js'
import type { Logger } from '../telemetry/logger.js'
import type { TokenServiceMetrics } from '../telemetry/metrics.js'
import type { LoginThrottle } from './login-throttle.js'

export interface ServiceContext {
  runtime(): Runtime
  readonly store: KeyStore
  readonly throttle: LoginThrottle
  /** ms epoch */
  now(): number
  readonly logger: Logger
  readonly metrics: TokenServiceMetrics
}

/** The compiled issuer section of the current runtime (the service only runs when it exists). */
export function serviceOf(ctx: ServiceContext): ServiceRuntime {
  const svc = ctx.runtime().service
  if (!svc) throw new Error('token service not configured')
  return svc
}
