// Request sets: complete raw HTTP/1.1 requests (head and body), built once and
// written to a file that every load generator reads (wrk's Lua script, the
// autocannon and paced workers), so each sends exactly the same bytes.
// File format: for each request, its byte length in ASCII decimal, "\n", the bytes.
import { readFileSync, writeFileSync } from 'node:fs'

export interface RequestSpec {
  readonly method: string
  readonly path: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: Buffer
}

export function rawRequest(r: RequestSpec): Buffer {
  let head = `${r.method} ${r.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`
  for (const [name, value] of Object.entries(r.headers ?? {})) head += `${name}: ${value}\r\n`
  if (r.body) head += `Content-Type: application/octet-stream\r\nContent-Length: ${r.body.length}\r\n`
  head += '\r\n'
  return r.body ? Buffer.concat([Buffer.from(head, 'latin1'), r.body]) : Buffer.from(head, 'latin1')
}

export function writeRequestFile(file: string, requests: readonly Buffer[]): void {
  const parts: Buffer[] = []
  for (const b of requests) parts.push(Buffer.from(`${b.length}\n`, 'latin1'), b)
  writeFileSync(file, Buffer.concat(parts))
}

export function readRequestFile(file: string): Buffer[] {
  const data = readFileSync(file)
  const out: Buffer[] = []
  let at = 0
  while (at < data.length) {
    const nl = data.indexOf(10, at)
    if (nl < 0) throw new Error(`${file}: truncated length line at byte ${at}`)
    const len = Number(data.toString('latin1', at, nl))
    if (!Number.isSafeInteger(len) || len <= 0 || nl + 1 + len > data.length) throw new Error(`${file}: bad length at byte ${at}`)
    out.push(data.subarray(nl + 1, nl + 1 + len))
    at = nl + 1 + len
  }
  if (out.length === 0) throw new Error(`${file}: no requests`)
  return out
}
