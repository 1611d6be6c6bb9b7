// The admin port (SPEC §7): /metrics, /healthz, /readyz. A separate listener, so
// none of it is ever reachable through the proxy port. Plain node:http: three GET
// routes do not need Fastify, and a sidecar without `issuer:` then never loads it
// (memory and start-up, issue 17).
import type { Server } from 'node:http'
import { http } from '../net/node-http.js'
import type { AddressInfo } from 'node:net'
import type { Metrics } from '../telemetry/metrics.js'

export interface AdminDeps {
  readonly metrics: Metrics
  /** Config, keys and store loaded, and the store answers. */
  ready(): Promise<boolean>
}

export interface AdminApp {
  readonly server: Server
  listen(at: { host: string; port: number }): Promise<AddressInfo>
  close(): Promise<void>
}

type Answer = { status: number; type: string; body: string }

const json = (status: number, value: unknown): Answer => ({ status, type: 'application/json; charset=utf-8', body: JSON.stringify(value) })

async function answer(deps: AdminDeps, path: string): Promise<Answer> {
  switch (path) {
    case '/metrics':
      return { status: 200, type: deps.metrics.registry.contentType, body: await deps.metrics.registry.metrics() }
    case '/healthz':
      return json(200, { status: 'ok' })
    case '/readyz': {
      const ready = await deps.ready().catch(() => false)
      return json(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' })
    }
    default:
      return json(404, { status: 'not found' })
  }
}

export function createAdminApp(deps: AdminDeps): AdminApp {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] as string
    const head = req.method === 'HEAD'
    if (req.method !== 'GET' && !head) {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 }).end()
      return
    }
    answer(deps, path).then(
      (a) => {
        res.writeHead(a.status, { 'content-type': a.type, 'content-length': Buffer.byteLength(a.body) })
        res.end(head ? undefined : a.body)
      },
      () => {
        res.writeHead(500, { 'content-length': 0 }).end()
      },
    )
  })
  return {
    server,
    listen: ({ host, port }) =>
      new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          resolve(server.address() as AddressInfo)
        })
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
