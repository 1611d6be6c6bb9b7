// Property test of SPEC §4 (attack #56–#58): for any set of inbound headers —
// the identity prefix in any case and any `_`/`-` spelling, Connection lines naming
// anything, forwarding headers, credentials — buildUpstreamHeaders passes on no
// identity header but its own, each exactly once, and nothing a Connection line can drop.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import type { Identity } from '../../src/credentials/identity.js'
import { buildUpstreamHeaders, compileHeaderPlan } from '../../src/pipeline/identity-headers.js'
import { Coverage, RUNS } from './runs.js'

const OURS = ['user', 'actor', 'method', 'credential-id', 'issuer', 'permissions', 'expires', 'subject-type']

/** The prefix `x-auth-` spelled with random case and `_` or `-` at each separator. */
const prefixSpelling = fc
  .tuple(fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }), fc.boolean(), fc.boolean())
  .map(([upper, u1, u2]) => {
    const chars = ['x', u1 ? '_' : '-', 'a', 'u', 't', 'h', u2 ? '_' : '-']
    return chars.map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('')
  })
const tokenChars = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'.split(''))
const token = fc.array(tokenChars, { minLength: 1, maxLength: 12 }).map((c) => c.join(''))
const suffix = fc.oneof(fc.constantFrom(...OURS, 'User', 'USER', 'scopes', 'Roles', ''), token)
const spoofName = fc.tuple(prefixSpelling, suffix).map(([p, s]) => p + s)
const otherName = fc.oneof(
  token,
  fc.constantFrom('Connection', 'connection', 'Host', 'X-Forwarded-For', 'Forwarded', 'X-Real-IP', 'Authorization', 'X-API-Key', 'Keep-Alive', 'TE', 'Upgrade', 'X-HTTP-Method-Override'),
)
const connectionValue = fc.array(fc.oneof(spoofName, otherName, fc.constant('close')), { maxLength: 5 }).map((xs) => xs.join(', '))
const header = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(spoofName, fc.string({ maxLength: 12 })) },
  { weight: 3, arbitrary: fc.tuple(otherName, fc.string({ maxLength: 12 })) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('Connection', 'connection', 'CONNECTION'), connectionValue) },
)
/**
 * Identity values come from JWT claims: any Unicode. fc.string() alone is printable
 * ASCII in fast-check 4 and `unit: 'binary'` meets CR, LF or NUL once in ~370 000
 * characters, so the characters that split or end a header line, spaces at the
 * edges, and non-ASCII (Latin-1, look-alikes, astral, lone surrogates) are drawn
 * on purpose, beside plain printable ASCII.
 */
const hostileChar = fc.oneof(
  { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom('\r', '\n', '\0', '\r\n', '\t', '\x7f', '\x1b', ' ') },
  { weight: 2, arbitrary: fc.constantFrom('é', 'ÿ', '\u00a0', '\u2028', '\u0130', '\u212a', '\uff0f', '😀', '\ud800', '\udfff') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
)
const hostileString = (minLength: number, maxLength: number) => fc.array(hostileChar, { minLength, maxLength }).map((cs) => cs.join(''))
const idValues = (id: Identity): string[] => [id.user, id.actor ?? '', id.issuer, id.credentialId ?? '']

const identity: fc.Arbitrary<Identity | null> = fc.option(
  fc.record({
    user: hostileString(1, 16),
    actor: fc.option(hostileString(1, 16), { nil: undefined }),
    method: fc.constantFrom('jwt' as const, 'apikey' as const),
    credentialId: fc.option(hostileString(0, 16), { nil: undefined }),
    issuer: hostileString(1, 16),
    permissions: fc.constant({ users: 'rw' as const }),
    expiresAt: fc.option(fc.integer({ min: 0, max: 2 ** 31 }), { nil: undefined }),
  }),
  { nil: null },
)

const canonical = (name: string): string => name.toLowerCase().replaceAll('_', '-')

describe('buildUpstreamHeaders properties', () => {
  for (const prefix of ['X-Auth-', 'x-auth-', 'X_AUTH_']) {
    test(`no caller-sent identity header reaches the upstream (prefix configured as ${prefix})`, () => {
      const spoofs = new Coverage(['spoofed identity header', 'mixed case with _', 'Connection naming an identity header', 'identity with CR/LF/NUL', 'identity with non-ASCII'] as const)
      const plan = compileHeaderPlan({ prefix, forwardAuthorization: false, apiKeyHeaders: ['X-API-Key'], upstreamHost: 'legacy:3000' })
      const canonicalPrefix = canonical(prefix)
      fc.assert(
        fc.property(fc.array(header, { maxLength: 24 }), identity, fc.boolean(), (headers, id, peerTrusted) => {
          const raw = headers.flat()
          const out = buildUpstreamHeaders(plan, raw, {
            identity: id,
            permissions: id ? { users: 'rw' } : null,
            clientIp: '203.0.113.9',
            peerIp: '127.0.0.1',
            peerTrusted,
            proto: 'http',
            requestId: 'req-1',
          })
          const names = out.filter((_, i) => i % 2 === 0)
          const identityNames = names.filter((n) => canonical(n).startsWith(canonicalPrefix))
          // Only ours, spelled exactly as the plan spells them, each at most once.
          for (const n of identityNames) {
            assert.ok(OURS.some((o) => n === `${prefix}${o.replace(/(^|-)([a-z])/g, (_m, s: string, c: string) => s + c.toUpperCase())}`), `unexpected ${n}`)
            assert.equal(identityNames.filter((x) => x === n).length, 1, `${n} twice`)
          }
          if (id === null) assert.deepEqual(identityNames, [], 'no identity header without an identity')
          else assert.ok(identityNames.includes(`${prefix}User`))
          // Exactly one of each header we set, whatever Connection named.
          for (const ours of ['Host', 'X-Forwarded-For', 'X-Forwarded-Proto']) assert.equal(names.filter((n) => n === ours).length, 1, ours)
          // No header the caller sent survives with a name that folds to a dropped one.
          for (const n of names) assert.ok(!['authorization', 'x-api-key', 'connection', 'keep-alive', 'te', 'upgrade', 'x-http-method-override', 'forwarded', 'x-real-ip'].includes(canonical(n)), n)
          // Every identity value is one line of visible ASCII, whatever the identity held.
          for (let i = 1; i < out.length; i += 2) if (identityNames.includes(out[i - 1] as string)) assert.match(out[i] as string, /^[\x20-\x7e]*$/)
          spoofs.record(
            headers.some(([n]) => canonical(n).startsWith(canonicalPrefix)) && 'spoofed identity header',
            headers.some(([n]) => canonical(n).startsWith(canonicalPrefix) && n !== n.toLowerCase() && n.includes('_')) && 'mixed case with _',
            headers.some(([n, v]) => canonical(n) === 'connection' && v.split(',').some((x) => canonical(x.trim()).startsWith(canonicalPrefix))) && 'Connection naming an identity header',
            id !== null && idValues(id).some((v) => /[\r\n\0]/.test(v)) && 'identity with CR/LF/NUL',
            id !== null && idValues(id).some((v) => /[^\x00-\x7f]/.test(v)) && 'identity with non-ASCII',
          )
        }),
        { numRuns: RUNS },
      )
      spoofs.assertReached(0.02)
    })
  }

  test('identity values are single header lines undici accepts: visible ASCII, no CR, LF or NUL, no edge spaces', () => {
    const plan = compileHeaderPlan({ prefix: 'X-Auth-', forwardAuthorization: false, apiKeyHeaders: [], upstreamHost: 'legacy:3000' })
    const reached = new Coverage(['CR', 'LF', 'NUL', 'edge space', 'Latin-1', 'beyond Latin-1', 'lone surrogate'] as const)
    fc.assert(
      fc.property(hostileString(1, 40), hostileString(0, 20), (user, actor) => {
        reached.record(
          /\r/.test(user + actor) && 'CR',
          /\n/.test(user + actor) && 'LF',
          /\0/.test(user + actor) && 'NUL',
          (user !== user.trim() || actor !== actor.trim()) && 'edge space',
          /[\x80-\xff]/.test(user + actor) && 'Latin-1',
          /[^\x00-\xff]/.test(user + actor) && 'beyond Latin-1',
          /[\ud800-\udfff]/.test((user + actor).replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')) && 'lone surrogate',
        )
        const out = buildUpstreamHeaders(plan, [], {
          identity: { user, actor: actor === '' ? undefined : actor, method: 'jwt', issuer: user, credentialId: actor, permissions: {} },
          permissions: {},
          clientIp: '203.0.113.9',
          peerIp: '203.0.113.9',
          peerTrusted: false,
          proto: 'http',
          requestId: 'req-1',
        })
        const values = new Map<string, string>()
        for (let i = 0; i < out.length; i += 2) if ((out[i] as string).startsWith('X-Auth-')) values.set(out[i] as string, out[i + 1] as string)
        assert.ok(values.has('X-Auth-User'), 'a user always gets its header')
        for (const v of values.values()) {
          assert.ok(/^[\x20-\x7e]*$/.test(v), JSON.stringify(v))
          assert.ok(v === v.trim(), JSON.stringify(v))
        }
      }),
      { numRuns: RUNS },
    )
    reached.assertReached(0.02)
  })
})
