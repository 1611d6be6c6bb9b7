// Raw HTTP/1.1 over a socket, for what a client library refuses to send (two
// Authorization lines, odd targets, smuggling shapes).
import net from 'node:net'

export interface RawResponse {
  readonly status: number
  readonly head: string
  readonly body: string
}

/** Sends `text` as-is and reads until the server closes or `timeoutMs` passes. */
export function rawRequest(port: number, text: string, timeoutMs = 3000, host = '127.0.0.1'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host })
    let data = ''
    const done = () => {
      clearTimeout(timer)
      socket.destroy()
      const [head = '', ...rest] = data.split('\r\n\r\n')
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head)
      if (!m) return reject(new Error(`no HTTP response (got ${JSON.stringify(data.slice(0, 80))})`))
      resolve({ status: Number(m[1]), head, body: rest.join('\r\n\r\n') })
    }
    const timer = setTimeout(done, timeoutMs)
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      data += chunk
      // One complete response with a content-length is enough.
      const end = data.indexOf('\r\n\r\n')
      const cl = /\r\ncontent-length: *(\d+)/i.exec(data.slice(0, end))
      if (end >= 0 && cl && data.length >= end + 4 + Number(cl[1])) done()
    })
    socket.on('error', () => done())
    socket.on('close', done)
    socket.write(text)
  })
}
