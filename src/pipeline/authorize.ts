// SPEC §3.7: the effective permission is the lower of what the credential carries
// and what its user is allowed now (pipeline/authority.ts); the method decides whether r or rw is needed.
import { atLeast, levelFor, requiredLevel, type Permissions } from '../credentials/permissions.js'

export function isPermitted(permissions: Permissions, api: string, method: string): boolean {
  return atLeast(levelFor(permissions, api), requiredLevel(method))
}
