// Writes the answers of outcome/answer.ts: to a node response, or as raw HTTP/1.1
// on a socket (upgrades and wire-level refusals, where there is no response object).
import type { ServerResponse } from 'node:http'
import { http } from '../net/node-http.js'
import type { Duplex } from 'node:stream'
import type { Answer } from '../outcome/answer.js'

export function sendAnswer(res: ServerResponse, a: Answer): void {
  res.writeHead(a.status, a.headers)
  res.end(res.req.method === 'HEAD' || a.body === '' ? undefined : a.body)
}

/** The answer, then the socket closed once it is flushed: a client still sending must not keep it half-open. */
export function writeAnswer(socket: Duplex, a: Answer): void {
  let head = `HTTP/1.1 ${a.status} ${http.STATUS_CODES[a.status] ?? 'Error'}\r\n`
  for (const [name, value] of Object.entries(a.headers)) head += `${name}: ${value}\r\n`
  socket.end(`${head}\r\n${a.body}`, () => socket.destroy())
}
