// SPEC §3.4: the API of a normalised path, by longest prefix on segment
// boundaries, built once from config.apis. Matching folds ASCII case and ignores
// `;` matrix parameters, because upstreams such as Express (case) and
// Tomcat/Spring (`;`) do: the path is decided as the API the upstream will serve
// (attack #43, #45, #46).
import { normalizeTarget } from './normalize-path.js'
import { compileCors, type CorsConfig, type CorsPolicy } from './cors.js'

export interface CompiledApi {
  readonly name: string
  readonly public: boolean
  /** Largest request body this API takes (attack #100). */
  readonly maxBodyBytes: number
  /** apis[].cors: browser cross-origin access; null = no CORS answers at all. */
  readonly cors: CorsPolicy | null
}

export interface ApiMatcher {
  match(path: string): CompiledApi | null
}

export interface ApiDefinition {
  readonly name: string
  readonly prefixes: readonly string[]
  readonly public: boolean
  readonly maxBodyBytes?: number | undefined
  readonly cors?: CorsConfig | undefined
}

export type CompiledApis =
  | { ok: true; matcher: ApiMatcher }
  | { ok: false; problems: { path: string; message: string }[] }

/** `defaultMaxBodyBytes` applies to every API that names no maxBodyBytes of its own. */
export function compileApis(apis: readonly ApiDefinition[], defaultMaxBodyBytes = Number.POSITIVE_INFINITY): CompiledApis {
  const problems: { path: string; message: string }[] = []
  const byKey = new Map<string, CompiledApi>()
  const seenAt = new Map<string, string>()
  const names = new Map<string, number>()
  let root: CompiledApi | null = null

  apis.forEach((def, i) => {
    const firstIndex = names.get(def.name)
    if (firstIndex !== undefined) problems.push({ path: `apis[${i}].name`, message: `"${def.name}" is already the name of apis[${firstIndex}]` })
    else names.set(def.name, i)
    const api: CompiledApi = Object.freeze({
      name: def.name,
      public: def.public,
      maxBodyBytes: def.maxBodyBytes ?? defaultMaxBodyBytes,
      cors: def.cors ? compileCors(def.cors) : null,
    })

    def.prefixes.forEach((prefix, j) => {
      const at = `apis[${i}].prefixes[${j}]`
      const problem = checkPrefix(prefix)
      if (problem !== null) {
        problems.push({ path: at, message: problem })
        return
      }
      const key = matchKey(prefix)
      const earlier = seenAt.get(key)
      if (earlier !== undefined) {
        problems.push({ path: at, message: `"${prefix}" is the same prefix as ${earlier} (case and trailing slash are ignored)` })
        return
      }
      seenAt.set(key, at)
      if (key === '/') root = api
      else byKey.set(key, api)
    })
  })
  if (problems.length > 0) return { ok: false, problems }
  return { ok: true, matcher: createMatcher(byKey, root) }
}

function checkPrefix(prefix: string): string | null {
  const n = normalizeTarget(prefix)
  if (!n.ok) return `"${prefix}" is not a usable path: ${n.detail}`
  if (n.query !== '' || n.path !== prefix) return `"${prefix}" is not a normalised path; write "${n.path}"`
  if (cutAt(prefix, 0, prefix.length) !== prefix.length) return `"${prefix}" holds a ; parameter, which matching ignores`
  return null
}

function createMatcher(byKey: ReadonlyMap<string, CompiledApi>, root: CompiledApi | null): ApiMatcher {
  // Only boundaries whose length some prefix has are looked up.
  const lengths = new Set<number>()
  for (const key of byKey.keys()) lengths.add(key.length)
  return {
    match(path: string): CompiledApi | null {
      if (byKey.size === 0) return root
      const key = matchKey(path)
      if (lengths.has(key.length)) {
        const api = byKey.get(key)
        if (api !== undefined) return api
      }
      // Walk back over segment boundaries: the first hit is the longest prefix.
      for (let i = key.lastIndexOf('/'); i > 0; i = key.lastIndexOf('/', i - 1)) {
        if (!lengths.has(i)) continue
        const api = byKey.get(key.slice(0, i))
        if (api !== undefined) return api
      }
      return root
    },
  }
}

/**
 * The form paths and prefixes are compared in: ASCII lowercase, each segment cut
 * at its first `;` or `%3B`, empty segments dropped, no trailing slash; `/` for the root.
 */
function matchKey(path: string): string {
  if (!needsKeyWork(path)) return path
  let key = ''
  let start = 1
  while (start <= path.length) {
    let stop = path.indexOf('/', start)
    if (stop === -1) stop = path.length
    const cut = cutAt(path, start, stop)
    // Tomcat turns `/;x/api` into `/api`, so an emptied segment is dropped, not kept.
    if (cut > start) key += '/' + path.slice(start, cut).toLowerCase()
    start = stop + 1
  }
  return key === '' ? '/' : key
}

function needsKeyWork(path: string): boolean {
  const n = path.length
  if (n > 1 && path.charCodeAt(n - 1) === 0x2f) return true
  for (let i = 0; i < n; i++) {
    const c = path.charCodeAt(i)
    if ((c >= 0x41 && c <= 0x5a) || c === 0x3b || c === 0x25 || (c === 0x2f && path.charCodeAt(i + 1) === 0x2f)) return true
  }
  return false
}

/** Index of the first `;` or `%3B` (either case) in path[start, stop), or stop. */
function cutAt(path: string, start: number, stop: number): number {
  for (let i = start; i < stop; i++) {
    const c = path.charCodeAt(i)
    if (c === 0x3b) return i
    if (c === 0x25 && path.charCodeAt(i + 1) === 0x33 && (path.charCodeAt(i + 2) | 0x20) === 0x62) return i
  }
  return stop
}
