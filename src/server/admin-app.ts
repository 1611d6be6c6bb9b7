// The admin port (SPEC §7): /metrics, /healthz, /readyz. A separate listener, so
// none of it is ever reachable through the proxy port.
import Fastify, { type FastifyInstance } from 'fastify'
import type { Metrics } from '../telemetry/metrics.js'

export interface AdminDeps {
  readonly metrics: Metrics
  /** Config, keys and store loaded, and the store answers. */
  ready(): Promise<boolean>
}

export function createAdminApp(deps: AdminDeps): FastifyInstance {
  const app = Fastify({ logger: false })
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType)
    return deps.metrics.registry.metrics()
  })
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    const ready = await deps.ready().catch(() => false)
    reply.code(ready ? 200 : 503)
    return { status: ready ? 'ready' : 'not ready' }
  })
  return app
}
