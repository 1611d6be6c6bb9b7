// Request bodies past their API's limit (config `limits.maxBodyBytes`, `apis[].maxBodyBytes`;
// attack #100). decide() refuses a Content-Length over the limit before a byte
// is read; a chunked body has no length up front, so it is counted as it streams and
// the upstream request fails at the first chunk that would cross the limit: the
// upstream never receives more than the limit.
import type { IncomingMessage } from 'node:http'
import { Transform, type Readable } from 'node:stream'

// Chunk sizes and extensions are read but are not body: node bounds the extensions of
// one chunk (16 KiB) but not their sum, so 100 000 one-byte chunks with 1 KB of
// extensions each would have us read 100 MB for 100 KB of body (attack #72).
// Past this allowance, framing may be at most twice the body (a chunk of a few bytes
// still passes). bytesRead runs ahead of the body by what the socket, request and stream buffers hold (under 256 KiB).
const FRAMING_ALLOWANCE = 256 * 1024

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError'
}

/**
 * The body of `req`, failing with BodyTooLargeError past `max` bytes. `req` is
 * unpiped, not destroyed, when that happens, so a 413 can still be answered.
 */
export function limitBody(req: IncomingMessage, max: number): Readable {
  let seen = 0
  const socket = req.socket
  const base = socket.bytesRead
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length
      if (seen > max) done(new BodyTooLargeError(`request body over ${max} bytes`))
      else if (socket.bytesRead - base > FRAMING_ALLOWANCE + 2 * seen) done(new BodyTooLargeError('chunk framing far larger than the body'))
      else done(null, chunk)
    },
  })
  req.on('error', (err) => counted.destroy(err))
  return req.pipe(counted)
}

/** Whether an undici failure was caused by limitBody (undici may wrap the stream's error). */
export function isBodyTooLarge(err: unknown): boolean {
  let e: unknown = err
  for (let depth = 0; depth < 3 && e !== null && typeof e === 'object'; depth++) {
    if (e instanceof BodyTooLargeError) return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}

// How long a client still sending past the limit is read (and its bytes dropped) after the 413.
const LINGER_MS = 1000

/**
 * After a 413 mid-body: drop what the client is still sending, for at most
 * LINGER_MS, so that it can read the answer; closing with unread bytes would reset
 * the connection and lose the answer on the way (RFC 9112 §9.6). Then close.
 */
export function discardRest(req: IncomingMessage): void {
  req.unpipe()
  const timer = setTimeout(() => req.socket.destroy(), LINGER_MS)
  timer.unref()
  const stop = () => clearTimeout(timer)
  req.once('end', stop)
  req.once('close', stop)
  req.resume()
}

/** The request announces a body (Content-Length above 0, or any Transfer-Encoding). */
export function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0')
}
