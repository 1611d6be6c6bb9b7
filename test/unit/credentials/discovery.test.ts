// SPEC §12 discovery addresses and rules, against a loopback metadata server: the
// OpenID document first, the RFC 8414 document (well-known inserted before the
// issuer's path) only when the first is not there, exact issuer equality, and a
// mismatching document never a reason to try the other one.
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { checkFetchUrl, discoverJwksUri, discoveryUrls } from '../../../src/credentials/discovery.js'

/** A document served as it is, with its status and headers; status 0: never answered. */
class Raw {
  constructor(
    readonly status: number,
    readonly body: string | Buffer,
    readonly headers: Record<string, string> = {},
  ) {}
}

let server: Server
let base: string
/** path -> JSON body served with 200; anything else is 404. */
let docs: Record<string, unknown> = {}
const asked: string[] = []
/** The accept and user-agent headers of the last request. */
let heard: [string | undefined, string | undefined] = [undefined, undefined]
/** Called once when the next request reaches the server. */
let onRequest: (() => void) | null = null
before(async () => {
  server = createServer((req, res) => {
    asked.push(req.url ?? '')
    onRequest?.()
    onRequest = null
    heard = [req.headers.accept, req.headers['user-agent']]
    const doc = docs[req.url ?? '']
    if (doc instanceof Raw) {
      if (doc.status !== 0) res.writeHead(doc.status, { 'content-type': 'application/json', ...doc.headers }).end(doc.body)
      return
    }
    res.writeHead(doc === undefined ? 404 : 200, { 'content-type': 'application/json' }).end(doc === undefined ? '' : JSON.stringify(doc))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(() => {
  server.closeAllConnections()
  return new Promise<void>((resolve) => server.close(() => resolve()))
})

const limits = { fetchTimeoutMs: 2000, maxBytes: 64 * 1024 }
const discover = (issuer: string) => discoverJwksUri(issuer, limits, new AbortController().signal)

test('the two addresses of an issuer with a path (SPEC §12, RFC 8414 §3.1)', () => {
  const [openid, rfc8414] = discoveryUrls(new URL('https://sso.example.com/realms/shop'))
  assert.equal(openid.href, 'https://sso.example.com/realms/shop/.well-known/openid-configuration')
  assert.equal(rfc8414.href, 'https://sso.example.com/.well-known/oauth-authorization-server/realms/shop')
  const [slash] = discoveryUrls(new URL('https://shop.eu.auth0.com/'))
  assert.equal(slash.href, 'https://shop.eu.auth0.com/.well-known/openid-configuration')
})

test('the OpenID document when it is there', async () => {
  const issuer = `${base}/realms/a`
  docs = { '/realms/a/.well-known/openid-configuration': { issuer, jwks_uri: `${base}/keys-a` } }
  assert.equal((await discover(issuer)).href, `${base}/keys-a`)
})

test('the RFC 8414 document when the OpenID one is not found', async () => {
  const issuer = `${base}/realms/b`
  docs = { '/.well-known/oauth-authorization-server/realms/b': { issuer, jwks_uri: `${base}/keys-b` } }
  assert.equal((await discover(issuer)).href, `${base}/keys-b`)
})

test('a document naming another issuer is an error, and the other document is not tried', async () => {
  const issuer = `${base}/realms/c`
  docs = {
    '/realms/c/.well-known/openid-configuration': { issuer: `${base}/realms/evil`, jwks_uri: `${base}/keys-evil` },
    '/.well-known/oauth-authorization-server/realms/c': { issuer, jwks_uri: `${base}/keys-c` },
  }
  asked.length = 0
  await assert.rejects(discover(issuer), /names "http:\/\/127\.0\.0\.1:\d+\/realms\/evil", not "http:\/\/127\.0\.0\.1:\d+\/realms\/c"/)
  assert.deepEqual(asked, ['/realms/c/.well-known/openid-configuration'])
})

test('a trailing slash is part of the issuer; a jwks_uri in clear text off loopback is refused', async () => {
  const issuer = `${base}/realms/d`
  docs = { '/realms/d/.well-known/openid-configuration': { issuer: `${issuer}/`, jwks_uri: `${base}/keys-d` } }
  await assert.rejects(discover(issuer), /mix-up/)
  docs = { '/realms/d/.well-known/openid-configuration': { issuer, jwks_uri: 'http://idp.example.com/keys' } }
  await assert.rejects(discover(issuer), /https/)
  docs = { '/realms/d/.well-known/openid-configuration': { issuer } }
  await assert.rejects(discover(issuer), /no jwks_uri/)
})

test('what the issuer\'s metadata must be: 200, JSON, an object, a string issuer and jwks_uri', async () => {
  const issuer = `${base}/realms/e`
  const at = '/realms/e/.well-known/openid-configuration'
  const cases: [unknown, string][] = [
    [new Raw(500, '{}'), 'discovery answered HTTP 500'],
    [new Raw(200, '{"issuer": '), 'discovery answered with a body that is not JSON'],
    [new Raw(200, '["x"]'), 'discovery document is not a JSON object'],
    [new Raw(200, 'null'), 'discovery document is not a JSON object'],
    [new Raw(200, '7'), 'discovery document is not a JSON object'],
    [new Raw(204, ''), 'discovery answered HTTP 204'],
    // Not UTF-8 (RFC 8259 §8.1): a decoder that replaced the byte would read an issuer.
    [new Raw(200, Buffer.concat([Buffer.from(`{"issuer":"${issuer}","jwks_uri":"${base}/k","x":"`), Buffer.from([0xff]), Buffer.from('"}')])), 'discovery answered with a body that is not JSON'],
    [{ issuer: 42, jwks_uri: `${base}/k` }, `discovery document names no issuer, not "${issuer}": refused (mix-up defence)`],
    [{ issuer: `${issuer}/${'x'.repeat(300)}` }, `discovery document names "${`${issuer}/${'x'.repeat(300)}`.slice(0, 200)}", not "${issuer}": refused (mix-up defence)`],
    [{ issuer, jwks_uri: 7 }, 'discovery document has no jwks_uri'],
    [{ issuer, jwks_uri: 'keys' }, 'the discovered jwks_uri is not a valid URL'],
  ]
  for (const [doc, message] of cases) {
    docs = { [at]: doc }
    await assert.rejects(discover(issuer), { message })
  }
  // A 404 for both documents: the RFC 8414 one was tried, and its 404 is the answer.
  docs = {}
  asked.length = 0
  await assert.rejects(discover(issuer), { message: '/.well-known/oauth-authorization-server/realms/e not found' })
  assert.deepEqual(asked, [at, '/.well-known/oauth-authorization-server/realms/e'])
  await assert.rejects(discover('http://example.com/realm'), { message: 'the issuer (with discovery) must use https:// (http:// only to a loopback host)' })
})

test('trailing slashes of the issuer path are not doubled into the addresses', () => {
  const [openid, rfc8414] = discoveryUrls(new URL('https://sso.example.com/realms/shop///'))
  assert.equal(openid.href, 'https://sso.example.com/realms/shop/.well-known/openid-configuration')
  assert.equal(rfc8414.href, 'https://sso.example.com/.well-known/oauth-authorization-server/realms/shop')
})

test('checkFetchUrl: https anywhere, http only to a loopback host, never credentials (WHATWG URL parsing)', () => {
  const href = (text: string) => {
    const r = checkFetchUrl(text, 'it')
    return typeof r === 'string' ? r : r.href
  }
  for (const ok of ['https://idp.example/jwks', 'http://localhost:8/k', 'http://[::1]/k', 'http://127.0.0.1/k', 'http://127.10.200.255:9/k', 'http://127.1/k']) {
    assert.equal(href(ok), new URL(ok).href, ok)
  }
  const clear = 'it must use https:// (http:// only to a loopback host)'
  for (const [text, message] of [
    ['http://127.0.0.1.nip.io/k', clear],
    ['http://127.0.0.1x/k', clear],
    ['http://128.0.0.1/k', clear],
    ['http://localhost.example/k', clear],
    ['http://mylocalhost/k', clear],
    ['http://[::2]/k', clear],
    ['ftp://localhost/k', clear],
    ['data:application/json,{}', clear],
    ['https://user@idp.example/k', 'it must not carry credentials'],
    ['https://:pw@idp.example/k', 'it must not carry credentials'],
    ['idp.example/k', 'it is not a valid URL'],
  ] as const) {
    assert.equal(href(text), message, text)
  }
})

test('the metadata request: JSON asked for, Gatehouse named, no redirect followed, a deadline and a stop', async () => {
  const issuer = `${base}/realms/f`
  const at = '/realms/f/.well-known/openid-configuration'
  docs = { [at]: { issuer, jwks_uri: `${base}/k` } }
  await discover(issuer)
  assert.deepEqual(heard, ['application/json', 'gatehouse'])

  docs = { [at]: new Raw(302, '', { location: `${base}/elsewhere` }), '/elsewhere': { issuer, jwks_uri: `${base}/k` } }
  await assert.rejects(discover(issuer), { message: 'fetch failed' })

  docs = { [at]: new Raw(0, '') }
  await assert.rejects(discoverJwksUri(issuer, { fetchTimeoutMs: 100, maxBytes: 1024 }, new AbortController().signal), { name: 'TimeoutError' })
  // Stopped while the server holds the request (not after a wall-clock wait).
  const stop = new AbortController()
  const arrived = new Promise<void>((resolve) => (onRequest = resolve))
  const stopped = discoverJwksUri(issuer, limits, stop.signal)
  await Promise.race([arrived, stopped.catch(() => {})])
  stop.abort()
  await assert.rejects(stopped, { name: 'AbortError' })
})
