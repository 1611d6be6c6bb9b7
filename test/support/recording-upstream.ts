// A loopback upstream that records every request it receives: the "upstream saw
// nothing" assertion of every rejection test reads `requests`.
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly rawHeaders: readonly string[]
  readonly bodyBytes: number
}

export type Behaviour =
  /** `headers`: added to the answer (an upstream that sets its own X-Request-Id, say). */
  | { kind: 'echo'; headers?: Record<string, string> }
  /** Never answers (for the 504 test). */
  | { kind: 'silent' }
  /** Sends `bytes` of body, generated, without holding it in memory. */
  | { kind: 'download'; bytes: number }

export interface RecordingUpstream {
  readonly url: string
  readonly port: number
  readonly requests: SeenRequest[]
  /** Sockets currently open to the upstream (leak checks). */
  openSockets(): number
  /** Connections accepted since start (keep-alive checks). */
  connectionCount(): number
  /** Request-body bytes received since start, including requests that never completed (body-limit checks). */
  bytesReceived(): number
  readonly server: http.Server
  behave(b: Behaviour): void
  close(): Promise<void>
}

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const requests: SeenRequest[] = []
  let behaviour: Behaviour = { kind: 'echo' }
  const sockets = new Set<import('node:net').Socket>()
  let totalBytes = 0
  const server = http.createServer((req, res) => {
    let bodyBytes = 0
    req.on('data', (c: Buffer) => {
      bodyBytes += c.length
      totalBytes += c.length
    })
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes })
      const b = behaviour
      if (b.kind === 'silent') return
      if (b.kind === 'download') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': b.bytes })
        const chunk = Buffer.alloc(64 * 1024, 0x61)
        let left = b.bytes
        const pump = () => {
          while (left > 0) {
            const n = Math.min(left, chunk.length)
            left -= n
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump)
          }
          res.end()
        }
        pump()
        return
      }
      const body = JSON.stringify({ method: req.method, url: req.url, bodyBytes })
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'recording', ...(b.kind === 'echo' ? b.headers : {}) })
      res.end(req.method === 'HEAD' ? undefined : body)
    })
  })
  let connections = 0
  server.on('connection', (s) => {
    connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    openSockets: () => sockets.size,
    connectionCount: () => connections,
    bytesReceived: () => totalBytes,
    server,
    behave(b) {
      behaviour = b
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
