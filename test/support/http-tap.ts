// A recording hop between a front proxy and Gatehouse: it forwards every request
// unchanged (raw header lines, body streamed) and notes what the front proxy sent,
// so a test can show what reached the decision endpoint (its method, headers, and
// that no body ever did).
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface TappedRequest {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly bodyBytes: number
}

export interface HttpTap {
  readonly port: number
  readonly requests: TappedRequest[]
  close(): Promise<void>
}

export async function startHttpTap(targetPort: number): Promise<HttpTap> {
  const requests: TappedRequest[] = []
  const server = http.createServer((req, res) => {
    let bodyBytes = 0
    const out = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: endToEnd(req.rawHeaders), agent: false }, (up) => {
      res.writeHead(up.statusCode ?? 502, endToEnd(up.rawHeaders))
      up.pipe(res)
    })
    out.on('error', () => res.destroy())
    req.on('data', (c: Buffer) => (bodyBytes += c.length))
    req.on('end', () => requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes }))
    req.pipe(out)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** The raw header list without the per-connection ones (each hop frames its own). */
function endToEnd(raw: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    if (!/^(connection|keep-alive|transfer-encoding)$/i.test(raw[i] as string)) out.push(raw[i] as string, raw[i + 1] as string)
  }
  return out
}
