// A minimal keep-alive HTTP/1.1 client over one socket, one request at a time:
// pre-built request bytes out, status and body length back. Used by the paced
// (fixed-rate) generator, where every microsecond of client overhead is load on
// the generator's core, and by the pre-flight checks. Responses must carry
// Content-Length (the bench upstream and Gatehouse's own answers always do);
// anything else is reported as an error rather than guessed at.
import net from 'node:net'

export interface RawResponse {
  readonly status: number
  readonly body: Buffer
}

type Callback = (err: Error | null, res?: RawResponse) => void

const HEAD_END = Buffer.from('\r\n\r\n')

export class RawConnection {
  #socket: net.Socket | null = null
  #buf: Buffer = Buffer.alloc(0)
  #pending: Callback | null = null
  #status = 0
  #bodyLeft = -1
  #bodyStart = 0
  #close = false
  #keepBody = false

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  get busy(): boolean {
    return this.#pending !== null
  }

  /** Sends one request; the callback runs once, with the response or an error. */
  send(request: Buffer, cb: Callback, keepBody = false): void {
    if (this.#pending) return cb(new Error('connection busy'))
    this.#pending = cb
    this.#keepBody = keepBody
    this.#status = 0
    this.#bodyLeft = -1
    this.#buf = Buffer.alloc(0)
    const s = this.#socket ?? this.#connect()
    s.write(request)
  }

  destroy(): void {
    const s = this.#socket
    this.#socket = null
    s?.destroy()
  }

  #connect(): net.Socket {
    const s = net.connect({ host: this.host, port: this.port, noDelay: true })
    this.#socket = s
    s.on('data', (chunk: Buffer) => this.#onData(chunk))
    // Only the current socket's failure fails the pending request: a socket we
    // retired ourselves (connection: close) may report its close later.
    const fail = (err: Error) => {
      if (this.#socket !== s) return
      this.#socket = null
      s.destroy()
      this.#finish(err)
    }
    s.on('error', fail)
    s.on('close', () => fail(new Error('connection closed')))
    return s
  }

  #onData(chunk: Buffer): void {
    if (!this.#pending) return
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk])
    if (this.#bodyLeft < 0) {
      const end = this.#buf.indexOf(HEAD_END)
      if (end < 0) return
      const head = this.#buf.toString('latin1', 0, end)
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head)
      const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head)
      if (!m || !cl) {
        this.destroy()
        return this.#finish(new Error(m ? 'response without content-length' : 'not an HTTP response'))
      }
      this.#status = Number(m[1])
      this.#close = /\r\nconnection:[ \t]*close/i.test(head)
      this.#bodyStart = end + 4
      this.#bodyLeft = Number(cl[1])
    }
    if (this.#buf.length - this.#bodyStart >= this.#bodyLeft) {
      const body = this.#keepBody ? Buffer.from(this.#buf.subarray(this.#bodyStart, this.#bodyStart + this.#bodyLeft)) : Buffer.alloc(0)
      if (this.#close) this.destroy()
      this.#finish(null, { status: this.#status, body })
    }
  }

  #finish(err: Error | null, res?: RawResponse): void {
    const cb = this.#pending
    this.#pending = null
    this.#buf = Buffer.alloc(0)
    cb?.(err, res)
  }
}

/** One request on a fresh connection, bounded by timeoutMs. */
export function requestOnce(host: string, port: number, request: Buffer, timeoutMs = 5000): Promise<RawResponse> {
  const c = new RawConnection(host, port)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.destroy()
      reject(new Error(`no response within ${timeoutMs} ms`))
    }, timeoutMs)
    c.send(
      request,
      (err, res) => {
        clearTimeout(timer)
        c.destroy()
        if (err || !res) reject(err ?? new Error('no response'))
        else resolve(res)
      },
      true,
    )
  })
}
