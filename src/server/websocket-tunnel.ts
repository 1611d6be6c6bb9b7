// Websocket upgrades on the traffic port. They are decided exactly like requests,
// then tunnelled to the upstream; an open tunnel is decided again every
// TUNNEL_RECHECK_MS and closed when its request would no longer be allowed (issue
// 12), idle or too old. Other upgrades (h2c…) are refused: every request must
// pass the pipeline on its own (attack #59).
import type { IncomingMessage } from 'node:http'
import { http } from '../net/node-http.js'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import type { Runtime } from '../runtime/compile.js'
import { decide, type RequestFacts } from '../pipeline/decide.js'
import type { Allowed } from '../pipeline/decision.js'
import { decisionForm } from '../pipeline/decision-request.js'
import { answer } from '../outcome/answer.js'
import { OUTCOMES } from '../outcome/catalogue.js'
import type { Logger } from '../telemetry/logger.js'
import { logRequest } from './access-log.js'
import { writeAnswer } from './problem.js'
import { decideSafely, factsOf, startRequest, upstreamHeaders, type ProxyDeps, type Started } from './traffic.js'
import { classifyUpstreamError } from './upstream-errors.js'
import { HOP_BY_HOP } from './upstream-exchange.js'

/** How often open websocket tunnels are re-decided (issue 12: closed within a few seconds of losing their authority). */
export const TUNNEL_RECHECK_MS = 1000

/** An open websocket tunnel and what it was allowed on. */
interface Tunnel {
  readonly requestId: string
  readonly facts: RequestFacts
  /** Runtime clock (ms) when the tunnel opened, and when a byte last passed either way. */
  readonly openedAt: number
  lastActiveAt: number
  close(): void
}

/** The `upgrade` handler of the traffic server. */
export function createUpgradeHandler(deps: ProxyDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void> {
  const tunnels = createTunnelSet(deps.runtime, deps.logger)

  return async function onUpgrade(req, socket, head) {
    const rt = deps.runtime()
    const at = startRequest(req, rt)
    const { requestId } = at
    socket.on('error', () => socket.destroy())
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      writeAnswer(socket, answer('upgrade_unsupported', { requestId, close: true }))
      return
    }
    if (rt.forwardAuth !== null && decisionForm(req.url ?? '', rt.forwardAuth.path) !== null) {
      writeAnswer(socket, answer('upgrade_decision', { requestId, close: true }))
      return
    }
    const d = await decideSafely(deps, factsOf(req), rt, requestId)
    if (d === null) {
      writeAnswer(socket, answer('internal_error', { requestId, close: true }))
      logRequest(deps, at, 500, 'error', null)
      return
    }
    if (!d.ok) {
      deps.metrics.authFailure(d.reason)
      writeAnswer(socket, answer(d.reason, { detail: d.detail, requestId, close: true }))
      logRequest(deps, at, OUTCOMES[d.reason].status, 'denied', d)
      return
    }
    if (d.route === 'service') {
      writeAnswer(socket, answer('upgrade_to_service', { requestId, close: true }))
      return
    }
    // OPTIONS with Upgrade: a preflight is never a tunnel.
    if (d.route === 'preflight') {
      writeAnswer(socket, answer('upgrade_unsupported', { requestId, close: true }))
      return
    }
    connectUpstream(deps, at, socket, head, d, rt, tunnels)
  }
}

/**
 * Sends the upgrade request to the upstream on a connection of its own. Only a 101
 * makes the connection a tunnel. Any other answer is relayed and the connection
 * closed: else the client's next bytes would reach the upstream as requests nobody
 * checked (websocket smuggling; attack #59). The client's early bytes
 * (`head`) wait for the 101 for the same reason.
 */
function connectUpstream(deps: ProxyDeps, at: Started, socket: Duplex, head: Buffer, d: Allowed, rt: Runtime, tunnels: TunnelSet): void {
  const { req, requestId } = at
  const headers = upstreamHeaders(deps, at, d, rt)
  headers.push('Connection', 'Upgrade', 'Upgrade', 'websocket')
  const upstream = dialUpstream(rt)
  const upReq = http.request({
    method: req.method,
    path: rt.upstream.basePath + d.target,
    headers,
    setHost: false,
    createConnection: () => upstream,
  })
  let answered = false
  let relaying = false
  upReq.once('upgrade', (upRes: IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
    answered = true
    upstream.setTimeout(0)
    socket.write(responseHead(upRes, false, requestId))
    if (upHead.length > 0) socket.write(upHead)
    if (head.length > 0) upSocket.write(head)
    tunnels.open(requestId, factsOf(req), socket, upSocket)
    logRequest(deps, at, 101, 'allowed', d)
  })
  upReq.once('response', (upRes: IncomingMessage) => {
    answered = true
    relaying = true
    upstream.setTimeout(0)
    socket.write(responseHead(upRes, true, requestId))
    upRes.pipe(socket)
    upRes.once('end', () => upstream.destroy())
    logRequest(deps, at, upRes.statusCode ?? 0, 'allowed', d)
  })
  const fail = (kind: 'timeout' | 'connect') => {
    if (answered) {
      if (!relaying) socket.destroy()
      upstream.destroy()
      return
    }
    answered = true
    const f = classifyUpstreamError({ code: kind === 'timeout' ? 'ETIMEDOUT' : 'ECONNREFUSED' })
    deps.metrics.upstreamError(f.kind)
    writeAnswer(socket, answer(f.code, { requestId, close: true }))
    upstream.destroy()
    logRequest(deps, at, f.status, 'upstream_error', d)
  }
  upstream.once('timeout', () => fail('timeout'))
  upstream.on('error', () => fail('connect'))
  upReq.on('error', () => fail('connect'))
  upstream.once('close', () => {
    if (!relaying) socket.destroy()
  })
  socket.once('close', () => upstream.destroy())
  upReq.end()
}

/** A connection to the upstream's origin, bounded by connectTimeoutMs until connected, then by timeoutMs until it answers. */
function dialUpstream(rt: Runtime): net.Socket {
  const url = new URL(rt.upstream.origin)
  const https = url.protocol === 'https:'
  const port = Number(url.port) || (https ? 443 : 80)
  const timeout = rt.config.upstream.connectTimeoutMs
  const upstream = https
    ? tls.connect({ host: url.hostname, port, servername: net.isIP(url.hostname) ? undefined : url.hostname, timeout })
    : net.connect({ host: url.hostname, port, timeout })
  upstream.once(https ? 'secureConnect' : 'connect', () => upstream.setTimeout(rt.config.upstream.timeoutMs))
  return upstream
}

interface TunnelSet {
  open(requestId: string, facts: RequestFacts, socket: Duplex, upSocket: Duplex): void
}

/** The open tunnels, and the sweep that re-decides them while any is open. */
function createTunnelSet(runtime: () => Runtime, logger: Logger): TunnelSet {
  const tunnels = new Set<Tunnel>()
  let sweeper: NodeJS.Timeout | null = null
  let sweeping = false

  function untrack(t: Tunnel): void {
    tunnels.delete(t)
    if (tunnels.size === 0 && sweeper !== null) {
      clearInterval(sweeper)
      sweeper = null
    }
  }

  /**
   * A tunnel lives only while the request that opened it would still be allowed:
   * each one is decided again, through the same pipeline (revoked, disabled or
   * expired credential, lowered permission, a chain of authority that is gone), and
   * closed past its idle timeout or maximum lifetime.
   */
  async function sweep(): Promise<void> {
    if (sweeping) return
    sweeping = true
    try {
      const rt = runtime()
      for (const t of [...tunnels]) {
        const why = await closeReason(t, rt)
        if (why !== null && tunnels.has(t)) {
          logger.info({ reqId: t.requestId, event: 'tunnel_closed', reason: why }, 'websocket tunnel closed')
          t.close()
        }
      }
    } finally {
      sweeping = false
    }
  }

  return {
    open(requestId, facts, socket, upSocket) {
      const openedAt = runtime().now()
      const tunnel: Tunnel = {
        requestId,
        facts,
        openedAt,
        lastActiveAt: openedAt,
        close() {
          untrack(tunnel)
          socket.destroy()
          upSocket.destroy()
        },
      }
      const active = () => {
        tunnel.lastActiveAt = runtime().now()
      }
      upSocket.on('data', active)
      socket.on('data', active)
      socket.once('close', () => untrack(tunnel))
      upSocket.once('close', () => tunnel.close())
      tunnels.add(tunnel)
      if (sweeper === null) {
        sweeper = setInterval(() => void sweep(), TUNNEL_RECHECK_MS)
        sweeper.unref()
      }
      upSocket.pipe(socket)
      socket.pipe(upSocket)
    },
  }
}

/** Why a tunnel must close now, or null while it may stay open. */
async function closeReason(t: Tunnel, rt: Runtime): Promise<string | null> {
  const { tunnelIdleTimeoutMs, tunnelMaxLifetimeMs } = rt.config.limits
  const now = rt.now()
  if (now - t.lastActiveAt >= tunnelIdleTimeoutMs) return 'idle_timeout'
  if (now - t.openedAt >= tunnelMaxLifetimeMs) return 'max_lifetime'
  const d = await decide(t.facts, rt).catch(() => null)
  if (d === null) return 'error'
  return d.ok ? null : d.reason
}

/**
 * The status line and headers of an upstream answer to an upgrade, with our request
 * id in place of any the upstream sent; `close` drops hop-by-hop ones and ends with Connection: close.
 */
function responseHead(res: IncomingMessage, close: boolean, requestId: string): string {
  let head = `HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}\r\nx-request-id: ${requestId}\r\n`
  const raw = res.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    if ((close && HOP_BY_HOP.has(name)) || name === 'x-request-id') continue
    head += `${raw[i]}: ${raw[i + 1]}\r\n`
  }
  return `${head}${close ? 'connection: close\r\n' : ''}\r\n`
}
