// The benchmark's upstream: a minimal node:http server that reads any request
// body to its end and answers a small JSON body with Content-Length, on
// keep-alive. Started by proxy.bench.ts on the load generator's core; prints
// {"port": N} once listening and exits on SIGTERM.
import http from 'node:http'
import { serveOnLoopback } from './lib/serve.js'

const BODY = Buffer.from('{"ok":true}')
const HEADERS = { 'content-type': 'application/json', 'content-length': String(BODY.length) }

const server = http.createServer((req, res) => {
  req.on('end', () => {
    res.writeHead(200, HEADERS)
    res.end(BODY)
  })
  req.resume()
})
server.keepAliveTimeout = 120_000
server.headersTimeout = 125_000
server.requestTimeout = 0
server.maxHeadersCount = 0

serveOnLoopback(server, Number(process.env.BENCH_UPSTREAM_PORT ?? 0))
