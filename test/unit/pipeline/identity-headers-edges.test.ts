// Identity headers at the edges identity-headers.test.ts does not reach (issue 19,
// mutation testing): X-Auth-Subject-Type, Expires that is fractional or infinite,
// claim headers as lists, decision-mode headers alone, the configured removeHeaders
// and API-key headers, the first Host only, and lone surrogates as WTF-8. Expected
// values from SPEC §4 and §9, issue 12 (subject type), and the WTF-8 spec
// (https://simonsapin.github.io/wtf-8/: a surrogate code point is encoded like any
// other three-byte one), not from the code under test.
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import type { Identity } from '../../../src/credentials/identity.js'
import { buildIdentityHeaders, buildUpstreamHeaders, compileHeaderPlan, encodeValue, type ForwardContext } from '../../../src/pipeline/identity-headers.js'
import { forwardContext, headerValues } from '../../support/forward-context.js'

const plan = compileHeaderPlan({ prefix: 'X-Auth-', forwardAuthorization: false, apiKeyHeaders: ['X-API-Key', 'X_Token'], upstreamHost: 'legacy:3000' })
const alice: Identity = { user: 'alice', method: 'apikey', credentialId: 'k1', issuer: 'gatehouse', permissions: { users: 'rw' }, expiresAt: 1_900_000_000 }
const ctx = (over: Partial<ForwardContext> = {}): ForwardContext => forwardContext(alice, over)
const values = headerValues
/** WTF-8 of one UTF-16 code unit or code point, percent-encoded: the generalized UTF-8 of the spec above. */
function wtf8(cp: number): string {
  const bytes = cp < 0x80 ? [cp] : cp < 0x800 ? [0xc0 | (cp >> 6), 0x80 | (cp & 63)] : cp < 0x10000 ? [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)] : [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)]
  return bytes.map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')
}

describe('identity headers at the edges', () => {
  it('X-Auth-Subject-Type is user unless the identity is an OAuth client (issue 12)', () => {
    assert.deepEqual(values(buildUpstreamHeaders(plan, [], ctx()), 'X-Auth-Subject-Type'), ['user'])
    assert.deepEqual(values(buildUpstreamHeaders(plan, [], ctx({ subjectType: null })), 'X-Auth-Subject-Type'), ['user'])
    assert.deepEqual(values(buildUpstreamHeaders(plan, [], ctx({ subjectType: 'client' })), 'X-Auth-Subject-Type'), ['client'])
    assert.deepEqual(values(buildUpstreamHeaders(plan, ['X-Auth-Subject-Type', 'client'], ctx({ subjectType: 'user' })), 'X-Auth-Subject-Type'), ['user'])
  })

  it('X-Auth-Expires is whole Unix seconds, absent when infinite', () => {
    const at = (expiresAt: number | undefined) => values(buildUpstreamHeaders(plan, [], ctx({ identity: { ...alice, expiresAt } })), 'X-Auth-Expires')
    assert.deepEqual(at(1_900_000_000.9), ['1900000000'])
    assert.deepEqual(at(Number.POSITIVE_INFINITY), [])
    assert.deepEqual(at(Number.NaN), [])
    assert.deepEqual(at(undefined), [])
    assert.deepEqual(at(0), ['0'])
  })

  it('X-Auth-Permissions is empty, not absent, when no effective permissions are known', () => {
    assert.deepEqual(values(buildUpstreamHeaders(plan, [], ctx({ permissions: null })), 'X-Auth-Permissions'), [''])
    assert.deepEqual(values(buildUpstreamHeaders(plan, [], ctx({ permissions: {} })), 'X-Auth-Permissions'), [''])
  })

  it('X-Auth-Credential-Id and X-Auth-Actor are encoded like every identity value', () => {
    const out = buildUpstreamHeaders(plan, [], ctx({ identity: { ...alice, credentialId: 'a,b', actor: 'r\u00f6ot' } }))
    assert.deepEqual(values(out, 'X-Auth-Credential-Id'), ['a%2Cb'])
    assert.deepEqual(values(out, 'X-Auth-Actor'), ['r%C3%B6ot'])
  })

  it('a claim header list is its elements, each encoded, joined by "," (SPEC §9)', () => {
    const identity: Identity = { ...alice, claimHeaders: [['X-Auth-Roles', ['a,b', 'c d', ' e']], ['X-Auth-Email', 'x,y@z']] }
    const out = buildUpstreamHeaders(plan, [], ctx({ identity }))
    assert.deepEqual(values(out, 'X-Auth-Roles'), ['a%2Cb,c d,%20e'])
    assert.deepEqual(values(out, 'X-Auth-Email'), ['x%2Cy@z'])
  })

  it('decision mode: the identity headers alone, none without an identity (SPEC §10)', () => {
    assert.deepEqual(buildIdentityHeaders(plan, null, null, null), [])
    const out = buildIdentityHeaders(plan, { ...alice, user: 'al ice ' }, { users: 'r' }, null)
    assert.deepEqual(out, [
      'X-Auth-User', 'al ice%20',
      'X-Auth-Subject-Type', 'user',
      'X-Auth-Method', 'apikey',
      'X-Auth-Credential-Id', 'k1',
      'X-Auth-Issuer', 'gatehouse',
      'X-Auth-Permissions', 'users:r',
      'X-Auth-Expires', '1900000000',
    ])
    assert.deepEqual(values(buildIdentityHeaders(plan, alice, null, 'client'), 'X-Auth-Subject-Type'), ['client'])
    assert.deepEqual(values(buildIdentityHeaders(plan, alice, null, 'client'), 'X-Auth-Permissions'), [''])
  })

  it('only the first Host becomes X-Forwarded-Host, and an empty one none', () => {
    assert.deepEqual(values(buildUpstreamHeaders(plan, ['Host', 'a.example', 'host', 'b.example'], ctx()), 'X-Forwarded-Host'), ['a.example'])
    assert.deepEqual(values(buildUpstreamHeaders(plan, ['Host', ''], ctx()), 'X-Forwarded-Host'), [])
    assert.deepEqual(values(buildUpstreamHeaders(plan, ['Hosts', 'a.example'], ctx()), 'X-Forwarded-Host'), [])
  })

  it('behind an untrusted peer X-Forwarded-For is the client address alone, whatever was sent', () => {
    const out = buildUpstreamHeaders(plan, ['X-Forwarded-For', '10.0.0.1'], ctx({ clientIp: '198.51.100.4', peerIp: '203.0.113.9' }))
    assert.deepEqual(values(out, 'X-Forwarded-For'), ['198.51.100.4'])
  })

  it('the configured API-key headers go in any spelling, and only those', () => {
    const out = buildUpstreamHeaders(plan, ['x-token', 't1', 'X_TOKEN', 't2', 'X-Tokens', 't3'], ctx())
    assert.deepEqual(values(out, 'x-token'), [])
    assert.deepEqual(values(out, 'X_TOKEN'), [])
    assert.deepEqual(values(out, 'X-Tokens'), ['t3'])
  })

  it('identityHeaders.removeHeaders replaces the default list, in any spelling', () => {
    const custom = compileHeaderPlan({ prefix: 'X-Auth-', forwardAuthorization: true, apiKeyHeaders: ['X-API-Key'], upstreamHost: 'u', removeHeaders: ['X-Custom_User'] })
    const sent = ['x-custom-user', 'root', 'X_CUSTOM_USER', 'root', 'X-Remote-User', 'kept', 'X-API-Key', 'k']
    const out = buildUpstreamHeaders(custom, sent, ctx())
    assert.deepEqual(values(out, 'x-custom-user'), [])
    assert.deepEqual(values(out, 'X_CUSTOM_USER'), [])
    assert.deepEqual(values(out, 'X-Remote-User'), ['kept'])
    assert.deepEqual(values(out, 'X-API-Key'), ['k'])
    // The default list goes when none is configured.
    assert.deepEqual(values(buildUpstreamHeaders(plan, ['X-Remote-User', 'root', 'x_remote_user', 'root'], ctx()), 'X-Remote-User'), [])
  })

  it('Connection tokens name headers in any spelling; empty tokens name none', () => {
    const out = buildUpstreamHeaders(plan, ['Connection', ' , x_custom ,,', 'X-Custom', '1', 'X-Kept', '2', 'Connection', ''], ctx())
    assert.deepEqual(values(out, 'X-Custom'), [])
    assert.deepEqual(values(out, 'X-Kept'), ['2'])
  })

  it('a prefix header is dropped however its case and _ are spelled, a shorter name is kept', () => {
    const out = buildUpstreamHeaders(plan, ['x_AUTH-', 'a', 'X-Aut', 'b', 'X-Auth', 'c', 'XAuth-User', 'd'], ctx())
    assert.deepEqual(values(out, 'x_AUTH-'), [])
    assert.deepEqual(values(out, 'X-Aut'), ['b'])
    assert.deepEqual(values(out, 'X-Auth'), ['c'])
    assert.deepEqual(values(out, 'XAuth-User'), ['d'])
  })

  it('only headers named traceparent, tracestate, Host and X-Forwarded-For are read as such, whatever their length', () => {
    const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    // User-Agent has tracestate's length, Content-MD5 traceparent's, Date Host's, Accept-Language X-Forwarded-For's.
    const sent = ['Date', 'Sun, 06 Dec 2026', 'User-Agent', 'curl/8', 'traceparent', VALID, 'Content-MD5', 'x', 'Host', 'a.example', 'Accept-Language', 'de', 'Accept', '*/*', 'X-Forwarded-For', '192.0.2.1']
    const out = buildUpstreamHeaders(plan, sent, ctx({ peerTrusted: true, peerIp: '10.0.0.2' }))
    assert.deepEqual(values(out, 'traceparent'), [VALID])
    assert.deepEqual(values(out, 'tracestate'), [], 'a valid traceparent alone: no tracestate line')
    assert.deepEqual(values(out, 'X-Forwarded-Host'), ['a.example'])
    assert.deepEqual(values(out, 'X-Forwarded-For'), ['192.0.2.1, 10.0.0.2'])
    assert.deepEqual(values(out, 'User-Agent'), ['curl/8'])
  })

  it('a prefix folds every capital, A and Z included (RFC 9110 §5.1: names are case-insensitive)', () => {
    const zed = compileHeaderPlan({ prefix: 'X-Az-', forwardAuthorization: false, apiKeyHeaders: [], upstreamHost: 'u' })
    const out = buildUpstreamHeaders(zed, ['X-AZ-Role', 'spoof-1', 'x_aZ_role', 'spoof-2', 'X-Ay-Role', 'kept'], ctx())
    assert.ok(!out.includes('spoof-1') && !out.includes('spoof-2'), JSON.stringify(out))
    assert.deepEqual(values(out, 'X-Ay-Role'), ['kept'])
    assert.deepEqual(values(out, 'X-Az-User'), ['alice'])
  })

  it('lone surrogates are WTF-8, surrogate pairs UTF-8 (the code point)', () => {
    for (const unit of [0xd800, 0xdbff, 0xdc00, 0xdfff]) {
      const ch = String.fromCharCode(unit)
      assert.equal(encodeValue(ch), wtf8(unit), unit.toString(16))
      assert.equal(encodeValue(`a${ch}b`), `a${wtf8(unit)}b`, unit.toString(16))
    }
    assert.equal(encodeValue('\ud800\udc00'), wtf8(0x10000))
    assert.equal(encodeValue('\udbff\udfff'), wtf8(0x10ffff))
    assert.equal(encodeValue('\udc00\ud800'), wtf8(0xdc00) + wtf8(0xd800))
    assert.equal(encodeValue('\ud800\ud800\udc00'), wtf8(0xd800) + wtf8(0x10000))
    assert.equal(encodeValue('\ud7ff\ue000'), wtf8(0xd7ff) + wtf8(0xe000))
    assert.equal(encodeValue('\ud800\ue000'), wtf8(0xd800) + wtf8(0xe000))
    assert.equal(encodeValue('\ud800\ud7ff'), wtf8(0xd800) + wtf8(0xd7ff))
    assert.equal(encodeValue('\u0800\udc00'), wtf8(0x800) + wtf8(0xdc00))
    assert.equal(encodeValue('\udc00\udc00'), wtf8(0xdc00) + wtf8(0xdc00))
  })

  it('visible ASCII but % and , passes unchanged; a space only inside', () => {
    assert.equal(encodeValue('~!"#$&\'()*+-./:;<=>?@[\\]^_`{|}'), '~!"#$&\'()*+-./:;<=>?@[\\]^_`{|}')
    assert.equal(encodeValue(' '), '%20')
    assert.equal(encodeValue('  '), '%20%20')
    assert.equal(encodeValue('a  b'), 'a  b')
    assert.equal(encodeValue(''), '')
    assert.equal(encodeValue('%,'), '%25%2C')
    assert.equal(encodeValue('%'), '%25')
  })
})
