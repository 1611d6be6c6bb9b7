// SPEC §3.7: the effective permission is the lower of what the credential carries
// and what its user is allowed now; the method decides whether r or rw is needed.
import { atLeast, intersect, levelFor, requiredLevel, type Permissions } from '../credentials/permissions.js'
import type { ClientDirectory } from '../accounts/clients.js'
import type { UserDirectory } from '../accounts/users.js'
import type { Identity } from '../credentials/identity.js'

const NOTHING: Permissions = Object.freeze({})

/**
 * A client-credentials token of our own is capped by its client now. Otherwise:
 * without a usersFile the credential is all there is; with one, a listed user caps
 * the credential, and an unlisted user keeps nothing when the credential came from
 * Gatehouse itself (the user was removed), while an external IdP stays the
 * authority for its own users.
 */
export function effectivePermissions(
  identity: Identity,
  users: UserDirectory | null,
  ownIssuer: string | null,
  clients: ClientDirectory | null = null,
): Permissions {
  if (identity.clientId !== undefined && identity.issuer === ownIssuer) {
    const client = clients?.get(identity.clientId)
    return client ? intersect(identity.permissions, client.permissions) : NOTHING
  }
  if (!users) return identity.permissions
  const user = users.get(identity.user)
  if (user) return intersect(identity.permissions, user.permissions)
  return identity.method === 'apikey' || identity.issuer === ownIssuer ? NOTHING : identity.permissions
}

export function isPermitted(permissions: Permissions, api: string, method: string): boolean {
  return atLeast(levelFor(permissions, api), requiredLevel(method))
}
