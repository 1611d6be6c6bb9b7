// SPEC §3.7: the effective permission is the lower of what the credential carries
// and what its user is allowed now; the method decides whether r or rw is needed.
import { atLeast, intersect, levelFor, requiredLevel, type Permissions } from '../credentials/permissions.js'
import type { UserDirectory } from '../accounts/users.js'
import type { Identity } from './decision.js'

const NOTHING: Permissions = Object.freeze({})

/**
 * Without a usersFile the credential is all there is. With one, a listed user caps
 * the credential; an unlisted user keeps nothing when the credential came from
 * Gatehouse itself (the user was removed), while an external IdP stays the
 * authority for its own users.
 */
export function effectivePermissions(identity: Identity, users: UserDirectory | null, ownIssuer: string | null): Permissions {
  if (!users) return identity.permissions
  const user = users.get(identity.user)
  if (user) return intersect(identity.permissions, user.permissions)
  return identity.method === 'apikey' || identity.issuer === ownIssuer ? NOTHING : identity.permissions
}

export function isPermitted(permissions: Permissions, api: string, method: string): boolean {
  return atLeast(levelFor(permissions, api), requiredLevel(method))
}
