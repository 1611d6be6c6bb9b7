// What the token service reads: the current Runtime (swapped whole on reload) and
// the long-lived parts that outlive a reload (store, login throttle).
import type { ClientDirectory } from '../accounts/clients.js'
import type { UserDirectory } from '../accounts/users.js'
import type { Runtime } from '../config/compile.js'
import type { KeyStore } from '../keystore/key-store.js'
import type { Logger } from '../telemetry/logger.js'
import type { LoginThrottle } from './login-throttle.js'
import type { SigningKeys } from './signing-key.js'

/** The `issuer:` section, compiled (SPEC §2, §6). */
export interface ServiceRuntime {
  readonly prefix: string
  /** `iss` of issued tokens. */
  readonly name: string
  /** `aud` of issued tokens. */
  readonly audience: string
  readonly maxTtlSeconds: number
  readonly defaultTtlSeconds: number
  /** issuer.impersonationMaxTtl: the longest life of a credential minted with targetUser. */
  readonly impersonationMaxTtlSeconds: number
  /** issuer.apiKeyMaxTtl: the longest `expires` of an API key. */
  readonly apiKeyMaxTtlSeconds: number
  readonly maxKeysPerUser: number
  readonly users: UserDirectory | null
  readonly clients: ClientDirectory | null
  readonly keys: SigningKeys
}

export interface ServiceContext {
  runtime(): Runtime
  readonly store: KeyStore
  readonly throttle: LoginThrottle
  /** ms epoch */
  now(): number
  readonly logger: Logger
}

/** The compiled issuer section of the current runtime (the service only runs when it exists). */
export function serviceOf(ctx: ServiceContext): ServiceRuntime {
  const svc = ctx.runtime().service
  if (!svc) throw new Error('token service not configured')
  return svc
}
