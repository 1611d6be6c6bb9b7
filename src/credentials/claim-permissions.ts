// SPEC §9 and §12: where a JWT's permissions come from. Each issuer names its
// sources (a claim path, with or without a `map`); `scopeMap` is shorthand for the
// `scope` and `scp` sources; with neither, a `permissions` object claim is taken
// as it is. Only named sources count, so a token cannot add an API its issuer's
// mapping does not grant.
import type { IssuerConfig } from '../config/schema.js'
import type { Problem } from '../config/problem.js'
import { atLeast, isApiName, levelFor, toPermissions, type Level, type Permissions } from './permissions.js'

export interface PermissionSource {
  /** Path segments into the claims set. */
  readonly path: readonly string[]
  /** Claim string -> grants; null: the claim is itself a permissions object. */
  readonly map: ReadonlyMap<string, Permissions> | null
}

export type ClaimPermissions =
  | { readonly ok: true; readonly permissions: Permissions }
  /** Nothing granted and at least one source had a claim of the wrong shape. */
  | { readonly ok: false; readonly detail: string }

type Compiled = { ok: true; sources: readonly PermissionSource[] } | { ok: false; problems: Problem[] }

const DEFAULT_SOURCES: readonly PermissionSource[] = Object.freeze([Object.freeze({ path: ['permissions'], map: null })])

/** A dotted path, or the list of segments for claim names holding a dot (`["https://example.com/roles"]`). */
export function claimPath(claim: string | readonly string[]): readonly string[] | null {
  const segments = typeof claim === 'string' ? claim.split('.') : [...claim]
  return segments.length > 0 && segments.every((s) => s !== '') ? Object.freeze(segments) : null
}

/** The configured sources of one issuer entry, every problem with its place in the file. */
export function compilePermissionSources(cfg: IssuerConfig, at: string): Compiled {
  if (cfg.permissions !== undefined && cfg.scopeMap !== undefined) {
    return { ok: false, problems: [{ path: `${at}.permissions`, message: 'declare permissions or scopeMap, not both (scopeMap is shorthand for permissions)' }] }
  }
  const problems: Problem[] = []
  if (cfg.scopeMap !== undefined) {
    const map = compileMap(cfg.scopeMap, `${at}.scopeMap`, problems)
    const sources = [Object.freeze({ path: ['scope'], map }), Object.freeze({ path: ['scp'], map })]
    return problems.length > 0 ? { ok: false, problems } : { ok: true, sources: Object.freeze(sources) }
  }
  if (cfg.permissions === undefined) return { ok: true, sources: DEFAULT_SOURCES }
  const sources: PermissionSource[] = []
  for (const [i, src] of cfg.permissions.entries()) {
    const path = claimPath(src.claim)
    if (path === null) problems.push({ path: `${at}.permissions[${i}].claim`, message: 'an empty segment: write a dotted path (realm_access.roles) or a list of segments' })
    const map = src.map === undefined ? null : compileMap(src.map, `${at}.permissions[${i}].map`, problems)
    if (path !== null) sources.push(Object.freeze({ path, map }))
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, sources: Object.freeze(sources) }
}

function compileMap(map: Readonly<Record<string, unknown>>, at: string, problems: Problem[]): ReadonlyMap<string, Permissions> {
  // A Map, so a value named "__proto__" or "constructor" never reaches the prototype chain.
  const out = new Map<string, Permissions>()
  for (const [value, grants] of Object.entries(map)) {
    const perms = toPermissions(grants)
    if (perms === null) problems.push({ path: `${at}.${value}`, message: 'must map to { api: level }, levels none, r or rw' })
    else if (Object.keys(perms).some((api) => !isApiName(api))) problems.push({ path: `${at}.${value}`, message: 'API names are letters, digits, _ . -' })
    else out.set(value, perms)
  }
  return out
}

/** The value at a path of own properties (never the prototype chain); undefined when absent. */
export function claimAt(claims: unknown, path: readonly string[]): unknown {
  let v: unknown = claims
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, seg)) return undefined
    v = (v as Record<string, unknown>)[seg]
  }
  return v
}

/** The union of what every source grants; a source whose claim has the wrong shape grants nothing. */
export function permissionsFromClaims(claims: unknown, sources: readonly PermissionSource[]): ClaimPermissions {
  const out: Record<string, Level> = Object.create(null)
  const malformed: string[] = []
  for (const source of sources) {
    const value = claimAt(claims, source.path)
    if (value === undefined) continue
    const grants = source.map === null ? objectGrants(value) : mappedGrants(value, source.map)
    if (grants === null) {
      malformed.push(source.path.join('.'))
      continue
    }
    for (const perms of grants) {
      for (const [api, level] of Object.entries(perms)) if (!atLeast(levelFor(out, api), level)) out[api] = level
    }
  }
  const permissions = Object.freeze(out)
  if (malformed.length > 0 && Object.keys(permissions).length === 0) return { ok: false, detail: `${malformed.join(', ')} claim malformed` }
  return { ok: true, permissions }
}

function objectGrants(value: unknown): Permissions[] | null {
  const perms = toPermissions(value)
  return perms === null ? null : [perms]
}

/** A string is split on spaces, a list taken as it is (strings count, other elements are ignored). */
function mappedGrants(value: unknown, map: ReadonlyMap<string, Permissions>): Permissions[] | null {
  let strings: readonly unknown[]
  if (typeof value === 'string') strings = value.split(' ')
  else if (Array.isArray(value)) strings = value
  else return null
  const out: Permissions[] = []
  for (const s of strings) {
    if (typeof s !== 'string') continue
    const grants = map.get(s)
    if (grants !== undefined) out.push(grants)
  }
  return out
}
