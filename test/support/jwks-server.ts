// A loopback JWKS endpoint for tests (SECURITY.md, the attack catalogue's JWKS cases): serves a key set you can
// change, counts requests, and can be stopped, restarted on the same port, or made to
// answer 500, garbage, an oversized body, or slowly.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { JSONWebKeySet } from 'jose'

export type JwksMode = 'ok' | 'error500' | 'garbage' | 'slow' | 'huge'

export interface JwksServer {
  /** `http://127.0.0.1:<port>/jwks.json` */
  readonly url: string
  readonly port: number
  /** Requests received since start (slow ones count on arrival). */
  readonly requestCount: number
  setKeys(jwks: JSONWebKeySet): void
  setMode(mode: JwksMode): void
  /** Closes the listener and every connection: later fetches are refused. */
  stop(): Promise<void>
  /** Listens again on the same port. */
  restart(): Promise<void>
}

export interface JwksServerOptions {
  keys?: JSONWebKeySet
  /** How long 'slow' holds a request before answering; default 10 s (stop() cuts it short). */
  slowMs?: number
}

class LoopbackJwksServer implements JwksServer {
  readonly #server: Server
  readonly #held = new Set<NodeJS.Timeout>()
  #keys: JSONWebKeySet
  #mode: JwksMode = 'ok'
  #count = 0
  #port = 0
  #listening = false

  constructor(private readonly opts: JwksServerOptions) {
    this.#keys = opts.keys ?? { keys: [] }
    this.#server = createServer((req, res) => this.#handle(req, res))
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/jwks.json`
  }

  get port(): number {
    return this.#port
  }

  get requestCount(): number {
    return this.#count
  }

  setKeys(jwks: JSONWebKeySet): void {
    this.#keys = structuredClone(jwks)
  }

  setMode(mode: JwksMode): void {
    this.#mode = mode
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject)
        resolve()
      })
    })
    this.#port = (this.#server.address() as AddressInfo).port
    this.#listening = true
  }

  async stop(): Promise<void> {
    for (const timer of this.#held) clearTimeout(timer)
    this.#held.clear()
    if (!this.#listening) return
    this.#listening = false
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    this.#server.closeAllConnections()
    await closed
  }

  restart(): Promise<void> {
    return this.listen(this.#port)
  }

  #handle(_req: IncomingMessage, res: ServerResponse): void {
    this.#count++
    switch (this.#mode) {
      case 'ok':
        return this.#sendKeys(res)
      case 'error500':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error')
        return
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [ {"kty": "RSA", "n": ')
        return
      case 'huge':
        // A valid JSON document of about 1 MiB: the client must stop reading at its cap.
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [], pad: 'x'.repeat(1 << 20) }))
        return
      case 'slow': {
        const timer = setTimeout(() => {
          this.#held.delete(timer)
          this.#sendKeys(res)
        }, this.opts.slowMs ?? 10_000)
        this.#held.add(timer)
        return
      }
    }
  }

  #sendKeys(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify(this.#keys))
  }
}

/** Starts a JWKS server on 127.0.0.1 and a free port. Always `stop()` it. */
export async function startJwksServer(opts: JwksServerOptions = {}): Promise<JwksServer> {
  const server = new LoopbackJwksServer(opts)
  await server.listen(0)
  return server
}
