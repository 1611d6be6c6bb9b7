// apis[].cors is checked at load (SPEC §2: every problem reported with its path):
// origins must be what a browser sends in Origin (RFC 6454 §6.2), and `*` cannot be
// combined with credentials (Fetch standard §3.2.5: the browser refuses that answer).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseConfigText } from '../../../src/config/load.js'

const api = (cors: string) => `apis:\n  - name: users\n    prefixes: [/api/users]\n    cors: ${cors}\n`
const parse = (yaml: string) => parseConfigText(yaml, '/nonexistent-dir/gatehouse.yaml', {})
const problemsOf = (yaml: string) => {
  const r = parse(yaml)
  assert.equal(r.ok, false, 'expected the config to be refused')
  return r.ok ? [] : r.problems
}

describe('apis[].cors', () => {
  test('exact origins take the defaults: the usual methods, Authorization and Content-Type, no credentials, no max age', () => {
    const r = parse(api('{ origins: [https://app.example.com, "http://localhost:5173"] }'))
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems))
    assert.deepEqual(r.value.config.apis[0]?.cors, {
      origins: ['https://app.example.com', 'http://localhost:5173'],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      headers: ['Authorization', 'Content-Type'],
      exposeHeaders: [],
      credentials: false,
    })
  })

  test('"*" with credentials: true is refused with a message that says why and what to write instead', () => {
    const p = problemsOf(api('{ origins: ["*"], credentials: true }'))
    assert.equal(p.length, 1)
    assert.equal(p[0]?.path, 'apis[0].cors.origins')
    assert.match(p[0]?.message ?? '', /"\*" cannot be used with credentials/)
    assert.match(p[0]?.message ?? '', /list the exact origins/)
    // Without credentials "*" is a valid policy.
    assert.ok(parse(api('{ origins: ["*"] }')).ok)
  })

  test('an origin that is not scheme://host[:port] as browsers send it is refused, naming the form to write', () => {
    const cases: [string, RegExp][] = [
      ['https://app.example.com/', /write "https:\/\/app\.example\.com"/],
      ['https://app.example.com/path', /write "https:\/\/app\.example\.com"/],
      ['https://App.Example.com', /write "https:\/\/app\.example\.com"/],
      ['https://app.example.com:443', /write "https:\/\/app\.example\.com"/],
      ['app.example.com', /scheme:\/\/host\[:port\]/],
      ['null', /scheme:\/\/host\[:port\]/],
      ['ftp://files.example.com', /http or https/],
      ['https://*.example.com', /scheme:\/\/host\[:port\]/],
    ]
    for (const [origin, message] of cases) {
      const p = problemsOf(api(`{ origins: ["${origin}"] }`))
      assert.equal(p[0]?.path, 'apis[0].cors.origins[0]', origin)
      assert.match(p[0]?.message ?? '', message, origin)
    }
  })

  test('"*" among headers or exposeHeaders, or beside other origins, is refused; unknown fields too', () => {
    assert.deepEqual(problemsOf(api('{ origins: [https://a.example], headers: ["*"] }')).map((p) => p.path), ['apis[0].cors.headers'])
    assert.deepEqual(problemsOf(api('{ origins: [https://a.example], exposeHeaders: ["*"] }')).map((p) => p.path), ['apis[0].cors.exposeHeaders'])
    assert.deepEqual(problemsOf(api('{ origins: ["*", https://a.example] }')).map((p) => p.path), ['apis[0].cors.origins'])
    assert.deepEqual(problemsOf(api('{ origins: [https://a.example], allowOrigin: x }')).map((p) => p.path), ['apis[0].cors.allowOrigin'])
    assert.deepEqual(problemsOf(api('{ origins: [] }')).map((p) => p.path), ['apis[0].cors.origins'])
  })
})
