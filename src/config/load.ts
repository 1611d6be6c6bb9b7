// SPEC §2: YAML -> ${ENV} expansion -> schema (strict, with defaults) -> paths made
// absolute against the config file -> field checks -> a deeply frozen Config.
// Every problem is collected and reported with its path; nothing throws for bad input.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { ErrorObject, ValidateFunction } from 'ajv'
import { LineCounter, parseDocument } from 'yaml'
import type { Config } from './schema.js'
import generatedValidate from './config-validator.js'
import type { Checked, Problem } from './problem.js'
import { parseCidrs } from '../net/ip-filter.js'
import { parseDuration } from './duration.js'
import { checkRedisStore } from './redis-config.js'
import { checkCors } from './cors-config.js'

// Generated from schema.ts (npm run generate:validators): no schema compiler at start-up.
// verbose: an error carries the schema it failed, so a message can say what a valid value looks like.
const validate = generatedValidate as unknown as ValidateFunction<Config>

export interface LoadedConfig {
  readonly file: string
  readonly dir: string
  readonly config: Config
}

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Checked<LoadedConfig>> {
  const abs = path.resolve(file)
  let text: string
  try {
    text = await readFile(abs, 'utf8')
  } catch (err) {
    return fail('', `cannot read config file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  return parseConfigText(text, abs, env)
}

/** Parses config text as if it were the file `abs` (relative paths resolve against its folder). */
export function parseConfigText(text: string, abs: string, env: NodeJS.ProcessEnv = process.env): Checked<LoadedConfig> {
  // prettyErrors: false keeps the source excerpt out of the message, but then
  // yaml sets no linePos: the LineCounter gives the line and column instead.
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter })
  // A warning is a tag yaml does not know (`!!js/function`, `!custom`): it would fall
  // back to a plain string silently, so it is refused like an error.
  const faults = [...doc.errors, ...doc.warnings]
  if (faults.length > 0) {
    return {
      ok: false,
      problems: faults.map((e) => ({ path: yamlPosition(lineCounter.linePos(e.pos[0])), message: `YAML: ${e.message.split('\n')[0]}` })),
    }
  }
  let raw: unknown
  try {
    // yaml refuses alias expansion past maxAliasCount (a "billion laughs" file) by throwing.
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {}
  } catch (err) {
    return { ok: false, problems: [{ path: '', message: `YAML: ${(err as Error).message}` }] }
  }
  const unset: Problem[] = []
  const expanded = expandEnv(raw, '', env, unset)
  const valid = validate(expanded)
  const problems: Problem[] = valid ? [] : (validate.errors ?? []).filter(meaningful).map(ajvProblem)
  // The field checks run even when the schema failed elsewhere, so one run of
  // check-config lists every problem; they only look at values of the right type.
  const config = expanded as Config
  const dir = path.dirname(abs)
  resolvePaths(config, dir)
  checkFields(config, problems)
  if (unset.length > 0) {
    // An unset variable left its field empty: that field's own complaints say nothing more.
    const masked = problems.filter((p) => !unset.some((u) => p.path === u.path || p.path.startsWith(`${u.path}.`) || p.path.startsWith(`${u.path}[`)))
    return { ok: false, problems: [...unset, ...masked] }
  }
  if (!valid || problems.length > 0) return { ok: false, problems }
  return { ok: true, value: { file: abs, dir, config: deepFreeze(config) } }
}

/** `${NAME}` in any string value; `$${` keeps a literal `${`. Done on parsed values, so a variable can't inject YAML. */
function expandEnv(value: unknown, at: string, env: NodeJS.ProcessEnv, problems: Problem[]): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value
    return value.replace(/\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
      if (whole.startsWith('$$')) return whole.slice(1)
      const v = env[name]
      if (v === undefined) {
        problems.push({ path: at, message: `environment variable ${name} is not set` })
        return ''
      }
      return v
    })
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, `${at}[${i}]`, env, problems))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    // defineProperty, not `out[k] =`: a `__proto__` key stays an own (and so unknown)
    // field instead of becoming the prototype every other field is inherited from.
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, { value: expandEnv(v, at ? `${at}.${k}` : k, env, problems), enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  return value
}

/** Every file-path field, as [path in the file, object holding it, key]. */
function fileFields(c: Config): [string, Record<string, unknown>, string][] {
  const out: [string, Record<string, unknown>, string][] = []
  const add = (at: string, o: unknown, k: string) => {
    if (o && typeof o === 'object' && typeof (o as Record<string, unknown>)[k] === 'string') out.push([at, o as Record<string, unknown>, k])
  }
  add('tls.certFile', c.tls, 'certFile')
  add('tls.keyFile', c.tls, 'keyFile')
  add('upstream.caFile', c.upstream, 'caFile')
  add('store.caFile', c.store, 'caFile')
  if (Array.isArray(c.jwt?.issuers)) c.jwt.issuers.forEach((i, n) => add(`jwt.issuers[${n}].publicKeyFile`, i, 'publicKeyFile'))
  for (const k of ['signingKeyFile', 'usersFile', 'clientsFile']) add(`issuer.${k}`, c.issuer, k)
  const previous = c.issuer?.previousKeyFiles
  if (Array.isArray(previous)) previous.forEach((_, n) => add(`issuer.previousKeyFiles[${n}]`, previous, String(n)))
  return out
}

function resolvePaths(c: Config, dir: string): void {
  for (const [, o, k] of fileFields(c)) o[k] = path.resolve(dir, o[k] as string)
  if (typeof c.store?.path === 'string') c.store.path = path.resolve(dir, c.store.path)
}

/** Files the config names must exist now (the signing key may be generated later). */
function checkFilesExist(c: Config, problems: Problem[]): void {
  for (const [at, o, k] of fileFields(c)) {
    if (at === 'issuer.signingKeyFile') continue
    if (!existsSync(o[k] as string)) problems.push({ path: at, message: `file not found: ${o[k] as string}` })
  }
}

function checkFields(c: Config, problems: Problem[]): void {
  if (typeof c.listen === 'string') checkListen(c.listen, 'listen', problems)
  if (typeof c.admin?.listen === 'string') checkListen(c.admin.listen, 'admin.listen', problems)
  checkCidrs(c.trustedProxies, 'trustedProxies', problems)
  checkCidrs(c.ipFilter?.allow, 'ipFilter.allow', problems)
  checkCidrs(c.ipFilter?.deny, 'ipFilter.deny', problems)
  checkCidrs(c.forwardAuth?.trustedCallers, 'forwardAuth.trustedCallers', problems)
  // The decision path is matched on the raw request-target: it must already be in the form
  // normalisation would give it (no %-escapes, no empty or dot segments).
  if (typeof c.forwardAuth?.path === 'string' && /%|\/\/|\/\.\.?(\/|$)/.test(c.forwardAuth.path)) {
    problems.push({ path: 'forwardAuth.path', message: 'must be a normalised path (no dot segments, //, %-encoding or query)' })
  }
  checkFilesExist(c, problems)

  let url: URL | null = null
  if (typeof c.upstream?.url === 'string') {
    try {
      url = new URL(c.upstream.url)
    } catch {
      problems.push({ path: 'upstream.url', message: 'not a URL' })
    }
  }
  if (url) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      problems.push({ path: 'upstream.url', message: 'must be http:// or https://' })
    }
    if (url.username || url.password) problems.push({ path: 'upstream.url', message: 'must not carry credentials' })
    if (url.search || url.hash) problems.push({ path: 'upstream.url', message: 'must not have a query or fragment' })
    if (c.upstream.caFile && url.protocol !== 'https:') {
      problems.push({ path: 'upstream.caFile', message: 'only used with an https:// upstream' })
    }
  }

  problems.push(...checkRedisStore(c.store))
  problems.push(...checkCors(c.apis))

  if (c.issuer && typeof c.issuer === 'object') {
    for (const k of ['jwtMaxTtl', 'jwtDefaultTtl', 'impersonationMaxTtl', 'apiKeyMaxTtl'] as const) {
      if (typeof c.issuer[k] !== 'string') continue
      const d = parseDuration(c.issuer[k])
      if (!d.ok) problems.push({ path: `issuer.${k}`, message: d.message })
    }
  }
}

function checkListen(value: string, at: string, problems: Problem[]): void {
  if (!parseHostPort(value)) problems.push({ path: at, message: 'must be host:port with a port from 0 to 65535 (IPv6 in brackets)' })
}

/** `0.0.0.0:8080`, `[::1]:8080`, `localhost:0`. */
export function parseHostPort(value: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value)
  if (!m) return null
  const port = Number(m[3])
  if (port > 65535) return null
  return { host: (m[1] ?? m[2]) as string, port }
}

function checkCidrs(list: unknown, at: string, problems: Problem[]): void {
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) return
  const r = parseCidrs(list)
  if (!r.ok) for (const p of r.problems) problems.push({ path: `${at}[${p.index}]`, message: p.message })
}

// Ajv reports the failing branch of every union member; the `anyOf` summary says enough.
// (The CIDR, host:port and duration patterns are not in the validator gatehouse runs:
// the parsers check those values, see test/support/generate-validators.ts.)
function meaningful(e: ErrorObject, _i: number, all: ErrorObject[]): boolean {
  if (e.schemaPath.includes('/anyOf/')) {
    return !all.some((o) => o.keyword === 'anyOf' && e.instancePath.startsWith(o.instancePath) && o !== e)
  }
  return true
}

function ajvProblem(e: ErrorObject): Problem {
  const at = pointerToPath(e.instancePath)
  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String((e.params as { additionalProperty: string }).additionalProperty)
      return { path: at ? `${at}.${name}` : name, message: 'unknown field' }
    }
    case 'required':
      return { path: at, message: `missing required field "${String((e.params as { missingProperty: string }).missingProperty)}"` }
    case 'anyOf':
      return { path: at, message: `must be ${alternatives(e.schema)}` }
    case 'pattern':
      return { path: at, message: PATTERN_MEANING[String((e.params as { pattern: string }).pattern)] ?? `must match ${String((e.params as { pattern: string }).pattern)}` }
    default:
      return { path: at, message: e.message ?? 'invalid' }
  }
}

const HEADER_NAME = 'must be an HTTP header name: letters, digits and !#$%&\'*+.^_`|~- (e.g. X-Api-Key)'
/** What each pattern of schema.ts asks for, in words (the value itself is never echoed: it may be a secret). */
const PATTERN_MEANING: Record<string, string> = {
  '^/': 'must be a path starting with / (e.g. /api/v1/users)',
  '^[A-Za-z0-9_.-]+$': 'must be letters, digits, _, . or - only (e.g. users-v2)',
  "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$": HEADER_NAME,
  '^/[^?#]*[^/?#]$': 'must be a path starting with / and not ending with /, without ? or # (e.g. /_gatehouse)',
  '^[\\x21-\\x7e]+$': 'must be printable ASCII without spaces',
}

/** The branches of a union in words: `"deny" or "authenticated"`, `a string or a list`. */
function alternatives(branches: unknown): string {
  if (!Array.isArray(branches)) return 'one of the allowed values'
  const words = branches.map((b: { const?: unknown; type?: unknown }) =>
    b.const !== undefined ? JSON.stringify(b.const) : b.type === 'array' ? 'a list' : b.type === 'object' ? 'a mapping' : `a ${String(b.type ?? 'value')}`,
  )
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} or ${words.at(-1) as string}` : (words[0] ?? 'one of the allowed values')
}

function pointerToPath(pointer: string): string {
  let out = ''
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    out += /^\d+$/.test(seg) ? `[${seg}]` : out ? `.${seg}` : seg
  }
  return out
}

function yamlPosition(pos: { line: number; col: number } | undefined): string {
  return pos ? `line ${pos.line}, column ${pos.col}` : ''
}

function fail<T>(at: string, message: string): Checked<T> {
  return { ok: false, problems: [{ path: at, message }] }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
