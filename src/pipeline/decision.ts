// The outcome of SPEC §3: allow with an identity, or deny with one reason from the
// closed set of outcome/catalogue.ts.
import type { Permissions } from '../credentials/permissions.js'
import type { Identity } from '../credentials/identity.js'
import type { DenyReason } from '../outcome/catalogue.js'

export interface ApiRef {
  readonly name: string
  readonly public: boolean
}

export type Decision =
  | {
      readonly ok: true
      readonly path: string
      readonly api: ApiRef | null
      readonly identity: Identity | null
      /** Effective permissions (credential ∩ user now); null on public APIs. */
      readonly permissions: Permissions | null
      readonly clientIp: string
    }
  | {
      readonly ok: false
      readonly reason: DenyReason
      /** Safe to show the caller: never contains the credential. */
      readonly detail?: string | undefined
      readonly api: ApiRef | null
      readonly clientIp: string | null
    }
