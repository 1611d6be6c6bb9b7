// The one function that turns an outcome of the catalogue into an answer: status,
// headers and body. The server writes it to a response or a raw socket, the token
// service through Fastify; none of them builds a refusal of its own. Bodies and
// challenges carry only our own fixed text and the caller-safe detail: never the
// credential, a header value or the path.
import { OUTCOMES, type OutcomeCode } from './catalogue.js'

export interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** Empty for `none` rows. */
  readonly body: string
}

export interface AnswerOptions {
  /** Safe to show the caller; the row's title when absent. */
  readonly detail?: string | undefined
  /** Becomes X-Request-Id and the problem's `instance`. */
  readonly requestId?: string
  /**
   * Connection: close. A refused request's body is never read (attack #100):
   * close instead of letting node drain it to reuse the connection.
   */
  readonly close?: boolean
  /** Set by the caller where they vary by call (a computed Retry-After, a Basic challenge). */
  readonly headers?: Readonly<Record<string, string>>
}

export function answer(code: OutcomeCode, opts: AnswerOptions = {}): Answer {
  const row = OUTCOMES[code]
  const detail = opts.detail ?? row.title
  const headers: Record<string, string> = { 'cache-control': 'no-store' }
  let body = ''
  if (row.body === 'problem') {
    const instance = opts.requestId === undefined ? {} : { instance: `urn:gatehouse:request:${opts.requestId}` }
    body = JSON.stringify({ type: row.type, title: row.title, status: row.status, detail, ...instance })
    headers['content-type'] = 'application/problem+json'
  } else if (row.body === 'oauth') {
    body = JSON.stringify({ error: row.oauthError, error_description: detail })
    headers['content-type'] = 'application/json; charset=utf-8'
  }
  // RFC 9110 §8.6: no Content-Length on a 204.
  if (row.status !== 204) headers['content-length'] = String(Buffer.byteLength(body))
  if (opts.requestId !== undefined) headers['x-request-id'] = opts.requestId
  if (row.wwwAuthenticate) headers['www-authenticate'] = row.wwwAuthenticate
  if (row.retryAfterSeconds !== undefined) headers['retry-after'] = String(row.retryAfterSeconds)
  if (opts.close) headers.connection = 'close'
  return { status: row.status, headers: opts.headers ? { ...headers, ...opts.headers } : headers, body }
}
