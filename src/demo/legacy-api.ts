// The tiny "legacy API" bundled for the demo and the tests: it knows nothing of
// authentication and echoes what reached it, identity headers included.
import { http } from '../net/node-http.js'
import type { AddressInfo } from 'node:net'

export interface LegacyApi {
  readonly url: string
  close(): Promise<void>
}

export async function startLegacyApi(port = 0, host = '127.0.0.1'): Promise<LegacyApi> {
  const server = http.createServer((req, res) => {
    const auth: Record<string, string> = {}
    for (const [name, value] of Object.entries(req.headers)) {
      if (name.startsWith('x-auth-') && typeof value === 'string') auth[name] = value
    }
    let size = 0
    req.on('data', (chunk: Buffer) => (size += chunk.length))
    req.on('end', () => {
      const body = JSON.stringify({ api: 'legacy', method: req.method, path: req.url, receivedBytes: size, identity: auth }, null, 2)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(`${body}\n`)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const a = server.address() as AddressInfo
  return {
    url: `http://${host}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
