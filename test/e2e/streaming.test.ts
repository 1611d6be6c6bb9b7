// SPEC §3.8 "streaming both bodies", through a real `serve` child process: 50 MB up
// and 50 MB down arrive whole (byte count and SHA-256 at the far end); the child's
// peak RSS stays far below the body size; a stalled reader on either side stalls
// the writer on the other (backpressure), which is what "never buffered whole"
// means; HEAD and query strings pass through unchanged.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { stringify } from 'yaml'
import { pollUntil, serveConfig, startServe, type ServeProcess } from '../support/gatehouse-process.js'
import { makeKeyPair, mintJwt } from '../support/mint.js'

const MB = 1024 * 1024
const SIZE = 50 * MB
// The stall tests use a body larger than everything the kernel may hold in flight
// between three loopback sockets (send buffers up to 4 MB, receive buffers autotuned
// up to net.ipv4.tcp_rmem's maximum, 32 MB here): what passes a stalled reader
// beyond that can only be buffered in a process.
const STALL_SIZE = 128 * MB
const STALL_BOUND = 96 * MB
const CHUNK = 64 * 1024

/** Chunk n of a generated body: distinct per index, so a lost or reordered chunk changes the hash. */
function chunkAt(n: number, length = CHUNK): Buffer {
  const b = Buffer.alloc(length, n % 251)
  if (length >= 4) b.writeUInt32BE(n, 0)
  return b
}

/** SHA-256 of the first `size` bytes of the generated body, computed piecewise. */
function generatedDigest(size: number): string {
  const h = createHash('sha256')
  for (let n = 0, left = size; left > 0; n++, left -= CHUNK) h.update(chunkAt(n, Math.min(CHUNK, left)))
  return h.digest('hex')
}

/** Writes the generated body into `out` with backpressure; `progress` sees the bytes accepted so far. */
function pump(out: NodeJS.WritableStream, size: number, progress: (bytes: number) => void = () => {}): void {
  let n = 0
  let written = 0
  const more = () => {
    while (written < size) {
      const c = chunkAt(n++, Math.min(CHUNK, size - written))
      written += c.length
      progress(written)
      if (!out.write(c)) return void out.once('drain', more)
    }
    out.end()
  }
  more()
}

interface Upload {
  bytes: number
  hash: string
}

// The upstream: hashes uploads, serves the generated download, and on /files/stall*
// stops reading (upload) or watches how far its writes get (download).
const seen: { method: string; url: string }[] = []
const uploads: Upload[] = []
let stalledUpload: { received: number; release: () => void } | null = null
let downloadWritten = 0
// A function, not `stalledUpload?.release()` at the call site: TypeScript would narrow the variable to null there.
const releaseStalledUpload = () => stalledUpload?.release()
const upstream = http.createServer((req, res) => {
  seen.push({ method: req.method ?? '', url: req.url ?? '' })
  const url = req.url ?? ''
  if (req.method === 'POST') {
    const hash = createHash('sha256')
    let bytes = 0
    const stall = url.startsWith('/files/stall')
    let held = stall
    const state = {
      received: 0,
      release: () => {
        held = false
        req.resume()
      },
    }
    if (stall) stalledUpload = state
    req.on('data', (c: Buffer) => {
      hash.update(c)
      bytes += c.length
      state.received = bytes
      if (held && bytes >= MB) req.pause() // until release()
    })
    req.on('end', () => {
      const u = { bytes, hash: hash.digest('hex') }
      uploads.push(u)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(u))
    })
    return
  }
  if (url.startsWith('/files/big.bin')) {
    const size = url.includes('stall') ? STALL_SIZE : SIZE
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size })
    if (req.method === 'HEAD') return void res.end()
    downloadWritten = 0
    pump(res, size, (b) => (downloadWritten = b))
    return
  }
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ method: req.method, url }))
})

let dir: string
let gh: ServeProcess
let auth: Record<string, string>

/** VmRSS or VmHWM (peak) of a process, in bytes (Linux). */
function memory(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  assert.ok(m, `${field} in /proc/${pid}/status`)
  return Number(m[1]) * 1024
}

/** Starts a fresh peak (Linux ≥ 4.0: writing 5 to clear_refs resets VmHWM); returns the RSS now. */
function resetPeak(pid: number): number {
  writeFileSync(`/proc/${pid}/clear_refs`, '5')
  return memory(pid, 'VmRSS')
}

/** The value once it has not changed for 300 ms (checked for at most 5 s), or null if it never settles. */
async function settled(value: () => number): Promise<number | null> {
  let last = value()
  for (let i = 0; i < 16; i++) {
    await new Promise((r) => setTimeout(r, 300))
    if (value() === last) return last
    last = value()
  }
  return null
}

function post(pathname: string, size: number, progress?: (bytes: number) => void): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(gh.proxyUrl + pathname)
    // No content-length: chunked, so nothing can size a buffer from a header.
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream' } },
      (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        res.on('error', reject)
      },
    )
    req.setTimeout(20_000, () => req.destroy(new Error('upload timed out')))
    req.on('error', reject)
    pump(req, size, progress)
  })
}

/** GETs the download, hashing it; `pauseAfter` bytes in, stops reading until `resume` resolves. */
async function download(pathname: string, pauseAfter = Infinity, resume: () => Promise<void> = async () => {}): Promise<{ status: number; bytes: number; hash: string; length: string | null }> {
  const res = await fetch(gh.proxyUrl + pathname, { headers: auth, signal: AbortSignal.timeout(20_000) })
  const hash = createHash('sha256')
  let bytes = 0
  let paused = false
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk)
    bytes += chunk.length
    if (!paused && bytes >= pauseAfter) {
      paused = true
      await resume()
    }
  }
  return { status: res.status, bytes, hash: hash.digest('hex'), length: res.headers.get('content-length') }
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-streaming-'))
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()))
  const rsa = await makeKeyPair('RS256', 'rsa-1')
  await writeFile(path.join(dir, 'idp.pub'), rsa.publicPem)
  const configFile = path.join(dir, 'gatehouse.yaml')
  await writeFile(
    configFile,
    stringify(
      serveConfig({
        upstream: { url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, timeoutMs: 10_000 },
        // Bodies far past limits.maxBodyBytes (10 MiB): this API takes up to 1 GiB.
        apis: [{ name: 'files', prefixes: ['/files'], maxBodyBytes: 1024 * MB }],
        jwt: { issuers: [{ issuer: 'test-idp', publicKeyFile: './idp.pub', algorithms: ['RS256'] }] },
      }),
    ),
  )
  const now = Math.floor(Date.now() / 1000)
  auth = { authorization: `Bearer ${await mintJwt({ iss: 'test-idp', sub: 'alice', exp: now + 600, permissions: { files: 'rw' } }, rsa)}` }
  gh = await startServe(['--config', configFile])
  // One transfer each way first: V8 frees dead Buffers only under "external memory
  // pressure" (tens of MB), so the first transfers grow the heap and the allocator
  // to their working size whether or not anything is buffered. Measure after that.
  assert.equal((await post('/files/warm-up', SIZE)).status, 200)
  assert.equal((await download('/files/big.bin')).bytes, SIZE)
})

after(async () => {
  await gh?.stop()
  upstream.closeAllConnections()
  await new Promise((resolve) => upstream.close(resolve))
  await rm(dir, { recursive: true, force: true })
})

describe('50 MB through a serve process (SPEC §3.8)', () => {
  test('a 50 MB upload reaches the upstream whole, within 40 MB of peak RSS', { timeout: 30_000 }, async () => {
    const rest = resetPeak(gh.pid)
    const res = await post('/files/upload', SIZE)
    const peak = memory(gh.pid, 'VmHWM')
    assert.equal(res.status, 200, res.body)
    const got = JSON.parse(res.body) as Upload
    assert.equal(got.bytes, SIZE)
    assert.equal(got.hash, generatedDigest(SIZE), 'the same bytes, in the same order')
    assert.ok(peak < rest + 40 * MB, `peak RSS ${Math.round(peak / MB)} MB vs ${Math.round(rest / MB)} MB at rest`)
  })

  test('a 50 MB download arrives whole, within 40 MB of peak RSS', { timeout: 30_000 }, async () => {
    const rest = resetPeak(gh.pid)
    const got = await download('/files/big.bin')
    const peak = memory(gh.pid, 'VmHWM')
    assert.equal(got.status, 200)
    assert.equal(got.length, String(SIZE))
    assert.equal(got.bytes, SIZE)
    assert.equal(got.hash, generatedDigest(SIZE))
    assert.ok(peak < rest + 40 * MB, `peak RSS ${Math.round(peak / MB)} MB vs ${Math.round(rest / MB)} MB at rest`)
  })

  test('an upstream that stops reading stops the client sending (no upload buffered whole)', { timeout: 30_000 }, async () => {
    stalledUpload = null
    let sent = 0
    const done = post('/files/stall-up', STALL_SIZE, (b) => (sent = b))
    assert.ok((await pollUntil(async () => (stalledUpload?.received ?? 0) >= MB, 5000)) !== null, 'the upstream got the first MB')
    // Let the pipes fill: whatever the client could still send now sits in buffers.
    const accepted = await settled(() => sent)
    assert.ok(accepted !== null, 'the client is stalled')
    assert.ok(accepted < STALL_BOUND, `${Math.round(accepted / MB)} MB of ${STALL_SIZE / MB} MB left the client`)
    releaseStalledUpload()
    const res = await done
    assert.equal(res.status, 200)
    assert.equal((JSON.parse(res.body) as Upload).hash, generatedDigest(STALL_SIZE), 'and the stall lost nothing')
  })

  test('a client that stops reading stops the upstream sending (no download buffered whole)', { timeout: 30_000 }, async () => {
    let accepted: number | null = null
    const got = await download('/files/big.bin?stall', MB, async () => {
      accepted = await settled(() => downloadWritten)
    })
    assert.ok(accepted !== null, 'the upstream is stalled')
    assert.ok(accepted < STALL_BOUND, `${Math.round(accepted / MB)} MB of ${STALL_SIZE / MB} MB left the upstream`)
    assert.equal(got.bytes, STALL_SIZE)
    assert.equal(got.hash, generatedDigest(STALL_SIZE), 'and the stall lost nothing')
  })

  test('HEAD passes through with the upstream headers and no body', { timeout: 10_000 }, async () => {
    const t0 = performance.now()
    const res = await fetch(`${gh.proxyUrl}/files/big.bin?v=2`, { method: 'HEAD', headers: auth, signal: AbortSignal.timeout(5000) })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-length'), String(SIZE), 'the length of the GET body, unchanged')
    assert.equal((await res.arrayBuffer()).byteLength, 0)
    assert.ok(performance.now() - t0 < 2000, 'no wait for a body that HEAD never has')
    assert.deepEqual(seen.at(-1), { method: 'HEAD', url: '/files/big.bin?v=2' })
  })

  test('the query string reaches the upstream byte for byte', { timeout: 10_000 }, async () => {
    const query = '?q=a%20b&x=1&x=2&empty=&flag&enc=%2F%3F%26&plus=a+b&utf=%C3%A9&dots=/../x'
    const res = await fetch(`${gh.proxyUrl}/files/search${query}`, { headers: auth, signal: AbortSignal.timeout(5000) })
    assert.equal(res.status, 200)
    assert.equal((JSON.parse(await res.text()) as { url: string }).url, `/files/search${query}`)
  })
})
