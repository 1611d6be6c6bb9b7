// Per-API permission levels (SPEC §3.7): none < r < rw.

export type Level = 'none' | 'r' | 'rw'

/** API name -> level. Frozen; an API that is absent means `none`. */
export type Permissions = Readonly<Record<string, Level>>

const RANK: Record<Level, number> = { none: 0, r: 1, rw: 2 }

export const LEVELS: readonly Level[] = ['none', 'r', 'rw']

export function isLevel(value: unknown): value is Level {
  return value === 'none' || value === 'r' || value === 'rw'
}

export function atLeast(have: Level, need: Level): boolean {
  return RANK[have] >= RANK[need]
}

export function minLevel(a: Level, b: Level): Level {
  return RANK[a] <= RANK[b] ? a : b
}

export function levelFor(perms: Permissions, api: string): Level {
  return Object.hasOwn(perms, api) ? (perms[api] as Level) : 'none'
}

/** GET, HEAD and OPTIONS read; every other method writes (SPEC §3.7). */
export function requiredLevel(method: string): Level {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? 'r' : 'rw'
}

/**
 * API names as the config allows them (schema.ts `apis[].name`). Anything else can
 * never name a configured API, and could smuggle a second `api:level` entry into
 * the space-separated X-Auth-Permissions value.
 */
const API_NAME = /^[A-Za-z0-9_.-]+$/

export function isApiName(value: string): boolean {
  return API_NAME.test(value)
}

/**
 * Parses the CLI form `users:rw,sessions:r`. Returns the permissions or a message
 * saying what is wrong; never throws.
 */
export function parsePermissionList(text: string): { ok: true; value: Permissions } | { ok: false; message: string } {
  const out: Record<string, Level> = Object.create(null)
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const i = part.lastIndexOf(':')
    const api = i > 0 ? part.slice(0, i).trim() : ''
    const level = i > 0 ? part.slice(i + 1).trim() : ''
    if (!isApiName(api) || !isLevel(level)) return { ok: false, message: `"${part}" is not api:level (level none, r or rw)` }
    // `users:r,users:rw` is a typo either way; silently keeping the last could grant rw.
    if (Object.hasOwn(out, api)) return { ok: false, message: `"${api}" is given more than once` }
    out[api] = level
  }
  return { ok: true, value: Object.freeze(out) }
}

/** Validates an object such as `{"users": "rw"}` from a JWT claim or a store record. */
export function toPermissions(value: unknown): Permissions | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null
  const out: Record<string, Level> = Object.create(null)
  for (const [api, level] of Object.entries(value)) {
    if (!isLevel(level)) return null
    out[api] = level
  }
  return Object.freeze(out)
}

/** The lower of two permission sets, API by API (SPEC §3.7: credential vs user now). */
export function intersect(a: Permissions, b: Permissions): Permissions {
  const out: Record<string, Level> = Object.create(null)
  for (const api of Object.keys(a)) {
    const level = minLevel(levelFor(a, api), levelFor(b, api))
    if (level !== 'none') out[api] = level
  }
  return Object.freeze(out)
}

/**
 * A cached credential brings the same frozen permissions on every request; formatting
 * them each time was ~0.6 % of a request's CPU (bench profile). Only frozen ones are
 * kept: an object that can still change could outgrow its text.
 */
const formatted = new WeakMap<Permissions, string>()

/**
 * `X-Auth-Permissions`: `api:level` space-separated, sorted; `none` entries left
 * out (SPEC §4). Names that are not API names (from an IdP's claim, say
 * `"users:rw x"`) are left out too, so the value always parses back unambiguously.
 */
export function formatPermissions(perms: Permissions): string {
  let text = formatted.get(perms)
  if (text === undefined) {
    text = Object.keys(perms)
      .filter((api) => isApiName(api) && isLevel(perms[api]) && perms[api] !== 'none')
      .sort()
      .map((api) => `${api}:${perms[api]}`)
      .join(' ')
    if (Object.isFrozen(perms)) formatted.set(perms, text)
  }
  return text
}
