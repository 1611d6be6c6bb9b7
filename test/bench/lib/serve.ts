// How the bench's own servers (upstream.ts, node-floor.ts) run: on 127.0.0.1,
// announcing {"port": N} on stdout once listening, gone on SIGTERM, SIGINT or
// when the bench that started them disconnects.
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export function serveOnLoopback(server: Server, port: number): void {
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
  })
  const stop = () => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
    setTimeout(() => process.exit(0), 1000).unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.on('disconnect', stop)
}
