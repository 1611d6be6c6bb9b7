// The CORS decision (pipeline/cors.ts) against the rules of the Fetch standard §3.2
// (the CORS protocol) and MDN's "Cross-Origin Resource Sharing" page: what makes a
// preflight, which response headers a browser needs to let a page through, and what
// it refuses. Expected values are written from those rules, not read from the code.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { compileCors, decideCors, withCorsHeaders, type CorsAsk, type CorsConfig } from '../../../src/pipeline/cors.js'

const APP = 'https://app.example.com'
const policy = (over: Partial<CorsConfig> = {}) =>
  compileCors({ origins: [APP], methods: ['GET', 'POST', 'DELETE'], headers: ['Authorization', 'Content-Type'], exposeHeaders: [], credentials: false, ...over })
const preflight = (over: Partial<CorsAsk> = {}): CorsAsk => ({ method: 'OPTIONS', origin: APP, requestMethod: 'DELETE', requestHeaders: 'authorization', ...over })

describe('a preflight (Fetch §3.2.2: OPTIONS with Origin and Access-Control-Request-Method)', () => {
  test('from a listed origin for a listed method and headers: the origin echoed, methods and headers listed, Vary: Origin', () => {
    const v = decideCors(policy({ maxAge: 600 }), preflight({ requestHeaders: 'authorization,content-type' }))
    assert.equal(v.preflight, true)
    assert.ok(v.preflight && v.allowed)
    assert.equal(v.headers['access-control-allow-origin'], APP)
    // The browser checks that the requested method and each requested header are in these lists (Fetch §4.8 steps 6–7).
    const methods = (v.headers['access-control-allow-methods'] ?? '').split(',').map((m) => m.trim())
    assert.ok(methods.includes('DELETE'))
    const headers = (v.headers['access-control-allow-headers'] ?? '').split(',').map((h) => h.trim().toLowerCase())
    assert.ok(headers.includes('authorization') && headers.includes('content-type'))
    assert.equal(v.headers['access-control-max-age'], '600')
    assert.equal(v.headers.vary, 'Origin')
    // credentials off: no Access-Control-Allow-Credentials at all (only the value "true" is meaningful).
    assert.equal(v.headers['access-control-allow-credentials'], undefined)
  })

  test('header names are compared case-insensitively (browsers send them lowercase, configs name them Title-Case)', () => {
    const v = decideCors(policy(), preflight({ requestHeaders: 'Authorization, CONTENT-TYPE' }))
    assert.ok(v.preflight && v.allowed)
  })

  test('from an origin not listed: answered without Access-Control-Allow-Origin, which the browser refuses', () => {
    for (const origin of ['https://evil.example', 'http://app.example.com', 'https://app.example.com:8443', 'null', 'https://app.example.com.evil.example']) {
      const v = decideCors(policy(), preflight({ origin }))
      assert.ok(v.preflight && !v.allowed, origin)
      assert.equal(v.headers['access-control-allow-origin'], undefined, origin)
      assert.equal(v.headers['access-control-allow-methods'], undefined, origin)
    }
  })

  test('for a method not listed, or a header not listed: not allowed', () => {
    const put = decideCors(policy(), preflight({ requestMethod: 'PUT' }))
    assert.ok(put.preflight && !put.allowed)
    // Methods are case-sensitive (Fetch §2.2.1: only DELETE GET HEAD OPTIONS POST PUT are normalised by the browser).
    const patch = decideCors(policy({ methods: ['PATCH'] }), preflight({ requestMethod: 'patch' }))
    assert.ok(patch.preflight && !patch.allowed)
    const header = decideCors(policy(), preflight({ requestHeaders: 'authorization,x-api-key' }))
    assert.ok(header.preflight && !header.allowed)
    assert.equal(header.headers['access-control-allow-origin'], undefined)
  })

  test('with credentials: Access-Control-Allow-Credentials: true and the exact origin, never *', () => {
    const v = decideCors(policy({ credentials: true }), preflight())
    assert.ok(v.preflight && v.allowed)
    assert.equal(v.headers['access-control-allow-credentials'], 'true')
    assert.equal(v.headers['access-control-allow-origin'], APP)
  })

  test('with origins ["*"]: Access-Control-Allow-Origin: * for any origin, and no Vary (the answer does not depend on it)', () => {
    const v = decideCors(policy({ origins: ['*'] }), preflight({ origin: 'https://anyone.example' }))
    assert.ok(v.preflight && v.allowed)
    assert.equal(v.headers['access-control-allow-origin'], '*')
    assert.equal(v.headers.vary, undefined)
  })

  test('OPTIONS without Access-Control-Request-Method, or without Origin, is not a preflight', () => {
    assert.equal(decideCors(policy(), preflight({ requestMethod: undefined })).preflight, false)
    assert.equal(decideCors(policy(), preflight({ origin: undefined })).preflight, false)
    // A GET that carries Access-Control-Request-Method is not one either: only OPTIONS is.
    assert.equal(decideCors(policy(), preflight({ method: 'GET' })).preflight, false)
  })
})

describe('an actual request (Fetch §3.2.3: the response must name the origin)', () => {
  test('from a listed origin: Access-Control-Allow-Origin with the origin, Expose-Headers, Vary: Origin; no method or header lists', () => {
    const v = decideCors(policy({ exposeHeaders: ['X-Request-Id', 'WWW-Authenticate'] }), { method: 'GET', origin: APP, requestMethod: undefined, requestHeaders: undefined })
    assert.equal(v.preflight, false)
    assert.equal(v.headers['access-control-allow-origin'], APP)
    assert.equal(v.headers['access-control-expose-headers'], 'X-Request-Id, WWW-Authenticate')
    assert.equal(v.headers.vary, 'Origin')
    assert.equal(v.headers['access-control-allow-methods'], undefined)
  })

  test('from another origin, or with no Origin: only Vary: Origin, so a cache never serves one origin\'s answer to another', () => {
    for (const origin of ['https://evil.example', undefined]) {
      const v = decideCors(policy(), { method: 'GET', origin, requestMethod: undefined, requestHeaders: undefined })
      assert.deepEqual({ ...v.headers }, { vary: 'Origin' })
    }
  })
})

describe('withCorsHeaders: an upstream answer with the policy in charge', () => {
  const cors = { 'access-control-allow-origin': APP, vary: 'Origin' }
  test("the upstream's own Access-Control-* headers are replaced by the policy's", () => {
    const out = withCorsHeaders(['content-type', 'text/plain', 'access-control-allow-origin', '*', 'access-control-allow-credentials', 'true'], cors)
    assert.deepEqual(pairs(out), [['content-type', 'text/plain'], ['access-control-allow-origin', APP], ['vary', 'Origin']])
  })

  test("Origin joins the upstream's Vary; Vary: * stays *", () => {
    assert.deepEqual(pairs(withCorsHeaders(['vary', 'Accept-Encoding'], cors)).at(-1), ['vary', 'Accept-Encoding, Origin'])
    assert.deepEqual(pairs(withCorsHeaders(['vary', '*'], cors)).at(-1), ['vary', '*'])
  })
})

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string])
  return out
}

describe('CORS at the edges (issue 19, mutation testing)', () => {
  const actual = (origin: string | undefined): CorsAsk => ({ method: 'GET', origin, requestMethod: undefined, requestHeaders: undefined })

  test('a refused preflight says why (for the log): origin, then method, then header', () => {
    const detail = (ask: Partial<CorsAsk>) => {
      const v = decideCors(policy(), preflight(ask))
      assert.ok(v.preflight && !v.allowed)
      return v.detail
    }
    assert.equal(detail({ origin: 'https://evil.example', requestMethod: 'PUT' }), 'the origin is not in cors.origins')
    assert.equal(detail({ requestMethod: 'PUT', requestHeaders: 'x-api-key' }), 'the method is not in cors.methods')
    assert.equal(detail({ requestHeaders: 'x-api-key' }), 'a requested header is not in cors.headers')
  })

  test('an allowed preflight says so (for the log)', () => {
    const v = decideCors(policy(), preflight())
    assert.ok(v.preflight && v.allowed)
    assert.equal(v.detail, 'preflight allowed')
  })

  test('a preflight naming no headers, or only empty list elements, asks for none', () => {
    for (const requestHeaders of [undefined, '', ' , ,', 'authorization,,']) {
      const v = decideCors(policy(), preflight({ requestHeaders }))
      assert.ok(v.preflight && v.allowed, JSON.stringify(requestHeaders))
    }
  })

  test('an allowed preflight lists only what is configured: no Allow-Headers without headers, no Max-Age without maxAge', () => {
    const v = decideCors(policy({ headers: [] }), preflight({ requestHeaders: undefined }))
    assert.ok(v.preflight && v.allowed)
    assert.deepEqual({ ...v.headers }, { vary: 'Origin', 'access-control-allow-origin': APP, 'access-control-allow-methods': 'GET, POST, DELETE' })
  })

  test('an actual request: exactly the origin and Vary without exposeHeaders; Allow-Credentials with credentials', () => {
    assert.deepEqual({ ...decideCors(policy(), actual(APP)).headers }, { vary: 'Origin', 'access-control-allow-origin': APP })
    assert.deepEqual({ ...decideCors(policy({ credentials: true }), actual(APP)).headers }, { vary: 'Origin', 'access-control-allow-origin': APP, 'access-control-allow-credentials': 'true' })
    // With `*`, a request without Origin gets nothing at all.
    assert.deepEqual({ ...decideCors(policy({ origins: ['*'] }), actual(undefined)).headers }, {})
    assert.deepEqual({ ...decideCors(policy({ origins: ['*'] }), actual('https://x.example')).headers }, { 'access-control-allow-origin': '*' })
  })

  test("withCorsHeaders: the upstream's Vary lines are joined; an empty Vary becomes Origin; no Vary line unless there is one", () => {
    const cors = { 'access-control-allow-origin': APP, vary: 'Origin' }
    assert.deepEqual(pairs(withCorsHeaders(['vary', 'Accept', 'x-a', '1', 'vary', 'Cookie'], cors)), [['x-a', '1'], ['access-control-allow-origin', APP], ['vary', 'Accept, Cookie, Origin']])
    assert.deepEqual(pairs(withCorsHeaders(['vary', '  '], cors)).at(-1), ['vary', 'Origin'])
    assert.deepEqual(pairs(withCorsHeaders(['vary', '* '], cors)).at(-1), ['vary', '* '])
    assert.deepEqual(pairs(withCorsHeaders(['x-a', '1'], { 'access-control-allow-origin': '*' })), [['x-a', '1'], ['access-control-allow-origin', '*']])
    assert.deepEqual(pairs(withCorsHeaders(['vary', 'Accept'], {})), [['vary', 'Accept']])
  })
})
