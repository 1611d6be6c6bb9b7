// The traffic port's listener: node:http or https with the limits of SPEC §3.8,
// requests and upgrades handed to proxy-app.ts, what node's parser refuses
// answered with the catalogue's wire_* rows, certificate rotation, and the drain.
import { readFileSync, unwatchFile, watchFile } from 'node:fs'
import type { Server, ServerOptions } from 'node:http'
import { http } from '../net/node-http.js'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { parseHostPort } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { answer } from '../outcome/answer.js'
import type { WireCode } from '../outcome/catalogue.js'
import type { Logger } from '../telemetry/logger.js'
import { writeAnswer } from './problem.js'
import type { createProxyHandlers } from './proxy-app.js'

export interface TrafficServer {
  readonly server: Server
  /** The limits a reload may change. */
  configure(c: Config): void
  /** Binds config.listen, then watches the TLS files. */
  listen(): Promise<void>
  /** `http://host:port` (or https) of the bound socket. */
  url(): string
  /** Stops accepting, lets in-flight requests finish for at most graceMs, then closes every connection. */
  drain(graceMs: number): Promise<void>
}

/** Throws when the TLS files cannot be read. */
export function createTrafficServer(config: Config, handlers: ReturnType<typeof createProxyHandlers>, logger: Logger): TrafficServer {
  const options = serverOptionsOf(config)
  const server = config.tls
    ? https.createServer({ ...options, cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) })
    : http.createServer(options)
  configureServer(server, config)
  server.on('request', (req, res) => void handlers.onRequest(req, res))
  server.on('checkContinue', (req, res) => void handlers.onRequest(req, res))
  server.on('upgrade', (req, socket, head) => void handlers.onUpgrade(req, socket, head))
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Malformed requests (smuggling attempts, bad headers), slow ones: answer and close.
    if (socket.writable && err.code !== 'ECONNRESET') {
      writeAnswer(socket, answer(CLIENT_ERROR_OUTCOME[err.code ?? ''] ?? 'wire_malformed', { close: true }))
    } else socket.destroy()
  })
  // CONNECT would open a tunnel past the pipeline: 405 like TRACE (SPEC §3.8).
  server.on('connect', (_req, socket: Duplex) => {
    socket.on('error', () => socket.destroy())
    writeAnswer(socket, answer('wire_connect', { close: true }))
  })
  let stopTlsWatch = () => {}
  const proto = config.tls ? 'https' : 'http'

  return {
    server,
    configure: (c) => configureServer(server, c),
    async listen() {
      await listen(server, config.listen)
      if (config.tls) stopTlsWatch = watchTls(server as https.Server, config.tls, logger)
    },
    url: () => `${proto}://${urlHost(server.address() as AddressInfo)}`,
    async drain(graceMs) {
      stopTlsWatch()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      // close() ends only the connections idle at this moment: a keep-alive connection
      // whose request finishes during the drain would hold the exit until it timed out.
      const idle = setInterval(() => server.closeIdleConnections(), 100)
      const timer = setTimeout(() => server.closeAllConnections(), graceMs)
      await closed
      clearInterval(idle)
      clearTimeout(timer)
    },
  }
}

// What node's own clientError handler would answer; anything else is wire_malformed.
const CLIENT_ERROR_OUTCOME: Readonly<Record<string, WireCode>> = {
  HPE_HEADER_OVERFLOW: 'wire_headers_too_large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'wire_chunk_extensions_too_large',
  ERR_HTTP_REQUEST_TIMEOUT: 'wire_request_timeout',
}

/** Options only createServer takes: changing them needs a restart. */
function serverOptionsOf(c: Config): ServerOptions {
  return {
    maxHeaderSize: c.limits.maxHeaderBytes,
    // node checks the header and request timeouts only this often (default 30 s,
    // which would let a slowloris client outlive headersTimeout by that much).
    connectionsCheckingInterval: Math.min(1000, Math.ceil(c.limits.headersTimeoutMs / 4)),
  }
}

function configureServer(server: Server, c: Config): void {
  // Slow clients are cut off (attack #99); node's defaults are 60 s / 300 s.
  server.headersTimeout = c.limits.headersTimeoutMs
  // node requires requestTimeout ≥ headersTimeout (0 would mean none).
  server.requestTimeout = Math.max(c.limits.requestTimeoutMs, c.limits.headersTimeoutMs)
  server.keepAliveTimeout = 5_000
  // One more than the limit, so that decide() can tell "too many" from "exactly enough".
  server.maxHeadersCount = c.limits.maxHeaderCount + 1
  server.maxConnections = c.limits.maxConnections
}

/** TLS files are re-read when they change, for certificate rotation without a restart; returns the unwatch. */
function watchTls(server: https.Server, files: { certFile: string; keyFile: string }, logger: Logger): () => void {
  const onChange = () => {
    try {
      server.setSecureContext({ cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) })
      logger.info('TLS certificate reloaded')
    } catch (err) {
      logger.error({ code: (err as NodeJS.ErrnoException).code }, 'TLS reload failed; keeping the running certificate')
    }
  }
  for (const f of [files.certFile, files.keyFile]) watchFile(f, { interval: 1000, persistent: false }, onChange)
  return () => {
    for (const f of [files.certFile, files.keyFile]) unwatchFile(f, onChange)
  }
}

export function listen(server: Server, hostPort: string): Promise<void> {
  const hp = parseHostPort(hostPort) as { host: string; port: number }
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(hp.port, hp.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

export function urlHost(a: AddressInfo): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`
}
