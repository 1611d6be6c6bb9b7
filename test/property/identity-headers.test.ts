// Property test of SPEC §4 (security-cases #56–#58): for any set of inbound headers —
// the identity prefix in any case and any `_`/`-` spelling, Connection lines naming
// anything, forwarding headers, credentials — buildUpstreamHeaders passes on no
// identity header but its own, each exactly once, and nothing a Connection line can drop.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import type { Identity } from '../../src/pipeline/decision.js'
import { buildUpstreamHeaders, compileHeaderPlan } from '../../src/pipeline/identity-headers.js'
import { RUNS } from './runs.js'

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
const identity: fc.Arbitrary<Identity | null> = fc.option(
  fc.record({
    user: fc.string({ minLength: 1, maxLength: 16 }),
    actor: fc.option(fc.string({ minLength: 1, maxLength: 16 }), { nil: undefined }),
    method: fc.constantFrom('jwt' as const, 'apikey' as const),
    credentialId: fc.option(fc.string({ maxLength: 16 }), { nil: undefined }),
    issuer: fc.string({ minLength: 1, maxLength: 16 }),
    permissions: fc.constant({ users: 'rw' as const }),
    expiresAt: fc.option(fc.integer({ min: 0, max: 2 ** 31 }), { nil: undefined }),
  }),
  { nil: null },
)

const canonical = (name: string): string => name.toLowerCase().replaceAll('_', '-')

describe('buildUpstreamHeaders properties', () => {
  for (const prefix of ['X-Auth-', 'x-auth-', 'X_AUTH_']) {
    test(`no caller-sent identity header reaches the upstream (prefix configured as ${prefix})`, () => {
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
          // Every value is one header line: nothing can split it.
          for (let i = 1; i < out.length; i += 2) assert.ok(!/[\r\n\0]/.test(out[i] as string) || !identityNames.includes(out[i - 1] as string))
        }),
        { numRuns: RUNS },
      )
    })
  }

  test('identity values are single header lines undici accepts: visible ASCII, no CR, LF or NUL, no edge spaces', () => {
    const plan = compileHeaderPlan({ prefix: 'X-Auth-', forwardAuthorization: false, apiKeyHeaders: [], upstreamHost: 'legacy:3000' })
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }), (user, actor) => {
        const out = buildUpstreamHeaders(plan, [], {
          identity: { user, actor: actor === '' ? undefined : actor, method: 'jwt', issuer: user, credentialId: actor, permissions: {} },
          permissions: {},
          clientIp: '203.0.113.9',
          peerIp: '203.0.113.9',
          peerTrusted: false,
          proto: 'http',
        })
        for (let i = 0; i < out.length; i += 2) {
          if (!(out[i] as string).startsWith('X-Auth-')) continue
          const v = out[i + 1] as string
          assert.ok(/^[\x20-\x7e]*$/.test(v), JSON.stringify(v))
          assert.ok(v === v.trim(), JSON.stringify(v))
        }
      }),
      { numRuns: RUNS },
    )
  })
})
