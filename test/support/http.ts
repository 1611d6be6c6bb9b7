// The one HTTP client helper of the tests: a request over loopback, its status,
// headers and whole body read (so no connection is left half-used), the body also
// parsed as JSON when it is JSON. Redirects are never followed: a 3xx is an answer.
// Raw bytes that a client library refuses to send: raw-http.ts.

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: any
}

export interface RequestOptions {
  readonly method?: string
  readonly headers?: Record<string, string>
  readonly body?: string | null
  /** A bound on the whole exchange (default 30 s): no test waits forever on a hung server. */
  readonly timeoutMs?: number
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** One request to a loopback URL (test traffic never leaves the machine). */
export async function request(url: string, opts: RequestOptions = {}): Promise<Reply> {
  const host = new URL(url).hostname
  if (!LOOPBACK.has(host) && !host.startsWith('127.')) throw new Error(`test traffic goes to loopback only, not ${host}`)
  const res = await fetch(url, {
    method: opts.method ?? 'GET',
    headers: opts.headers ?? {},
    body: opts.body ?? null,
    redirect: 'manual',
    signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
  })
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, text, json }
}
