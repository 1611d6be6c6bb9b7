// The outcome of SPEC §3 as data: forward to the upstream, hand to the token
// service, or refuse with one reason from the closed set of outcome/catalogue.ts.
// The token service is a route of its own, decided before any credential is read:
// its variant carries no identity, so it can never be forwarded by mistake.
import type { Identity } from '../credentials/identity.js'
import type { Permissions } from '../credentials/permissions.js'
import type { DenyReason } from '../outcome/catalogue.js'
import type { CompiledApi } from './match-api.js'
import type { SubjectType } from './authority.js'
import type { CorsHeaders } from './cors.js'

/** What every request that passed SPEC §3 steps 1–3 carries. */
export interface Admitted {
  /** The normalised path (SPEC §3.1), used for matching and forwarding. */
  readonly path: string
  /** The normalised path with the query as received. */
  readonly target: string
  readonly clientIp: string
  /** The socket peer is one of trustedProxies. */
  readonly peerTrusted: boolean
}

/** SPEC §3.8: forward to the upstream. */
export interface Allowed extends Admitted {
  readonly ok: true
  readonly route: 'upstream'
  readonly api: CompiledApi | null
  /** Null on public APIs. */
  readonly identity: Identity | null
  /** Effective permissions (credential ∩ user now); null on public APIs. */
  readonly permissions: Permissions | null
  /** Whether the identity is a user or an OAuth client (X-Auth-Subject-Type); null without an identity. */
  readonly subjectType: SubjectType | null
  /** apis[].cors headers for the answer (Access-Control-Allow-Origin…, Vary); null without a cors policy. */
  readonly cors: CorsHeaders | null
}

/** SPEC §6: the token service, which authenticates its callers itself. */
export interface ToService extends Admitted {
  readonly ok: true
  readonly route: 'service'
  readonly api: null
}

/** A CORS preflight for an API with a cors policy: answered by Gatehouse, never forwarded (pipeline/cors.ts). */
export interface Preflight extends Admitted {
  readonly ok: true
  readonly route: 'preflight'
  readonly api: CompiledApi
  /** The policy allows it: 204 with the allow headers; otherwise 200 without them. */
  readonly allowed: boolean
  readonly cors: CorsHeaders
  /** Why it was not allowed, for the log. */
  readonly detail: string
}

export interface Denied {
  readonly ok: false
  readonly reason: DenyReason
  /** Safe to show the caller: never contains the credential. */
  readonly detail?: string | undefined
  readonly api: CompiledApi | null
  readonly clientIp: string | null
  /** apis[].cors headers, so a page of an allowed origin can read the refusal; absent before the API is known. */
  readonly cors?: CorsHeaders | null
  /** The normalised path, once known (SPEC §3.1); for the log line. */
  readonly path: string | null
  /** The verified credential, when the refusal came after it was verified; for the log line, never the answer. */
  readonly identity: Identity | null
}

export type Decision = Allowed | ToService | Preflight | Denied
