// Decision requests (SPEC §10 and §12, README "Behind your proxy") without sockets:
// which request-targets are decision requests, how each proxy's convention names
// the request to decide, what is refused with 400 (no method or URI, the two
// conventions disagreeing, a header twice, headers on the {path}/<uri> form, a
// method that is no token), 403 for a peer not in trustedCallers, and the runtime
// decisions take (trusted callers count as trusted proxies; the token service's
// prefix is just a path; preflights are the front proxy's). A runtime compiled by
// runtime/compile.ts from a real config; expected values from the SPEC and README.
import { strict as assert } from 'node:assert'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { KeyStore } from '../../../src/keystore/key-store.js'
import { decide, type RequestFacts } from '../../../src/pipeline/decide.js'
import { decisionForm, readDecisionRequest, type ForwardAuthRuntime } from '../../../src/pipeline/decision-request.js'
import type { Runtime } from '../../../src/runtime/compile.js'
import { compileUnitRuntime } from '../../support/unit-runtime.js'

const PATH = '/_gatehouse/decide'
const CALLER = '10.0.0.5'
const PROXY = '10.9.9.9'
const PEER = '192.0.2.10'

describe('decisionForm: is this request a decision request, and in which form', () => {
  const cases: [string, 'headers' | 'prefix' | null][] = [
    [PATH, 'headers'],
    [`${PATH}?x=1`, 'headers'],
    [`${PATH}/api/v1/users?q=1`, 'prefix'],
    [`${PATH}/`, 'prefix'],
    [`${PATH}X`, null],
    [`${PATH}.json`, null],
    ['/_gatehouse/decid', null],
    ['/api/v1/users', null],
    [`/x${PATH}`, null],
    ['/_gatehouse/decidx/api', null],
    ['/_gatehouse/decidx?q', null],
  ]
  for (const [target, form] of cases) {
    it(`${target} -> ${form}`, () => assert.equal(decisionForm(target, PATH), form))
  }
})

describe('readDecisionRequest and the decision runtime', () => {
  let dir = ''
  let store: KeyStore
  let rt: Runtime
  let fa: ForwardAuthRuntime

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-decision-request-'))
    ;({ runtime: rt, store } = await compileUnitRuntime(
      dir,
      {
        trustedProxies: [`${PROXY}/32`],
        unmatched: 'deny',
        apis: [{ name: 'users', prefixes: ['/api/v1/users'], cors: { origins: ['https://app.example'] } }],
        issuer: { name: 'gatehouse' },
        forwardAuth: { path: PATH, trustedCallers: [`${CALLER}/32`] },
        cache: { maxEntries: 0 },
        limits: { authFailuresPerMinute: 0 },
      },
      { nowMs: Date.UTC(2026, 0, 15) },
    ))
    assert.ok(rt.forwardAuth)
    fa = rt.forwardAuth
  })

  after(async () => {
    rt?.close()
    await store?.close()
    await rm(dir, { recursive: true, force: true })
  })

  const ask = (rawHeaders: string[], more: Partial<RequestFacts> = {}): RequestFacts => ({ method: 'GET', rawTarget: PATH, rawHeaders, peerIp: CALLER, ...more })
  function named(r: ReturnType<typeof readDecisionRequest>) {
    assert.ok(r.ok, JSON.stringify(r))
    return { method: r.facts.method, rawTarget: r.facts.rawTarget }
  }
  function refused(r: ReturnType<typeof readDecisionRequest>, reason: string, detail: RegExp) {
    assert.ok(!r.ok, JSON.stringify(r))
    assert.equal(r.reason, reason)
    assert.match(r.detail, detail)
    return r
  }

  it('only trustedCallers may ask (403 caller_untrusted), an IPv4-mapped caller as itself', () => {
    const r = refused(readDecisionRequest(ask(['X-Forwarded-Method', 'GET', 'X-Forwarded-Uri', '/x'], { peerIp: PEER }), 'headers', fa), 'caller_untrusted', /trustedCallers/)
    assert.equal(r.clientIp, PEER)
    refused(readDecisionRequest(ask([], { peerIp: PROXY }), 'headers', fa), 'caller_untrusted', /trustedCallers/)
    assert.equal(refused(readDecisionRequest(ask([], { peerIp: `::ffff:${PEER}` }), 'headers', fa), 'caller_untrusted', /trustedCallers/).clientIp, PEER)
    assert.deepEqual(named(readDecisionRequest(ask(['X-Forwarded-Method', 'GET', 'X-Forwarded-Uri', '/x'], { peerIp: `::ffff:${CALLER}` }), 'headers', fa)), { method: 'GET', rawTarget: '/x' })
  })

  it('each convention names the request: Traefik/Caddy, nginx, ingress-nginx (in any header case)', () => {
    const expected = { method: 'PUT', rawTarget: '/api/v1/users/7?q=1' }
    assert.deepEqual(named(readDecisionRequest(ask(['X-Forwarded-Method', 'PUT', 'X-Forwarded-Uri', '/api/v1/users/7?q=1']), 'headers', fa)), expected)
    assert.deepEqual(named(readDecisionRequest(ask(['x-original-method', 'PUT', 'X-ORIGINAL-URI', '/api/v1/users/7?q=1']), 'headers', fa)), expected)
    assert.deepEqual(named(readDecisionRequest(ask(['X-Original-Method', 'PUT', 'X-Original-URL', 'https://api.example:8443/api/v1/users/7?q=1']), 'headers', fa)), expected)
    assert.deepEqual(named(readDecisionRequest(ask(['X-Original-Method', 'PUT', 'X-Original-URL', 'HTTP://api.example/api/v1/users/7?q=1']), 'headers', fa)), expected)
    // Both conventions, naming the same request, agree.
    const both = ['X-Forwarded-Method', 'PUT', 'X-Original-Method', 'PUT', 'X-Forwarded-Uri', '/api/v1/users/7?q=1', 'X-Original-URI', '/api/v1/users/7?q=1', 'X-Original-URL', 'http://h/api/v1/users/7?q=1']
    assert.deepEqual(named(readDecisionRequest(ask(both), 'headers', fa)), expected)
  })

  it('the decided request keeps the decision request\'s own headers and peer', () => {
    const raw = ['X-Forwarded-Method', 'GET', 'X-Forwarded-Uri', '/api/v1/users', 'X-API-Key', 'k', 'X-Forwarded-For', '203.0.113.5']
    const r = readDecisionRequest(ask(raw), 'headers', fa)
    assert.ok(r.ok)
    assert.deepEqual(r.facts.rawHeaders, raw)
    assert.equal(r.facts.peerIp, CALLER)
  })

  it('400 when the conventions name different requests', () => {
    const conflicts = [
      ['X-Forwarded-Method', 'GET', 'X-Original-Method', 'POST', 'X-Forwarded-Uri', '/a'],
      ['X-Forwarded-Method', 'GET', 'X-Forwarded-Uri', '/a', 'X-Original-URI', '/b'],
      ['X-Forwarded-Method', 'GET', 'X-Forwarded-Uri', '/a', 'X-Original-URL', 'https://h/b'],
      ['X-Original-Method', 'GET', 'X-Original-URI', '/a', 'X-Original-URL', 'https://h/b'],
      ['X-Forwarded-Method', 'GET', 'X-Forwarded-Uri', '/a', 'X-Original-URI', '/a', 'X-Original-URL', 'https://h/b'],
      ['X-Forwarded-Method', 'GET', 'X-Forwarded-Uri', '/a', 'X-Original-URI', '/b', 'X-Original-URL', 'https://h/b'],
    ]
    for (const raw of conflicts) refused(readDecisionRequest(ask(raw), 'headers', fa), 'request_malformed', /different requests/)
  })

  it('400 without a method, without a URI, or without both, naming what is missing', () => {
    refused(readDecisionRequest(ask(['X-Forwarded-Method', 'GET']), 'headers', fa), 'request_malformed', /names no URI$/)
    refused(readDecisionRequest(ask(['X-Forwarded-Uri', '/a']), 'headers', fa), 'request_malformed', /names no method$/)
    refused(readDecisionRequest(ask(['X-Original-URL', 'https://h/a']), 'headers', fa), 'request_malformed', /names no method$/)
    refused(readDecisionRequest(ask(['X-Forwarded-Methods', 'GET', 'X-Uri', '/a']), 'headers', fa), 'request_malformed', /no method and no URI/)
  })

  it('400 when X-Original-URL is no absolute http(s) URL with a path', () => {
    for (const url of ['/api/v1/users', 'ftp://h/a', 'https://h', 'https:/h/a', 'xhttps://h/a', ' https://h/a']) {
      refused(readDecisionRequest(ask(['X-Original-Method', 'GET', 'X-Original-URL', url]), 'headers', fa), 'request_malformed', /X-Original-URL/)
    }
  })

  it('400 when one of these headers comes twice, in any case', () => {
    for (const name of ['x-forwarded-method', 'X-FORWARDED-URI', 'x-original-method', 'x-original-uri', 'X-Original-Url']) {
      const raw = ['X-Forwarded-Method', 'GET', 'X-Forwarded-Uri', '/a', 'X-Original-Method', 'GET', 'X-Original-URI', '/a', 'X-Original-URL', 'https://h/a', name, 'x']
      refused(readDecisionRequest(ask(raw), 'headers', fa), 'request_malformed', /more than once/)
    }
  })

  it('400 when the named method is no HTTP token (RFC 9110 §5.6.2), at most 32 characters', () => {
    for (const method of ['', 'GE T', 'GET\r\n', 'G\u00c9T', 'GET/1', 'GET:', 'A'.repeat(33)]) {
      refused(readDecisionRequest(ask(['X-Forwarded-Method', method, 'X-Forwarded-Uri', '/a']), 'headers', fa), 'request_malformed', /method token/)
    }
    for (const method of ['A'.repeat(32), "!#$%&'*+-.^_`|~09Az", 'PROPFIND']) {
      assert.equal(named(readDecisionRequest(ask(['X-Forwarded-Method', method, 'X-Forwarded-Uri', '/a']), 'headers', fa)).method, method)
    }
  })

  it('the {path}/<uri> form: the original method and the rest of the target; 400 with any naming header', () => {
    assert.deepEqual(named(readDecisionRequest(ask(['X-API-Key', 'k', 'Accept-Language', 'de', 'Accept-Language', 'fr'], { method: 'DELETE', rawTarget: `${PATH}/api/v1/users/7?q=1` }), 'prefix', fa)), { method: 'DELETE', rawTarget: '/api/v1/users/7?q=1' })
    for (const name of ['X-Forwarded-Method', 'X-Forwarded-Uri', 'X-Original-Method', 'X-Original-URI', 'X-Original-URL']) {
      refused(readDecisionRequest(ask([name, '/x'], { rawTarget: `${PATH}/api/v1/users` }), 'prefix', fa), 'request_malformed', /must not carry/)
    }
  })

  it('decisions read X-Forwarded-For from trusted callers, as from trusted proxies (SPEC §12)', async () => {
    const d = await decide({ method: 'GET', rawTarget: '/api/v1/users', rawHeaders: ['X-Forwarded-For', '203.0.113.5'], peerIp: CALLER }, fa.runtime)
    assert.ok(!d.ok)
    assert.equal(d.clientIp, '203.0.113.5')
    // The trusted proxies of the config stay trusted too.
    const viaProxy = await decide({ method: 'GET', rawTarget: '/api/v1/users', rawHeaders: ['X-Forwarded-For', '203.0.113.6'], peerIp: PROXY }, fa.runtime)
    assert.equal(viaProxy.clientIp, '203.0.113.6')
    // Proxied traffic from the caller is not a decision: its X-Forwarded-For is not believed there.
    const direct = await decide({ method: 'GET', rawTarget: '/api/v1/users', rawHeaders: ['X-Forwarded-For', '203.0.113.5'], peerIp: CALLER }, rt)
    assert.equal(direct.clientIp, CALLER)
  })

  it("behind a proxy the token service's prefix is a path like any other: no_api", async () => {
    const d = await decide({ method: 'POST', rawTarget: '/_gatehouse/v1/auth/jwt', rawHeaders: [], peerIp: CALLER }, fa.runtime)
    assert.ok(!d.ok)
    assert.equal(d.reason, 'no_api')
    const own = await decide({ method: 'POST', rawTarget: '/_gatehouse/v1/auth/jwt', rawHeaders: [], peerIp: CALLER }, rt)
    assert.ok(own.ok && own.route === 'service')
  })

  it('a preflight is the front proxy\'s to answer: decided like any request without a credential', async () => {
    const preflight = { method: 'OPTIONS', rawTarget: '/api/v1/users', rawHeaders: ['Origin', 'https://app.example', 'Access-Control-Request-Method', 'PUT'], peerIp: CALLER }
    const d = await decide(preflight, fa.runtime)
    assert.ok(!d.ok)
    assert.equal(d.reason, 'credential_missing')
    const own = await decide(preflight, rt)
    assert.ok(own.ok && own.route === 'preflight')
  })
})
