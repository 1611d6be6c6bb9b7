// The access log's line (SPEC §8), written as pino writes `logger.info(entry, 'request')`
// but without its generic serialiser: pino walks the object, tests each key and type
// and escapes each string in a loop, ~5 % of a proxied request's CPU (bench profile).
// The fields here are fixed, so the line is a template. It goes through the logger's
// own level, timestamp, bindings and destination; the line is pino's, byte for byte
// (test/unit/telemetry/access-line.test.ts compares the two on random entries).
import pino, { type DestinationStream } from 'pino'
import type { Logger } from './logger.js'

/** One request's line; absent fields are left out, as pino leaves out undefined ones. */
export interface AccessEntry {
  readonly reqId: string
  readonly clientIp: string | undefined
  readonly method: string | undefined
  readonly path: string | undefined
  readonly decision: true | undefined
  readonly api: string | undefined
  readonly user: string | undefined
  readonly actor: string | undefined
  readonly credentialId: string | undefined
  readonly status: number
  readonly outcome: string
  readonly reason: string | undefined
  readonly durationMs: number
  readonly upstreamMs: number | undefined
}

const INFO = 30
const { chindingsSym, lsCacheSym, streamSym, timeSym } = pino.symbols

export function writeAccessLine(logger: Logger, e: AccessEntry): void {
  if (logger.levelVal > INFO) return
  // pino's own parts of a line (pino.symbols), read each time: a reload may change the level.
  const p = logger as unknown as Record<symbol, unknown>
  const level = (p[lsCacheSym] as Record<number, string>)[INFO] as string
  const time = (p[timeSym] as () => string)()
  let line = `${level}${time}${p[chindingsSym] as string},"reqId":${quote(e.reqId)}`
  if (e.clientIp !== undefined) line += `,"clientIp":${quote(e.clientIp)}`
  if (e.method !== undefined) line += `,"method":${quote(e.method)}`
  if (e.path !== undefined) line += `,"path":${quote(e.path)}`
  if (e.decision !== undefined) line += ',"decision":true'
  if (e.api !== undefined) line += `,"api":${quote(e.api)}`
  if (e.user !== undefined) line += `,"user":${quote(e.user)}`
  if (e.actor !== undefined) line += `,"actor":${quote(e.actor)}`
  if (e.credentialId !== undefined) line += `,"credentialId":${quote(e.credentialId)}`
  line += `,"status":${num(e.status)},"outcome":${quote(e.outcome)}`
  if (e.reason !== undefined) line += `,"reason":${quote(e.reason)}`
  line += `,"durationMs":${num(e.durationMs)}`
  if (e.upstreamMs !== undefined) line += `,"upstreamMs":${num(e.upstreamMs)}`
  const out = p[streamSym] as DestinationStream
  out.write(`${line},"msg":"request"}\n`)
}

const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/** A JSON string: printable ASCII as it is, anything else (quotes, controls, non-ASCII) as JSON.stringify writes it. */
function quote(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s)
}

/** pino writes a number that is not finite as null. */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null'
}
