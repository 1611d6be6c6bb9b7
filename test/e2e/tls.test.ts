// TLS on both sides (SPEC §2): serving HTTPS on `listen` with files re-read on
// change, and an https:// upstream trusted through `upstream.caFile`.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import { after, before, test } from 'node:test'
import { Agent, request } from 'undici'
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js'
import { startTestGatehouse } from '../support/gatehouse.js'

const work = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-tls-'))

/** A fresh self-signed certificate for 127.0.0.1 / localhost, made with the system openssl. */
function makeCert(name: string): { cert: string; key: string; certPem: string } {
  const cert = path.join(work, `${name}.crt`)
  const key = path.join(work, `${name}.key`)
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' })
  return { cert, key, certPem: readFileSync(cert, 'utf8') }
}

let upstream: RecordingUpstream
before(async () => {
  upstream = await startRecordingUpstream()
})
after(async () => {
  await upstream.close()
  rmSync(work, { recursive: true, force: true })
})

test('serves HTTPS on listen and tells the upstream the proto was https', async () => {
  const c = makeCert('front')
  const gh = await startTestGatehouse({
    tls: { certFile: c.cert, keyFile: c.key },
    upstream: { url: upstream.url },
    apis: [{ name: 'open', prefixes: ['/'], public: true }],
  })
  const agent = new Agent({ connect: { ca: c.certPem } })
  try {
    assert.match(gh.url, /^https:/)
    const res = await request(`${gh.url}/hello`, { dispatcher: agent })
    assert.equal(res.statusCode, 200)
    await res.body.text()
    assert.equal(upstream.requests.at(-1)!.headers['x-forwarded-proto'], 'https')
  } finally {
    await agent.close()
    await gh.close()
  }
})

test('a replaced certificate is served to new connections without a restart', async () => {
  const c = makeCert('first')
  const gh = await startTestGatehouse({
    tls: { certFile: c.cert, keyFile: c.key },
    upstream: { url: upstream.url },
    apis: [{ name: 'open', prefixes: ['/'], public: true }],
  })
  const port = Number(new URL(gh.url).port)
  const subject = () =>
    new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        resolve(String(s.getPeerCertificate().subject?.CN))
        s.end()
      })
      s.on('error', reject)
    })
  try {
    assert.equal(await subject(), 'first')
    const next = makeCert('second')
    // Overwrite the configured files in place, as a cert-manager secret update does.
    execFileSync('cp', [next.cert, c.cert])
    execFileSync('cp', [next.key, c.key])
    let cn = ''
    for (let i = 0; i < 60 && cn !== 'second'; i++) {
      await new Promise((r) => setTimeout(r, 100))
      cn = await subject()
    }
    assert.equal(cn, 'second')
  } finally {
    await gh.close()
  }
})

test('an https upstream is trusted through caFile, and refused (502) without it', async () => {
  const c = makeCert('upstream')
  const server = https.createServer({ cert: readFileSync(c.cert), key: readFileSync(c.key) }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('secure upstream')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  const trusted = await startTestGatehouse({ upstream: { url, caFile: c.cert }, apis: [{ name: 'open', prefixes: ['/'], public: true }] })
  const untrusted = await startTestGatehouse({ upstream: { url }, apis: [{ name: 'open', prefixes: ['/'], public: true }] })
  try {
    const ok = await fetch(`${trusted.url}/x`)
    assert.equal(ok.status, 200)
    assert.equal(await ok.text(), 'secure upstream')
    assert.equal((await fetch(`${untrusted.url}/x`)).status, 502)
  } finally {
    await trusted.close()
    await untrusted.close()
    server.closeAllConnections()
    server.close()
  }
})
