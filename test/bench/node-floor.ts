// The floor of any Node.js proxy on this machine: node:http in, undici
// Pool.dispatch out, the response streamed back. No path check, no
// authentication, no header cleaning, no log, no metrics. The bench's
// `node-floor` scenario runs it exactly like Gatehouse (same core, same load),
// so "Gatehouse public ÷ node-floor" is what the whole pipeline costs, and
// "node-floor ÷ HAProxy" what Node itself costs.
// Env: UPSTREAM_URL, PORT (default: any free one); prints {"port": N} once listening on 127.0.0.1.
import http from 'node:http'
import { Pool, type Dispatcher } from 'undici'
import { HOP_BY_HOP } from '../../src/server/upstream-exchange.js'
import { serveOnLoopback } from './lib/serve.js'

const pool = new Pool(process.env.UPSTREAM_URL ?? '', { connections: 128, pipelining: 1 })

const server = http.createServer((req, res) => {
  pool.dispatch(
    { method: req.method as Dispatcher.HttpMethod, path: req.url ?? '/', headers: req.rawHeaders.filter((_, i, a) => !HOP_BY_HOP.has((a[i - (i % 2)] as string).toLowerCase())), body: null },
    {
      onRequestStart() {},
      onResponseStart(_c, status, headers) {
        const out: string[] = []
        for (const name in headers) if (!HOP_BY_HOP.has(name)) out.push(name, String(headers[name]))
        res.writeHead(status, out)
      },
      onResponseData(_c, chunk) {
        res.write(chunk)
      },
      onResponseEnd() {
        res.end()
      },
      onResponseError() {
        res.destroy()
      },
    },
  )
})
server.keepAliveTimeout = 5000
serveOnLoopback(server, Number(process.env.PORT ?? 0))
