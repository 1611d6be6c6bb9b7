// The rules every minted credential obeys (SPEC §6): it is for the caller, or for a
// target user the caller may impersonate; it never carries more than that user holds
// now nor more than the credential that minted it; it never outlives it either.
import type { User } from '../accounts/users.js'
import { formatDuration, parseDuration } from '../config/duration.js'
import { atLeast, levelFor, type Permissions } from '../credentials/permissions.js'
import type { Caller } from './caller.js'
import { serviceOf, type ServiceContext } from './context.js'
import { ServiceError } from './errors.js'

export interface Subject {
  readonly user: User
  /** The real caller, when acting for someone else (RFC 8693 `act`). */
  readonly actor?: string
  /** The most the new credential may carry. */
  readonly ceiling: Permissions
}

export function subjectFor(caller: Caller, targetUser: string | undefined, ctx: ServiceContext): Subject {
  // A credential made by impersonation may not impersonate again (attack #89).
  const impersonated = caller.via === 'apikey' && caller.record.actor !== undefined
  // Clients are not users (issue 12): a name that is an OAuth client id never gets user credentials.
  const name = targetUser ?? caller.user.name
  if (serviceOf(ctx).clients?.get(name)) throw new ServiceError('forbidden', `"${name}" is an OAuth client id, not a user`)
  if (targetUser === undefined || targetUser === caller.user.name) {
    return { user: caller.user, actor: impersonated ? caller.record.actor : undefined, ceiling: caller.permissions }
  }
  if (!caller.user.canImpersonate || impersonated) throw new ServiceError('forbidden', 'not allowed to act for another user (canImpersonate)')
  const target = serviceOf(ctx).users?.get(targetUser)
  if (!target) throw new ServiceError('not_found', `no user "${targetUser}"`)
  if (target.admin) throw new ServiceError('forbidden', 'an admin user cannot be impersonated')
  return { user: target, actor: caller.user.name, ceiling: target.permissions }
}

/**
 * The subject of a new credential asking for `requested`, refused (403) when that is
 * beyond the subject's ceiling or, for a caller that is an API key, beyond that key
 * (attack #80).
 */
export function grantFor(caller: Caller, targetUser: string | undefined, requested: Permissions, ctx: ServiceContext): Subject {
  const subject = subjectFor(caller, targetUser, ctx)
  checkWithin(requested, subject.ceiling)
  if (caller.via === 'apikey') checkWithin(requested, caller.permissions)
  return subject
}

/** Refuses (403) rather than silently cutting what was asked beyond the ceiling. */
export function checkWithin(requested: Permissions, ceiling: Permissions): void {
  const over = Object.keys(requested).filter((api) => !atLeast(levelFor(ceiling, api), levelFor(requested, api)))
  if (over.length > 0) {
    throw new ServiceError('permission_exceeds_user', `asked for more than the user may hold on: ${over.sort().join(', ')}`)
  }
}

/** The longest a credential may live, and the config key that says so (named in the 400). */
export interface LifetimeLimit {
  readonly seconds: number
  readonly key: string
}

/** Lifetime in seconds from an `expires` duration, within [1 s, max]; `fallback` when absent. */
export function lifetime(expires: string | undefined, fallback: number | null, max: LifetimeLimit): number | null {
  if (expires === undefined) return fallback
  const d = parseDuration(expires)
  if (!d.ok) throw new ServiceError('invalid_body', `expires: ${d.message}`)
  if (d.seconds > max.seconds) {
    throw new ServiceError('invalid_body', `expires: at most ${max.seconds} seconds (${formatDuration(max.seconds)}, ${max.key}) is allowed`)
  }
  return d.seconds
}

/** The tighter of the limit for this kind of credential and issuer.impersonationMaxTtl when acting for someone else. */
export function limitFor(subject: Subject, base: LifetimeLimit, ctx: ServiceContext): LifetimeLimit {
  const imp = serviceOf(ctx).impersonationMaxTtlSeconds
  return subject.actor !== undefined && imp < base.seconds ? { seconds: imp, key: 'issuer.impersonationMaxTtl' } : base
}

/** An expiry (Unix seconds) no later than the minting API key's own. */
export function boundedExpiry(caller: Caller, expiresAt: number | null): number | null {
  if (caller.via !== 'apikey' || caller.record.expiresAt === null) return expiresAt
  return expiresAt === null ? caller.record.expiresAt : Math.min(expiresAt, caller.record.expiresAt)
}

/** Permissions without `none` entries (they grant nothing and only clutter the credential). */
export function effective(perms: Permissions): Permissions {
  return Object.freeze(Object.fromEntries(Object.entries(perms).filter(([, l]) => l !== 'none')))
}
