// Fuzzer (not part of `npm test`): for a given time, throws random and mutated inputs
// at the pure stages and at a live Gatehouse on loopback, and checks invariants:
//   - no exception escapes a pure stage (normalizeTarget, the credential extractor,
//     parseApiKey, parseBasic, JWT verification, the config loader);
//   - a normalised path re-normalises to itself;
//   - the live proxy never answers 5xx (its upstream is always up), and survives;
//   - the upstream never sees an identity header it did not get from us: only our
//     names, each once, with a known user, and never a path outside the API it was
//     authorised for (re-normalising what the upstream got gives the same path).
//
//   npx tsx test/fuzz/fuzz.ts --seconds 600 [--seed 1234] [--lanes 8]
//
// Loopback only; bounded in time (the deadline) and in memory (findings are capped).
// Exit 0 when nothing was found, 1 with each finding printed (and its seed) otherwise.
import { parseArgs } from 'node:util'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseBasic } from '../../src/accounts/basic-auth.js'
import { parseConfigText } from '../../src/config/load.js'
import { parseApiKey } from '../../src/credentials/api-key.js'
import { compileExtractor } from '../../src/credentials/extract.js'
import { compileJwtVerifier, type JwtVerifier } from '../../src/credentials/verify-jwt.js'
import { compileApis } from '../../src/pipeline/match-api.js'
import { normalizeTarget } from '../../src/pipeline/normalize-path.js'
import { resolveClientIp } from '../../src/pipeline/client-ip.js'
import { encodeValue } from '../../src/pipeline/identity-headers.js'
import { canonicalIp } from '../../src/net/ip-address.js'
import { createIpSet } from '../../src/net/ip-filter.js'
import { compileReadingCheck, DEFAULT_READINGS } from '../../src/pipeline/path-readings.js'
import { compileQueryFilter } from '../../src/pipeline/query-filter.js'
import { HOSTILE_PATH_FRAGMENTS, oracleMatcher, readingsOf } from '../support/path-oracle.js'
import { CATALOGUE_APIS, HS_ISS, HS_SECRET, K1_PERMISSIONS, PASSWORDS, SERVICE, startWorld, type World } from '../support/security-fixture.js'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string' },
    lanes: { type: 'string', default: '8' },
  },
})
const SECONDS = Number(values.seconds)
const SEED = values.seed !== undefined ? Number(values.seed) : (Date.now() ^ (process.pid << 8)) >>> 0
const LANES = Math.max(1, Math.min(32, Number(values.lanes)))
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

// xorshift32: reproducible from --seed.
let state = SEED || 1
function rnd(n: number): number {
  state ^= state << 13
  state >>>= 0
  state ^= state >>> 17
  state ^= state << 5
  state >>>= 0
  return state % n
}
const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)] as T
const chance = (p: number) => rnd(1_000_000) < p * 1_000_000

const findings: string[] = []
const counts: Record<string, number> = {}
function count(what: string): void {
  counts[what] = (counts[what] ?? 0) + 1
}
function finding(stage: string, input: unknown, what: string): void {
  if (findings.length < 50) findings.push(`[${stage}] ${what}\n    input: ${JSON.stringify(input).slice(0, 600)}`)
}

// ---------------------------------------------------------------- mutation
const SPECIAL = [
  '/', '//', '.', '..', '/../', '/./', '%2e', '%2E', '%2f', '%2F', '%5c', '\\', '%25', '%252e', '%00', '%0a', '%0d', '\t', ' ', '#',
  '?', '&', ';', '%3b', '%', '%zz', '%c0%ae', '%c3%a9', 'é', '\u0000', '\r', '\n', '\r\n', ':', '@', ',', '=', '"', "'", '*', '~',
  'api', 'admin', 'pub', 'API', 'Admin', '_gatehouse', 'x-auth-user', 'X_Auth_User', 'Bearer ', 'ApiKey ', 'gh_', 'eyJ', '.', '-', '_',
  '\ufeff', '\ud800', '0', '9'.repeat(20), 'A'.repeat(300),
]

function mutate(s: string, rounds = 1 + rnd(4)): string {
  let out = s
  for (let r = 0; r < rounds; r++) {
    const at = out.length === 0 ? 0 : rnd(out.length + 1)
    switch (rnd(7)) {
      case 0: // insert a special piece
        out = out.slice(0, at) + pick(SPECIAL) + out.slice(at)
        break
      case 1: // delete a range
        out = out.slice(0, at) + out.slice(at + 1 + rnd(8))
        break
      case 2: // flip a character
        out = out.slice(0, at) + String.fromCharCode(rnd(128)) + out.slice(at + 1)
        break
      case 3: // duplicate a range
        out = out.slice(0, at) + out.slice(at, at + 1 + rnd(12)) + out.slice(at)
        break
      case 4: // change case
        out = out.slice(0, at) + out.slice(at, at + 6).toUpperCase() + out.slice(at + 6)
        break
      case 5: // a random code unit anywhere in the BMP
        out = out.slice(0, at) + String.fromCharCode(rnd(0x10000)) + out.slice(at)
        break
      default: // truncate
        out = out.slice(0, at)
    }
  }
  return out.length > 4096 ? out.slice(0, 4096) : out
}

function randomText(max = 64): string {
  let out = ''
  const n = rnd(max)
  for (let i = 0; i < n; i++) out += chance(0.5) ? pick(SPECIAL) : String.fromCharCode(32 + rnd(95))
  return out
}

// ---------------------------------------------------------------- pure stages
const TARGETS = [
  '/api/x', '/pub/a/b', '/api/admin/users?x=1', '/health', `${SERVICE}/v1/auth/jwt`, '/pub/../api/admin', '/a%2e%2e/b', '/',
  // issue 13: second readings of /api/admin
  '/api/admin.', '/api/admin%20', '/api/%2561dmin', '/api/adm%C4%B1n', '/api/%EF%BD%81dmin', '/api/admin%3Fx', '/api/admin;x', '/api/x%25C0%25AF..%25C0%25AFadmin',
  '/health?access_token=x', '/api/x?access%5Ftoken=1',
]
const matcher = (() => {
  const r = compileApis(CATALOGUE_APIS.map((a) => ({ public: false, ...a })))
  if (!r.ok) throw new Error('APIs do not compile')
  return r.matcher
})()
const extract = compileExtractor(['X-API-Key', 'X-Other-Key'])
const readingCheck = compileReadingCheck(DEFAULT_READINGS)
const oracleApi = oracleMatcher(CATALOGUE_APIS)
const PREFIXES = CATALOGUE_APIS.flatMap((a) => a.prefixes)

/** The first legacy reading of an accepted path that selects another API, or null. */
function disagreeingReading(path: string): string | null {
  const ours = matcher.match(path)?.name ?? null
  for (const r of readingsOf(path)) {
    for (const cut of [true, false]) if (oracleApi(r, cut) !== ours) return `${JSON.stringify(r)}${cut ? '' : ' (;params kept)'} is ${oracleApi(r, cut)}, not ${ours}`
  }
  return null
}

function fuzzReadings(): void {
  let raw = pick(PREFIXES)
  const n = rnd(6)
  for (let i = 0; i < n; i++) raw += (chance(0.5) ? '/' : '') + (chance(0.8) ? pick(HOSTILE_PATH_FRAGMENTS) : mutate(pick(HOSTILE_PATH_FRAGMENTS), 1))
  count('pathReadings')
  try {
    const t = normalizeTarget(raw)
    if (!t.ok || readingCheck(t.path, matcher.match(t.path), matcher) !== null) return
    const other = disagreeingReading(t.path)
    if (other !== null) finding('pathReadings', raw, `accepted, but ${other}`)
  } catch (err) {
    finding('pathReadings', raw, `threw ${String(err)}`)
  }
}

const IDENTITY_PIECES = [',', ', ', '%', '%2C', '\r', '\n', '\0', '\t', ' ', 'é', 'ı', '😀', '\ud800', 'admin', 'alice']
function fuzzIdentity(): void {
  let value = ''
  const n = rnd(10)
  for (let i = 0; i < n; i++) value += chance(0.6) ? pick(IDENTITY_PIECES) : String.fromCharCode(rnd(0x10000))
  count('identityValue')
  try {
    const encoded = encodeValue(value)
    if (encoded.includes(',')) finding('identityValue', value, `raw comma in ${encoded}`)
    if (!/^(?:[!-~](?:[ -~]*[!-~])?)?$/.test(encoded)) finding('identityValue', value, `not visible ASCII without edge spaces: ${encoded}`)
    const wellFormed = !/[\ud800-\udfff]/.test(value.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))
    if (wellFormed && decodeURIComponent(encoded) !== value) finding('identityValue', value, `decodes to ${decodeURIComponent(encoded)}`)
  } catch (err) {
    finding('identityValue', value, `threw ${String(err)}`)
  }
}

const TRUSTED = createIpSet(['10.0.0.0/8'])
const HOPS = ['unknown', '_hidden', '198.51.100.7', '198.51.100.7:8080', '[2001:db8::7]:443', '[2001:db8::7]', '2001:db8::7', '127.1', '0x7f.0.0.1', '10.0.0.3', '1.2.3.4:99999', '[1.2.3.4]:80', '::ffff:10.0.0.9', '']
function fuzzForwardedFor(): void {
  const hops: string[] = []
  const n = 1 + rnd(4)
  for (let i = 0; i < n; i++) hops.push(chance(0.7) ? pick(HOPS) : mutate(pick(HOPS), 1))
  const value = hops.join(chance(0.8) ? ', ' : ',')
  count('forwardedFor')
  try {
    const ip = resolveClientIp('10.0.0.2', [value], TRUSTED, false)
    // Fail closed: an address we return is one (canonical), never a guess.
    if (ip !== null && canonicalIp(ip) !== ip) finding('forwardedFor', value, `resolved to ${ip}, not an address`)
    const rightmost = value.split(',').map((h) => h.trim()).filter((h) => h !== '').at(-1)
    if (ip !== null && rightmost !== undefined && /^(unknown|_.*)$/i.test(rightmost)) finding('forwardedFor', value, `right-most hop ${rightmost} resolved to ${ip}`)
  } catch (err) {
    finding('forwardedFor', value, `threw ${String(err)}`)
  }
}

const queryFilter = compileQueryFilter(['access_token'])
const PARAMS = ['access_token', 'x?access_token', 'access_token?', 'ACCESS_TOKEN', 'access%5Ftoken', 'access%5ftoken', 'access.token', 'access+token', 'access%20token', 'access_token[]', 'access_token%5B%5D', ' access_token', 'a', 'b', 'token', 'access', 'x%zz']
/** Independent of query-filter.ts: what PHP and kin would call the parameter. */
function lenientName(part: string): string {
  const eq = part.indexOf('=')
  let name = eq === -1 ? part : part.slice(0, eq)
  try {
    name = decodeURIComponent(name.replace(/\+/g, ' '))
  } catch {
    // kept as text
  }
  name = name.replace(/^ +/, '').toLowerCase()
  const arr = /^([^[]+)\[.*\]/.exec(name)
  return (arr ? (arr[1] as string) : name).replace(/[. []/g, '_').trim()
}
function fuzzQuery(): void {
  const parts: string[] = []
  const n = rnd(6)
  for (let i = 0; i < n; i++) parts.push(`${chance(0.8) ? pick(PARAMS) : mutate(pick(PARAMS), 1)}${chance(0.7) ? '=' + pick(['1', 'x', '', 'a=b']) : ''}`)
  const query = n === 0 ? pick(['', '?']) : '?' + parts.join(chance(0.8) ? '&' : ';')
  count('queryFilter')
  try {
    const out = queryFilter(query)
    for (const part of out.slice(1).split(/[&;?]/)) if (lenientName(part) === 'access_token') finding('queryFilter', query, `kept ${part} in ${out}`)
  } catch (err) {
    finding('queryFilter', query, `threw ${String(err)}`)
  }
}

function fuzzNormalize(): void {
  const raw = chance(0.7) ? mutate(pick(TARGETS)) : randomText()
  count('normalizeTarget')
  try {
    const n = normalizeTarget(raw)
    if (!n.ok) return
    const again = normalizeTarget(n.path + n.query)
    if (!again.ok || again.path !== n.path || again.query !== n.query) finding('normalizeTarget', raw, `not a fixed point: ${n.path} -> ${again.ok ? again.path : again.detail}`)
    const viaUrl = new URL(n.path, 'http://u.internal').pathname
    if (matcher.match(viaUrl)?.name !== matcher.match(n.path)?.name) finding('normalizeTarget', raw, `WHATWG URL reads ${n.path} as ${viaUrl}, another API`)
  } catch (err) {
    finding('normalizeTarget', raw, `threw ${String(err)}`)
  }
}

function fuzzExtract(seeds: string[]): void {
  const headers: string[] = []
  const n = rnd(6)
  for (let i = 0; i < n; i++) {
    headers.push(pick(['Authorization', 'authorization', 'X-API-Key', 'x-api-key', 'X-Other-Key', 'Cookie', mutate('Authorization', 1)]))
    headers.push(chance(0.5) ? `${pick(['Bearer ', 'ApiKey ', 'bearer ', 'Basic ', ''])}${mutate(pick(seeds))}` : randomText(200))
  }
  count('extract')
  try {
    const r = extract(headers)
    if (!['none', 'jwt', 'apikey', 'ambiguous', 'malformed'].includes(r.kind)) finding('extract', headers, `kind ${r.kind}`)
  } catch (err) {
    finding('extract', headers, `threw ${String(err)}`)
  }
}

function fuzzApiKey(k1: string): void {
  const key = chance(0.8) ? mutate(k1) : randomText(80)
  count('parseApiKey')
  try {
    const p = parseApiKey(key)
    if (p !== null && (key !== `gh_${p.id}_${p.secret}${key.slice(-6)}` || !/^[0-9A-Za-z]{12}$/.test(p.id))) finding('parseApiKey', key, 'parsed something that is not the format')
  } catch (err) {
    finding('parseApiKey', key, `threw ${String(err)}`)
  }
}

function fuzzBasic(): void {
  const good = `Basic ${Buffer.from(`alice:${PASSWORDS.alice}`).toString('base64')}`
  const value = chance(0.5) ? mutate(good) : `Basic ${Buffer.from(randomText(40)).toString(pick(['base64', 'base64url', 'latin1', 'hex']))}`
  count('parseBasic')
  try {
    const r = parseBasic(value)
    if (typeof r === 'object' && (r.name === '' || /[\u0000-\u001f\u007f]/.test(r.name + r.secret))) finding('parseBasic', value, 'accepted an empty name or a control character')
  } catch (err) {
    finding('parseBasic', value, `threw ${String(err)}`)
  }
}

async function fuzzJwt(verifier: JwtVerifier, seeds: string[]): Promise<void> {
  const token = chance(0.85) ? mutate(pick(seeds)) : randomText(300)
  count('verify-jwt')
  try {
    const r = await verifier.verify(token)
    if (r.ok && !seeds.includes(token)) {
      // A mutation that still verifies must be a re-encoding of the same signed bytes.
      const same = seeds.some((s) => Buffer.from(s.split('.')[1] ?? '', 'base64url').equals(Buffer.from(token.split('.')[1] ?? '', 'base64url')))
      if (!same) finding('verify-jwt', token, 'a mutated token verified')
    }
    if (!r.ok && r.detail.includes(token) && token.length > 8) finding('verify-jwt', token, 'the detail echoes the token')
  } catch (err) {
    finding('verify-jwt', token, `threw ${String(err)}`)
  }
}

const EXAMPLE = readFileSync(path.join(ROOT, 'deploy/examples/gatehouse.yaml'), 'utf8')
function fuzzConfig(): void {
  const text = chance(0.9) ? mutate(EXAMPLE, 1 + rnd(6)) : randomText(400)
  count('config')
  try {
    const r = parseConfigText(text, '/nonexistent-fuzz/gatehouse.yaml', { APP_JWT_SECRET: 'x'.repeat(40) })
    if (!r.ok && r.problems.some((p) => typeof p.message !== 'string')) finding('config', text, 'a problem without a message')
  } catch (err) {
    finding('config', text, `threw ${String(err)}`)
  }
}

// ---------------------------------------------------------------- live proxy
const OUR_NAMES = new Set(['x-auth-user', 'x-auth-actor', 'x-auth-method', 'x-auth-credential-id', 'x-auth-issuer', 'x-auth-permissions', 'x-auth-expires'])
const KNOWN_USERS = new Set(['alice', 'bob', 'carol', 'hs-user'])

function rawExchange(port: number, text: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    let data = ''
    const timer = setTimeout(() => s.destroy(), timeoutMs)
    s.setEncoding('latin1')
    s.on('data', (c: string) => {
      data += c
      if (data.length > 65536) s.destroy()
    })
    s.on('error', () => {})
    s.on('close', () => {
      clearTimeout(timer)
      resolve(data)
    })
    // write, not end: node aborts a request whose client half-closes before the answer.
    s.write(text)
  })
}

function liveRequest(w: World, seeds: { tokens: string[]; keys: string[] }): string {
  const method = chance(0.8) ? pick(['GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH']) : mutate(pick(['GET', 'POST']), 1)
  let target = chance(0.85) ? mutate(pick(TARGETS), rnd(3)) : randomText(80)
  if (target.length === 0) target = '/'
  const lines: string[] = [`Host: ${chance(0.95) ? 'gatehouse.test' : mutate('gatehouse.test', 1)}`]
  const credential = rnd(6)
  if (credential === 0) lines.push(`Authorization: Bearer ${chance(0.5) ? pick(seeds.tokens) : mutate(pick(seeds.tokens))}`)
  if (credential === 1) lines.push(`X-API-Key: ${chance(0.5) ? pick(seeds.keys) : mutate(pick(seeds.keys))}`)
  if (credential === 2) lines.push(`Authorization: ${mutate(`Basic ${Buffer.from(`alice:${PASSWORDS.alice}`).toString('base64')}`, rnd(2))}`)
  if (credential === 3) lines.push(`Authorization: ApiKey ${mutate(pick(seeds.keys), rnd(2))}`)
  const extra = rnd(5)
  for (let i = 0; i < extra; i++) {
    const name = pick(['X-Auth-User', 'x-auth-user', 'X_Auth_User', 'X-AUTH_PERMISSIONS', 'X-Auth-Actor', 'Connection', 'X-Forwarded-For', 'Forwarded', 'X-Real-IP', 'X-HTTP-Method-Override', 'Transfer-Encoding', 'Content-Length', 'Expect', 'Upgrade', mutate('X-Auth-User', 1)])
    const value = name === 'Connection' ? pick(['close', 'X-Auth-User, X-Forwarded-For', 'keep-alive, X-Auth-Permissions', mutate('X-Auth-User')]) : pick(['admin', 'root', '10.0.0.1', 'chunked', '5', '100-continue', 'websocket', mutate('admin')])
    lines.push(`${name}: ${value}`)
  }
  lines.push('Connection: close')
  const body = method === 'POST' || method === 'PUT' ? pick(['', '{"permissions":{}}', 'hello', mutate('{"permissions":{"api":"r"}}')]) : ''
  if (body !== '' && !lines.some((l) => /^(content-length|transfer-encoding):/i.test(l))) lines.push(`Content-Length: ${Buffer.byteLength(body)}`)
  return `${method} ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n${body}`
}

/** Checks and forgets everything U has recorded so far (keeps memory flat over a long run). */
function checkUpstream(w: World): void {
  const seen = w.U.requests.splice(0)
  for (const r of seen) {
    const names: string[] = []
    for (let i = 0; i < r.rawHeaders.length; i += 2) names.push((r.rawHeaders[i] as string).toLowerCase())
    const identity = names.filter((n) => /^x[-_]auth[-_]/.test(n))
    for (const n of identity) {
      if (!OUR_NAMES.has(n)) finding('live', { url: r.url, names }, `U received identity header ${n}`)
      if (identity.filter((x) => x === n).length > 1) finding('live', { url: r.url, names }, `U received ${n} twice`)
    }
    const user = r.headers['x-auth-user']
    if (typeof user === 'string' && !KNOWN_USERS.has(user)) finding('live', { url: r.url, user }, 'U received an unknown X-Auth-User')
    const p = r.url.split('?')[0] as string
    const n = normalizeTarget(p)
    if (!n.ok || n.path !== p) finding('live', r.url, 'U received a path that does not re-normalise to itself')
    const api = matcher.match(p)?.name
    if (api === 'admin' || api === 'other') finding('live', { url: r.url, user }, `U received a request for ${api}, which no fuzz credential may use`)
    if (api === 'health' && identity.length > 0) finding('live', { url: r.url, names }, 'identity headers on the anonymous route')
    const other = disagreeingReading(p)
    if (other !== null) finding('live', r.url, `U received a path a legacy upstream reads differently: ${other}`)
    const query = r.url.indexOf('?') === -1 ? '' : r.url.slice(r.url.indexOf('?') + 1)
    if (query.split(/[&;?]/).some((part) => lenientName(part) === 'access_token')) finding('live', r.url, 'U received an access_token query parameter')
  }
}

// ---------------------------------------------------------------- main
async function main(): Promise<void> {
  const deadline = Date.now() + SECONDS * 1000
  process.on('uncaughtException', (err) => finding('process', null, `uncaught exception: ${err.stack ?? String(err)}`))
  process.on('unhandledRejection', (err) => finding('process', null, `unhandled rejection: ${String(err)}`))
  console.log(`fuzz: ${SECONDS} s, seed ${SEED}, ${LANES} lanes`)

  const w = await startWorld({ limits: { authFailuresPerMinute: 0 }, config: { log: { level: 'silent' } } })
  const seeds = {
    tokens: [w.T1(), w.Tidp(), w.hs(), w.T1({ permissions: { pub: 'r' } }), w.T1({ exp: w.now() + 86_400 })],
    keys: [w.K1, `${w.K1.slice(0, -1)}x`, 'gh_short'],
  }
  const jwt = await compileJwtVerifier([{ issuer: HS_ISS, secretEnv: 'FUZZ_HS', algorithms: ['HS256'], jwksCacheSeconds: 300, jwksCooldownSeconds: 30 }], {
    leewaySeconds: 30,
    env: { FUZZ_HS: HS_SECRET },
  })
  if (!jwt.ok) throw new Error('verifier does not compile')
  const hsSeeds = [w.hs(), w.hs({ permissions: K1_PERMISSIONS })]

  let live = 0
  let status5xx = 0
  const statuses: Record<string, number> = {}
  const pureLoop = async () => {
    while (Date.now() < deadline && findings.length < 50) {
      for (let i = 0; i < 200; i++) {
        switch (rnd(10)) {
          case 0:
            fuzzNormalize()
            break
          case 1:
            fuzzExtract([...seeds.tokens, ...seeds.keys])
            break
          case 2:
            fuzzApiKey(w.K1)
            break
          case 3:
            fuzzBasic()
            break
          case 4:
            await fuzzJwt(jwt.verifier, hsSeeds)
            break
          case 5:
            fuzzReadings()
            break
          case 6:
            fuzzIdentity()
            break
          case 7:
            fuzzForwardedFor()
            break
          case 8:
            fuzzQuery()
            break
          default:
            if (chance(0.2)) fuzzConfig()
            else fuzzNormalize()
        }
      }
      await new Promise((r) => setImmediate(r))
    }
  }
  const liveLoop = async () => {
    while (Date.now() < deadline && findings.length < 50) {
      const text = liveRequest(w, seeds)
      const answer = await rawExchange(w.port, text)
      live++
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 'none'
      statuses[status] = (statuses[status] ?? 0) + 1
      if (status.startsWith('5')) {
        status5xx++
        finding('live', text, `answered ${status}: ${answer.slice(0, 300)}`)
      }
      checkUpstream(w)
    }
  }
  const progress = setInterval(() => {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000))
    console.log(`  ${left} s left: ${live} live requests, ${Object.values(counts).reduce((a, b) => a + b, 0)} pure cases, ${findings.length} findings`)
  }, 30_000)
  await Promise.all([pureLoop(), ...Array.from({ length: LANES }, liveLoop)])
  clearInterval(progress)

  // The proxy is still alive and still right.
  const health = await rawExchange(w.port, 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  if (!/^HTTP\/1\.1 200 /.test(health)) finding('live', health.slice(0, 300), 'the proxy stopped answering')
  const k1 = await rawExchange(w.port, `GET /api/admin HTTP/1.1\r\nHost: x\r\nX-API-Key: ${w.K1}\r\nConnection: close\r\n\r\n`)
  if (!/^HTTP\/1\.1 403 /.test(k1)) finding('live', null, 'K1 is no longer refused /api/admin')
  jwt.verifier.close()
  await w.close()

  console.log(`fuzz done after ${SECONDS} s (seed ${SEED}):`)
  console.log(`  pure cases: ${JSON.stringify(counts)}`)
  console.log(`  live requests: ${live}, statuses ${JSON.stringify(statuses)}, 5xx ${status5xx}`)
  if (findings.length === 0) {
    console.log('  findings: none')
    process.exit(0)
  }
  console.log(`  findings (${findings.length}):`)
  for (const f of findings) console.log(`  ${f}`)
  process.exit(1)
}

void main()
