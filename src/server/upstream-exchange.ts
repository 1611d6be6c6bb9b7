// One request forwarded through undici's dispatch() with a handler of our own: the
// upstream's answer is written straight into the client's response, with
// backpressure through pause/resume. Pool.stream() did the same but added, per
// request, an AsyncResource, the listeners of stream.finished() and a factory
// call (bench profile: README "Performance"). forward() starts one; its end is
// the request's access-log line, or an upstream_* answer when nothing was relayed yet.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { Runtime } from '../runtime/compile.js'
import type { Allowed } from '../pipeline/decision.js'
import { withCorsHeaders, type CorsHeaders } from '../pipeline/cors.js'
import { answer } from '../outcome/answer.js'
import { OUTCOMES } from '../outcome/catalogue.js'
import type { Outcome } from '../telemetry/metrics.js'
import { logRequest } from './access-log.js'
import { discardRest, hasBody, isBodyTooLarge, limitBody } from './body-limit.js'
import { sendAnswer } from './problem.js'
import { upstreamHeaders, type ProxyDeps, type Started } from './traffic.js'
import { classifyUpstreamError } from './upstream-errors.js'

/** The client closed its connection before the answer was complete. */
class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError'
}

export interface ExchangeEvents {
  /** Response headers arrived (ms since the request was sent), before they are relayed. */
  onUpstreamHeaders(upstreamMs: number): void
  /** Called once: null when the whole answer was handed to `res`, else why not. */
  onEnd(err: Error | null, status: number): void
}

// RFC 9110 §7.6.1 hop-by-hop response headers, never relayed to the client.
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate'])

export class UpstreamExchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null
  private status = 0
  private ended = false
  private watchingClose = false
  private readonly sent = performance.now()

  constructor(
    private readonly res: ServerResponse,
    private readonly events: ExchangeEvents,
    /** Returned to the client in place of any the upstream sent (README "Operations"). */
    private readonly requestId: string,
    /** apis[].cors headers for this request's answer, or null. */
    private readonly cors: CorsHeaders | null = null,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.res.destroyed) controller.abort(new ClientGoneError('client closed the connection'))
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return // 100 Continue, 103 Early Hints: not relayed
    if (this.res.destroyed) return controller.abort(new ClientGoneError('client closed the connection'))
    this.status = statusCode
    this.events.onUpstreamHeaders(performance.now() - this.sent)
    const relayed = relayedHeaders(headers, this.requestId)
    this.res.writeHead(statusCode, this.cors === null ? relayed : withCorsHeaders(relayed, this.cors))
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.res.write(chunk)) return
    if (this.res.destroyed) return controller.abort(new ClientGoneError('client closed the connection'))
    // The client reads slower than the upstream sends: stop reading the upstream until it drains.
    controller.pause()
    this.res.once('drain', () => controller.resume())
    this.watchClose()
  }

  onResponseEnd(): void {
    this.res.end()
    this.finish(null)
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.finish(err)
  }

  /** A request body that fails before undici reads it (a limit, a client reset) ends the exchange too. */
  bodyFailed(err: Error): void {
    if (this.controller) this.controller.abort(err)
    else this.finish(err)
  }

  private watchClose(): void {
    // Only while paused: otherwise the next write or the end notices a closed client.
    if (this.watchingClose) return
    this.watchingClose = true
    this.res.once('close', () => {
      if (!this.ended) this.controller?.abort(new ClientGoneError('client closed the connection'))
    })
  }

  private finish(err: Error | null): void {
    if (this.ended) return
    this.ended = true
    this.events.onEnd(err, this.status)
  }
}

/** Streams an allowed request to the upstream and its answer back to the client. */
export function forward(deps: ProxyDeps, at: Started, res: ServerResponse, d: Allowed, rt: Runtime): void {
  const { req } = at
  let upstreamMs: number | null = null
  const api = d.api?.name ?? 'unmatched'
  // No AbortController per request (measured at ~3 % of a request's CPU): a client
  // that leaves is noticed at the next write into `res`, and a silent upstream is
  // bounded by upstream.timeoutMs anyway.
  const exchange = new UpstreamExchange(res, {
    onUpstreamHeaders(ms) {
      upstreamMs = ms
      deps.metrics.upstream(api, ms / 1000)
    },
    onEnd(err, status) {
      if (!err) return logRequest(deps, at, status, 'allowed', d, upstreamMs)
      const [finalStatus, outcome] = endFailed(deps, at, res, err, status, d.cors)
      logRequest(deps, at, finalStatus, outcome, d, upstreamMs)
    },
  }, at.requestId, d.cors)
  let body: Readable | null = null
  if (hasBody(req)) {
    body = bodyOf(req, d, rt)
    // undici listens only once it writes the body; before that (a queued request) nobody would.
    body.on('error', (err: Error) => exchange.bodyFailed(err))
  }
  deps.pool().dispatch(
    { method: req.method as Dispatcher.HttpMethod, path: rt.upstream.basePath + d.target, headers: upstreamHeaders(deps, at, d, rt), body },
    exchange,
  )
}

/** An exchange that failed: what the client is told, if anything still can be; returns the status and outcome to log. */
function endFailed(deps: ProxyDeps, at: Started, res: ServerResponse, err: Error, status: number, cors: CorsHeaders | null): [number, Outcome] {
  // The client went away.
  if (res.destroyed && !res.errored) return [status || 499, 'allowed']
  if (isBodyTooLarge(err) && !res.headersSent) {
    deps.metrics.authFailure('body_too_large')
    discardRest(at.req)
    sendAnswer(res, answer('body_too_large', { requestId: at.requestId, ...(cors ? { headers: cors } : {}) }))
    return [413, 'denied']
  }
  if (res.headersSent) {
    // A body that fails midway cannot become a 502 any more: cut the client off.
    res.destroy()
    return [status, 'upstream_error']
  }
  const f = classifyUpstreamError(err)
  deps.metrics.upstreamError(f.kind)
  deps.logger[OUTCOMES[f.code].logLevel]({ reqId: at.requestId, kind: f.kind, code: (err as { code?: string }).code }, 'upstream failed')
  sendAnswer(res, answer(f.code, { close: true, requestId: at.requestId, ...(cors ? { headers: cors } : {}) }))
  return [f.status, 'upstream_error']
}

/** A Content-Length body was checked against the limit by decide(); only a chunked one is counted as it streams. */
function bodyOf(req: IncomingMessage, d: Allowed, rt: Runtime): Readable {
  return req.headers['transfer-encoding'] === undefined ? req : limitBody(req, d.api?.maxBodyBytes ?? rt.maxBodyBytes)
}

/** The upstream's response headers minus hop-by-hop ones and any it named in Connection, with our request id. */
function relayedHeaders(h: IncomingHttpHeaders, requestId: string): string[] {
  const connection = h.connection
  const named = connection === undefined ? null : new Set(String(connection).toLowerCase().split(',').map((t) => t.trim()))
  const out: string[] = ['x-request-id', requestId]
  for (const name in h) {
    if (HOP_BY_HOP.has(name) || named?.has(name) || name === 'x-request-id') continue
    const v = h[name]
    if (v === undefined) continue
    if (typeof v === 'string') out.push(name, v)
    else for (const one of v) out.push(name, one)
  }
  return out
}
