// The traffic port. A plain node:http handler around decide() and an undici Pool:
// the proxied path is the hot path, so it skips a framework's per-request
// lifecycle (measured: see README "Architecture"). Per request: decide, then
// either a problem answer or one streamed upstream exchange; one log line, one
// metrics update.
import type { IncomingMessage, ServerResponse } from 'node:http'
import http from 'node:http'
import net from 'node:net'
import type { Duplex, Readable } from 'node:stream'
import tls from 'node:tls'
import type { Dispatcher } from 'undici'
import type { Runtime } from '../runtime/compile.js'
import { decide, type RequestFacts } from '../pipeline/decide.js'
import type { Allowed, Decision, Denied, ToService } from '../pipeline/decision.js'
import { answer } from '../outcome/answer.js'
import { OUTCOMES } from '../outcome/catalogue.js'
import { buildUpstreamHeaders } from '../pipeline/identity-headers.js'
import type { Logger } from '../telemetry/logger.js'
import type { Metrics, Outcome } from '../telemetry/metrics.js'
import { sendAnswer, writeAnswer } from './problem.js'
import { classifyUpstreamError } from './upstream-errors.js'
import { discardRest, hasBody, isBodyTooLarge, limitBody } from './body-limit.js'
import { decisionForm } from '../pipeline/decision-request.js'
import { createDecisionEndpoint, type Asked } from './decision-endpoint.js'
import type { DecideRuntime } from '../pipeline/decide.js'
import { HOP_BY_HOP, UpstreamExchange } from './upstream-exchange.js'
import { setClientIp } from '../issuer/client-ip.js'
import type { TokenService } from '../issuer/service.js'

export interface ProxyDeps {
  runtime(): Runtime
  /** The keep-alive pool to the current upstream. */
  pool(): Dispatcher
  readonly metrics: Metrics
  readonly logger: Logger
  readonly proto: 'http' | 'https'
  /** The token service, when `issuer:` is configured (SPEC §6). */
  service(): TokenService | null
}

let sequence = 0
const instance = Math.random().toString(36).slice(2, 8)
const nextRequestId = () => `${instance}-${(++sequence).toString(36)}`

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

export function createProxyHandlers(deps: ProxyDeps) {
  const { metrics, logger } = deps
  const tunnels = new Set<Tunnel>()
  let sweeper: NodeJS.Timeout | null = null
  let sweeping = false

  function track(t: Tunnel): void {
    tunnels.add(t)
    if (sweeper === null) {
      sweeper = setInterval(() => void sweepTunnels(), TUNNEL_RECHECK_MS)
      sweeper.unref()
    }
  }

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
  async function sweepTunnels(): Promise<void> {
    if (sweeping) return
    sweeping = true
    try {
      const rt = deps.runtime()
      const { tunnelIdleTimeoutMs, tunnelMaxLifetimeMs } = rt.config.limits
      for (const t of [...tunnels]) {
        const now = rt.now()
        let why: string | null = null
        if (now - t.lastActiveAt >= tunnelIdleTimeoutMs) why = 'idle_timeout'
        else if (now - t.openedAt >= tunnelMaxLifetimeMs) why = 'max_lifetime'
        else {
          const d = await decide(t.facts, rt).catch(() => null)
          if (d === null || !d.ok) why = d === null ? 'error' : d.reason
        }
        if (why !== null && tunnels.has(t)) {
          logger.info({ reqId: t.requestId, event: 'tunnel_closed', reason: why }, 'websocket tunnel closed')
          t.close()
        }
      }
    } finally {
      sweeping = false
    }
  }

  function logAndCount(
    req: IncomingMessage,
    requestId: string,
    start: number,
    status: number,
    outcome: Outcome,
    d: Decision | null,
    upstreamMs: number | null,
    asked?: Asked,
  ): void {
    const seconds = (performance.now() - start) / 1000
    const api = d?.api ? d.api.name : d && d.ok ? (d.route === 'service' ? 'token_service' : 'unmatched') : '-'
    // A decision counts as the request it decided (SPEC §12).
    const method = asked ? asked.method : req.method
    metrics.request(api, method ?? 'OTHER', status, outcome, seconds)
    const identity = d?.ok && d.route === 'upstream' ? d.identity : null
    // Only the normalised path: a query string may carry secrets (SPEC §8).
    logger.info(
      {
        reqId: requestId,
        clientIp: d?.clientIp ?? req.socket.remoteAddress,
        method,
        path: d?.ok ? d.path : undefined,
        decision: asked ? true : undefined,
        api: d?.api?.name,
        user: identity?.user,
        actor: identity?.actor,
        credentialId: identity?.credentialId,
        status,
        outcome,
        reason: d && !d.ok ? d.reason : undefined,
        durationMs: Math.round(seconds * 1e6) / 1e3,
        upstreamMs: upstreamMs === null ? undefined : Math.round(upstreamMs * 1e3) / 1e3,
      },
      'request',
    )
  }

  /** decide(), with an unexpected failure logged and returned as null (answered 500, never a pass). */
  async function decideSafely(facts: RequestFacts, rt: DecideRuntime, requestId: string): Promise<Decision | null> {
    const t0 = performance.now()
    try {
      const d = await decide(facts, rt)
      metrics.decision((performance.now() - t0) / 1000)
      return d
    } catch (err) {
      logger[OUTCOMES.internal_error.logLevel]({ reqId: requestId, err: safeError(err) }, 'decision failed')
      return null
    }
  }

  function upstreamHeaders(req: IncomingMessage, d: Allowed, rt: Runtime): string[] {
    return buildUpstreamHeaders(rt.headerPlan, req.rawHeaders, {
      identity: d.identity,
      permissions: d.permissions,
      subjectType: d.subjectType,
      clientIp: d.clientIp,
      peerIp: req.socket.remoteAddress ?? '',
      peerTrusted: d.peerTrusted,
      proto: deps.proto,
    })
  }

  function refuse(req: IncomingMessage, res: ServerResponse, d: Denied, requestId: string, start: number, asked?: Asked): void {
    metrics.authFailure(d.reason)
    sendAnswer(res, answer(d.reason, { detail: d.detail, requestId, close: hasBody(req) }))
    logAndCount(req, requestId, start, OUTCOMES[d.reason].status, 'denied', d, null, asked)
  }

  const decisions = createDecisionEndpoint({
    decideSafely,
    refuse,
    record: (req, requestId, start, status, outcome, d, asked) => logAndCount(req, requestId, start, status, outcome, d, null, asked),
  })

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const start = performance.now()
    const requestId = nextRequestId()
    const rt = deps.runtime()
    if (rt.forwardAuth !== null) {
      const form = decisionForm(req.url ?? '', rt.forwardAuth.path)
      if (form !== null) return decisions.answer(req, res, factsOf(req), form, rt, requestId, start)
    }
    const d = await decideSafely(factsOf(req), rt, requestId)
    if (d === null) {
      sendAnswer(res, answer('internal_error', { close: true, requestId }))
      logAndCount(req, requestId, start, 500, 'error', null, null)
      return
    }
    if (!d.ok) return refuse(req, res, d, requestId, start)
    if (d.route === 'service') return toTokenService(req, res, d, requestId, start)
    if (req.headers.expect !== undefined) res.writeContinue() // only once the request is allowed
    forward(req, res, d, rt, requestId, start)
  }

  /** The token service authenticates its own callers; it sees the normalised target only. */
  function toTokenService(req: IncomingMessage, res: ServerResponse, d: ToService, requestId: string, start: number): void {
    const service = deps.service()
    if (!service) {
      sendAnswer(res, answer('service_off', { requestId }))
      return
    }
    setClientIp(req, d.clientIp)
    req.url = d.target
    res.setHeader('x-request-id', requestId)
    res.once('close', () => logAndCount(req, requestId, start, res.statusCode, 'service', d, null))
    service.handle(req, res)
  }

  function forward(req: IncomingMessage, res: ServerResponse, d: Allowed, rt: Runtime, requestId: string, start: number): void {
    let upstreamMs: number | null = null
    const api = d.api?.name ?? 'unmatched'
    // No AbortController per request (measured at ~3 % of a request's CPU): a client
    // that leaves is noticed at the next write into `res`, and a silent upstream is
    // bounded by upstream.timeoutMs anyway.
    const exchange = new UpstreamExchange(res, {
      onUpstreamHeaders(ms) {
        upstreamMs = ms
        metrics.upstream(api, ms / 1000)
      },
      onEnd(err, status) {
        if (!err) return logAndCount(req, requestId, start, status, 'allowed', d, upstreamMs)
        if (res.destroyed && !res.errored) {
          // The client went away.
          return logAndCount(req, requestId, start, status || 499, 'allowed', d, upstreamMs)
        }
        if (isBodyTooLarge(err) && !res.headersSent) {
          metrics.authFailure('body_too_large')
          discardRest(req)
          sendAnswer(res, answer('body_too_large', { requestId }))
          return logAndCount(req, requestId, start, 413, 'denied', d, upstreamMs)
        }
        if (res.headersSent) {
          // A body that fails midway cannot become a 502 any more: cut the client off.
          res.destroy()
          return logAndCount(req, requestId, start, status, 'upstream_error', d, upstreamMs)
        }
        const f = classifyUpstreamError(err)
        metrics.upstreamError(f.kind)
        logger[OUTCOMES[f.code].logLevel]({ reqId: requestId, kind: f.kind, code: (err as { code?: string }).code }, 'upstream failed')
        sendAnswer(res, answer(f.code, { close: true, requestId }))
        logAndCount(req, requestId, start, f.status, 'upstream_error', d, upstreamMs)
      },
    })
    let body: Readable | null = null
    if (hasBody(req)) {
      body = bodyOf(req, d, rt)
      // undici listens only once it writes the body; before that (a queued request) nobody would.
      body.on('error', (err: Error) => exchange.bodyFailed(err))
    }
    deps.pool().dispatch(
      { method: req.method as Dispatcher.HttpMethod, path: rt.upstream.basePath + d.target, headers: upstreamHeaders(req, d, rt), body },
      exchange,
    )
  }

  /**
   * Websocket upgrades are decided exactly like requests, then tunnelled to the
   * upstream. Other upgrades (h2c…) are refused: every request must pass the
   * pipeline on its own (security-cases #59).
   */
  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const start = performance.now()
    const requestId = nextRequestId()
    socket.on('error', () => socket.destroy())
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      writeAnswer(socket, answer('upgrade_unsupported', { requestId, close: true }))
      return
    }
    const rt = deps.runtime()
    if (rt.forwardAuth !== null && decisionForm(req.url ?? '', rt.forwardAuth.path) !== null) {
      writeAnswer(socket, answer('upgrade_decision', { requestId, close: true }))
      return
    }
    const d = await decideSafely(factsOf(req), rt, requestId)
    if (d === null) {
      writeAnswer(socket, answer('internal_error', { requestId, close: true }))
      logAndCount(req, requestId, start, 500, 'error', null, null)
      return
    }
    if (!d.ok) {
      metrics.authFailure(d.reason)
      writeAnswer(socket, answer(d.reason, { detail: d.detail, requestId, close: true }))
      logAndCount(req, requestId, start, OUTCOMES[d.reason].status, 'denied', d, null)
      return
    }
    if (d.route === 'service') {
      writeAnswer(socket, answer('upgrade_to_service', { requestId, close: true }))
      return
    }
    const allowed = d
    const headers = upstreamHeaders(req, d, rt)
    headers.push('Connection', 'Upgrade', 'Upgrade', 'websocket')
    const url = new URL(rt.upstream.origin)
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80)
    const timeout = rt.config.upstream.connectTimeoutMs
    const upstream =
      url.protocol === 'https:'
        ? tls.connect({ host: url.hostname, port, servername: net.isIP(url.hostname) ? undefined : url.hostname, timeout })
        : net.connect({ host: url.hostname, port, timeout })
    upstream.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => upstream.setTimeout(rt.config.upstream.timeoutMs))
    const upReq = http.request({
      method: req.method,
      path: rt.upstream.basePath + allowed.target,
      headers,
      setHost: false,
      createConnection: () => upstream,
    })
    // Only a 101 makes the connection a tunnel. Any other answer is relayed and the
    // connection closed: else the client's next bytes would reach the upstream as
    // requests nobody checked (websocket smuggling; security-cases #59). The client's
    // early bytes (`head`) wait for the 101 for the same reason.
    let answered = false
    let relaying = false
    upReq.once('upgrade', (upRes: IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
      answered = true
      upstream.setTimeout(0)
      socket.write(responseHead(upRes, false))
      if (upHead.length > 0) socket.write(upHead)
      if (head.length > 0) upSocket.write(head)
      const openedAt = rt.now()
      const tunnel: Tunnel = {
        requestId,
        facts: factsOf(req),
        openedAt,
        lastActiveAt: openedAt,
        close() {
          untrack(tunnel)
          socket.destroy()
          upSocket.destroy()
        },
      }
      const active = () => {
        tunnel.lastActiveAt = deps.runtime().now()
      }
      upSocket.on('data', active)
      socket.on('data', active)
      socket.once('close', () => untrack(tunnel))
      upSocket.once('close', () => tunnel.close())
      track(tunnel)
      upSocket.pipe(socket)
      socket.pipe(upSocket)
      logAndCount(req, requestId, start, 101, 'allowed', allowed, null)
    })
    upReq.once('response', (upRes: IncomingMessage) => {
      answered = true
      relaying = true
      upstream.setTimeout(0)
      socket.write(responseHead(upRes, true))
      upRes.pipe(socket)
      upRes.once('end', () => upstream.destroy())
      logAndCount(req, requestId, start, upRes.statusCode ?? 0, 'allowed', allowed, null)
    })
    const fail = (kind: 'timeout' | 'connect') => {
      if (answered) {
        if (!relaying) socket.destroy()
        upstream.destroy()
        return
      }
      answered = true
      const f = kind === 'timeout' ? classifyUpstreamError({ code: 'ETIMEDOUT' }) : classifyUpstreamError({ code: 'ECONNREFUSED' })
      metrics.upstreamError(f.kind)
      writeAnswer(socket, answer(f.code, { requestId, close: true }))
      upstream.destroy()
      logAndCount(req, requestId, start, f.status, 'upstream_error', allowed, null)
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

  return { onRequest, onUpgrade }
}

/** What decide() reads of a request; kept for a tunnel, which is decided again while it lives. */
function factsOf(req: IncomingMessage): RequestFacts {
  return { method: req.method ?? '', rawTarget: req.url ?? '', rawHeaders: req.rawHeaders, peerIp: req.socket.remoteAddress ?? '' }
}

/** A Content-Length body was checked against the limit by decide(); only a chunked one is counted as it streams. */
function bodyOf(req: IncomingMessage, d: Allowed, rt: Runtime): Readable {
  return req.headers['transfer-encoding'] === undefined ? req : limitBody(req, d.api?.maxBodyBytes ?? rt.maxBodyBytes)
}

/** The status line and headers of an upstream answer to an upgrade; `close` drops hop-by-hop ones and ends with Connection: close. */
function responseHead(res: IncomingMessage, close: boolean): string {
  let head = `HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}\r\n`
  const raw = res.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    if (close && HOP_BY_HOP.has((raw[i] as string).toLowerCase())) continue
    head += `${raw[i]}: ${raw[i + 1]}\r\n`
  }
  return `${head}${close ? 'connection: close\r\n' : ''}\r\n`
}

function safeError(err: unknown): { name: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'unknown', message: String(err) }
}
