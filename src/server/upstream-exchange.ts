// One request forwarded through undici's dispatch() with a handler of our own: the
// upstream's answer is written straight into the client's response, with
// backpressure through pause/resume. Pool.stream() did the same but added, per
// request, an AsyncResource, the listeners of stream.finished() and a factory
// call (bench profile: README "Performance").
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'

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
    this.res.writeHead(statusCode, relayedHeaders(headers))
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

/** The upstream's response headers minus hop-by-hop ones and any it named in Connection. */
function relayedHeaders(h: IncomingHttpHeaders): string[] {
  const connection = h.connection
  const named = connection === undefined ? null : new Set(String(connection).toLowerCase().split(',').map((t) => t.trim()))
  const out: string[] = []
  for (const name in h) {
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue
    const v = h[name]
    if (v === undefined) continue
    if (typeof v === 'string') out.push(name, v)
    else for (const one of v) out.push(name, one)
  }
  return out
}
