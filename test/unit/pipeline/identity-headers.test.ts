import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import type { Identity } from '../../../src/credentials/identity.js'
import { buildUpstreamHeaders, compileHeaderPlan, encodeValue, type ForwardContext } from '../../../src/pipeline/identity-headers.js'
import { forwardContext, headerValues } from '../../support/forward-context.js'

const plan = compileHeaderPlan({ prefix: 'X-Auth-', forwardAuthorization: false, apiKeyHeaders: ['X-API-Key'], upstreamHost: 'legacy:3000' })

const alice: Identity = {
  user: 'alice',
  method: 'jwt',
  credentialId: 'jti-1',
  issuer: 'https://idp.example.com/',
  permissions: { users: 'rw', sessions: 'r' },
  expiresAt: 1_900_000_000,
}

const ctx = (over: Partial<ForwardContext> = {}): ForwardContext => forwardContext(alice, { proto: 'https', ...over })
const values = headerValues

function names(out: readonly string[]): string[] {
  return out.filter((_, i) => i % 2 === 0)
}

describe('buildUpstreamHeaders', () => {
  it('keeps ordinary headers as sent, name case included', () => {
    const out = buildUpstreamHeaders(plan, ['Accept', 'application/json', 'User-Agent', 'curl/8', 'Content-Length', '5', 'Cookie', 'a=b'], ctx())
    assert.deepEqual(out.slice(0, 8), ['Accept', 'application/json', 'User-Agent', 'curl/8', 'Content-Length', '5', 'Cookie', 'a=b'])
  })

  const spoofed = [
    'X-Auth-User', 'x-auth-user', 'X-AUTH-USER', 'X-Auth-Scopes', 'X-AUTH-SCOPES', 'X-Auth-Permissions',
    'X_Auth_User', 'X-Auth_User', 'x_auth-user', 'x-auth_scopes', 'X-Auth-Actor', 'X-Auth-Anything-Else', 'X-AUTH-',
  ]
  for (const name of spoofed) {
    it(`strips the caller's ${name} header (attack #56, #57)`, () => {
      const out = buildUpstreamHeaders(plan, [name, 'admin', 'Accept', '*/*'], ctx())
      assert.ok(!out.includes('admin'), `${name} survived: ${JSON.stringify(out)}`)
      assert.deepEqual(values(out, 'X-Auth-User'), ['alice'])
    })
  }

  it('strips two spoofed X-Auth-User lines and sets exactly one of ours', () => {
    const out = buildUpstreamHeaders(plan, ['X-Auth-User', 'admin', 'X-Auth-User', 'root'], ctx())
    assert.deepEqual(values(out, 'X-Auth-User'), ['alice'])
  })

  it('sends no identity header at all on a public API, and still strips spoofed ones', () => {
    const out = buildUpstreamHeaders(plan, ['X-Auth-User', 'admin', 'X_Auth_Permissions', 'admin:rw'], ctx({ identity: null, permissions: null }))
    assert.deepEqual(
      names(out).filter((n) => n.toLowerCase().replaceAll('_', '-').startsWith('x-auth-')),
      [],
    )
  })

  const overrides = [
    'X-HTTP-Method-Override', 'x-http-method', 'X-Method-Override', 'X_HTTP_Method_Override',
    'X-Original-URL', 'X-Rewrite-URL', 'x-original-uri', 'X-Override-URL', 'X_Original_URL',
    'X-Forwarded-Prefix', 'X-Forwarded-Path', 'X-Forwarded-Uri',
  ]
  for (const name of overrides) {
    it(`strips the override header ${name} (SPEC §3.8, attack #52)`, () => {
      const out = buildUpstreamHeaders(plan, [name, 'DELETE'], ctx())
      assert.deepEqual(values(out, name), [])
      assert.ok(!out.includes('DELETE'))
    })
  }

  const addressing = ['X-Forwarded-Proto', 'X-Forwarded-Port', 'Forwarded', 'X-Real-IP', 'True-Client-IP', 'CF-Connecting-IP', 'X_Real_IP', 'X-Client-IP']
  for (const name of addressing) {
    it(`strips the caller's ${name} (attack #60)`, () => {
      const out = buildUpstreamHeaders(plan, [name, '10.0.0.1'], ctx())
      assert.ok(!out.includes('10.0.0.1'), JSON.stringify(out))
    })
  }

  const hopByHop = ['Connection', 'Keep-Alive', 'Proxy-Connection', 'Transfer-Encoding', 'TE', 'Trailer', 'Upgrade', 'Proxy-Authorization', 'HTTP2-Settings', 'Expect']
  for (const name of hopByHop) {
    it(`does not forward the hop-by-hop header ${name} (attack #59)`, () => {
      const out = buildUpstreamHeaders(plan, [name, 'x-value'], ctx())
      assert.deepEqual(values(out, name), [])
    })
  }

  it('drops headers named in Connection, over several lines and in any case (RFC 9110 §7.6.1)', () => {
    const out = buildUpstreamHeaders(plan, ['Connection', 'close, X-Custom', 'X-Custom', '1', 'connection', 'x-other', 'X-OTHER', '2', 'X-Kept', '3'], ctx())
    assert.deepEqual(values(out, 'X-Custom'), [])
    assert.deepEqual(values(out, 'X-Other'), [])
    assert.deepEqual(values(out, 'X-Kept'), ['3'])
  })

  it('cannot be made to drop our own headers through Connection (attack #58)', () => {
    const out = buildUpstreamHeaders(
      plan,
      ['Connection', 'close, X-Auth-User, X-Auth-Permissions, X-Forwarded-For', 'CONNECTION', 'host, x-forwarded-proto, X_Auth_Method', 'X-Auth-User', 'admin'],
      ctx(),
    )
    assert.deepEqual(values(out, 'X-Auth-User'), ['alice'])
    assert.deepEqual(values(out, 'X-Auth-Permissions'), ['sessions:r users:rw'])
    assert.deepEqual(values(out, 'X-Auth-Method'), ['jwt'])
    assert.deepEqual(values(out, 'X-Forwarded-For'), ['203.0.113.9'])
    assert.deepEqual(values(out, 'X-Forwarded-Proto'), ['https'])
    assert.deepEqual(values(out, 'Host'), ['legacy:3000'])
  })

  it('sets every identity header of SPEC §4', () => {
    const out = buildUpstreamHeaders(plan, [], ctx({ identity: { ...alice, actor: 'root' } }))
    assert.deepEqual(values(out, 'X-Auth-User'), ['alice'])
    assert.deepEqual(values(out, 'X-Auth-Actor'), ['root'])
    assert.deepEqual(values(out, 'X-Auth-Method'), ['jwt'])
    assert.deepEqual(values(out, 'X-Auth-Credential-Id'), ['jti-1'])
    assert.deepEqual(values(out, 'X-Auth-Issuer'), ['https://idp.example.com/'])
    assert.deepEqual(values(out, 'X-Auth-Expires'), ['1900000000'])
  })

  it('leaves out Actor when it equals User, and Credential-Id and Expires when absent', () => {
    const out = buildUpstreamHeaders(plan, [], ctx({ identity: { user: 'bob', actor: 'bob', method: 'apikey', issuer: 'gatehouse', permissions: {} } }))
    assert.deepEqual(values(out, 'X-Auth-Actor'), [])
    assert.deepEqual(values(out, 'X-Auth-Credential-Id'), [])
    assert.deepEqual(values(out, 'X-Auth-Expires'), [])
    assert.deepEqual(values(out, 'X-Auth-Method'), ['apikey'])
  })

  it('sends the effective permissions sorted, not what the credential claims', () => {
    const out = buildUpstreamHeaders(plan, [], ctx({ permissions: { zeta: 'r', alpha: 'rw', mid: 'none' } }))
    assert.deepEqual(values(out, 'X-Auth-Permissions'), ['alpha:rw zeta:r'])
  })

  it('uses the configured prefix for names and for stripping', () => {
    const p = compileHeaderPlan({ prefix: 'X-Gate-', forwardAuthorization: false, apiKeyHeaders: [], upstreamHost: 'u' })
    const out = buildUpstreamHeaders(p, ['X_Gate_User', 'admin', 'X-Auth-User', 'kept'], ctx())
    assert.deepEqual(values(out, 'X-Gate-User'), ['alice'])
    assert.deepEqual(values(out, 'X-Auth-User'), ['kept'])
  })

  const injections: [value: string, encoded: string][] = [
    ['admin\r\nX-Auth-User: root', 'admin%0D%0AX-Auth-User: root'],
    ['a\nb', 'a%0Ab'],
    ['a\u0000b', 'a%00b'],
    ['jos\u00e9', 'jos%C3%A9'],
    ['\u{1F600}', '%F0%9F%98%80'],
    ['100%', '100%25'],
    [' admin', '%20admin'],
    ['admin ', 'admin%20'],
    ['John Smith', 'John Smith'],
    ['a\u007fb', 'a%7Fb'],
    ['a\tb', 'a%09b'],
  ]
  for (const [value, encoded] of injections) {
    it(`percent-encodes the identity value ${JSON.stringify(value)} as ${encoded}`, () => {
      const out = buildUpstreamHeaders(plan, [], ctx({ identity: { ...alice, user: value, credentialId: value, issuer: value } }))
      assert.deepEqual(values(out, 'X-Auth-User'), [encoded])
      assert.deepEqual(values(out, 'X-Auth-Credential-Id'), [encoded])
      assert.deepEqual(values(out, 'X-Auth-Issuer'), [encoded])
    })
  }

  it('keeps two names with different lone surrogates apart', () => {
    assert.notEqual(encodeValue('a\ud800'), encodeValue('a\ufffd'))
    assert.notEqual(encodeValue('a\ud800'), encodeValue('a\udc00'))
    assert.match(encodeValue('a\ud800'), /^[\x21-\x7e]+$/)
  })

  it('encodes every character to visible ASCII that decodes back to it', () => {
    for (let c = 0; c < 0x10000; c++) {
      if (c >= 0xd800 && c < 0xe000) continue // lone surrogates: tested above
      const value = `x${String.fromCharCode(c)}y`
      const v = encodeValue(value)
      assert.match(v, /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/, `char ${c}`)
      assert.equal(decodeURIComponent(v), value, `char ${c}`)
    }
  })

  it('strips Authorization and the API-key headers by default', () => {
    const out = buildUpstreamHeaders(plan, ['Authorization', 'Bearer abc', 'x-api-key', 'k1', 'X_API_KEY', 'k2'], ctx())
    assert.deepEqual(values(out, 'Authorization'), [])
    assert.ok(!out.includes('k1') && !out.includes('k2'))
  })

  it('forwards Authorization and the API-key header when forwardAuthorization is on', () => {
    const p = compileHeaderPlan({ prefix: 'X-Auth-', forwardAuthorization: true, apiKeyHeaders: ['X-API-Key'], upstreamHost: 'u' })
    const out = buildUpstreamHeaders(p, ['Authorization', 'Bearer abc', 'X-API-Key', 'k1'], ctx())
    assert.deepEqual(values(out, 'Authorization'), ['Bearer abc'])
    assert.deepEqual(values(out, 'X-API-Key'), ['k1'])
  })

  it('replaces Host with the upstream host and keeps the first client Host as X-Forwarded-Host', () => {
    const out = buildUpstreamHeaders(plan, ['Host', 'api.example.com', 'X-Forwarded-Host', 'evil.example'], ctx())
    assert.deepEqual(values(out, 'Host'), ['legacy:3000'])
    assert.deepEqual(values(out, 'X-Forwarded-Host'), ['api.example.com'])
  })

  it('rebuilds X-Forwarded-For from the client address behind an untrusted peer (attack #60)', () => {
    const out = buildUpstreamHeaders(plan, ['X-Forwarded-For', '10.0.0.1', 'x_forwarded_for', '10.0.0.2'], ctx())
    assert.deepEqual(values(out, 'X-Forwarded-For'), ['203.0.113.9'])
    assert.deepEqual(values(out, 'x_forwarded_for'), [])
  })

  it('appends the trusted peer to the incoming chain', () => {
    const out = buildUpstreamHeaders(
      plan,
      ['X-Forwarded-For', '192.0.2.1, 203.0.113.9', 'x-forwarded-for', ' 10.0.0.7 ', 'X-Forwarded-For', ''],
      ctx({ peerTrusted: true, peerIp: '::ffff:10.0.0.2' }),
    )
    assert.deepEqual(values(out, 'X-Forwarded-For'), ['192.0.2.1, 203.0.113.9, 10.0.0.7, 10.0.0.2'])
  })

  it('sends just the trusted peer when it sent no chain', () => {
    const out = buildUpstreamHeaders(plan, [], ctx({ peerTrusted: true, peerIp: '10.0.0.2', clientIp: '10.0.0.2' }))
    assert.deepEqual(values(out, 'X-Forwarded-For'), ['10.0.0.2'])
  })

  it('sets X-Forwarded-Proto from the connection', () => {
    const out = buildUpstreamHeaders(plan, ['X-Forwarded-Proto', 'https'], ctx({ proto: 'http' }))
    assert.deepEqual(values(out, 'X-Forwarded-Proto'), ['http'])
  })
})

describe('request id and trace context (README "Operations")', () => {
  const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
  it("replaces the caller's X-Request-Id lines with ours", () => {
    const out = buildUpstreamHeaders(plan, ['X-Request-Id', 'theirs', 'x-request-id', 'theirs-2', 'X_Request_Id', 'theirs-3'], ctx({ requestId: 'ours-1' }))
    assert.deepEqual(values(out, 'X-Request-Id'), ['ours-1'])
    assert.ok(!out.includes('theirs-3'))
  })
  it('passes a valid traceparent and every tracestate line on unchanged', () => {
    const out = buildUpstreamHeaders(plan, ['traceparent', VALID, 'tracestate', 'a=1', 'TraceState', 'b=2'], ctx())
    assert.deepEqual(values(out, 'traceparent'), [VALID])
    assert.deepEqual(values(out, 'tracestate'), ['a=1', 'b=2'])
  })
  it('drops a malformed or repeated traceparent, and the tracestate with it; a tracestate alone too', () => {
    for (const raw of [
      ['traceparent', VALID.toUpperCase(), 'tracestate', 'a=1'],
      ['traceparent', VALID, 'Traceparent', VALID, 'tracestate', 'a=1'],
      ['tracestate', 'a=1'],
    ]) {
      const out = buildUpstreamHeaders(plan, raw, ctx())
      assert.deepEqual(values(out, 'traceparent'), [], JSON.stringify(raw))
      assert.deepEqual(values(out, 'tracestate'), [], JSON.stringify(raw))
    }
  })
})
