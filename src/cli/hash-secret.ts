// `gatehouse hash-secret`: a password or client secret -> its hash, as the last
// line of stdout, for the users and clients files (SPEC §6). On a terminal it
// asks twice with echo off (raw mode: the secret never appears on the screen) and
// refuses two entries that differ; otherwise it reads stdin to the end.
import { hashPassword, MAX_SECRET_BYTES } from '../accounts/password-hash.js'
import { parseCommandArgs } from './args.js'

export const HASH_SECRET_USAGE = `usage: gatehouse hash-secret            (asks twice on a terminal)
       printf %s "$SECRET" | gatehouse hash-secret

Prints the scrypt hash of a password or client secret, for passwordHash in the
users file or secretHash in the clients file. On a terminal the secret is typed
twice and never shown; otherwise it is read from stdin (one trailing newline
dropped). The secret is never taken from the command line, where shell history
and process lists would keep it.

options:
  -h, --help   this help
`

/** The terminal side of stdin, as node's tty.ReadStream has it. */
interface TerminalInput extends NodeJS.ReadableStream {
  readonly isTTY?: boolean
  setRawMode?(mode: boolean): unknown
}

export async function hashSecretCommand(args: string[], stdin: TerminalInput, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const parsed = parseCommandArgs(args, { help: { type: 'boolean', short: 'h' } })
  if (!parsed.ok) {
    err.write(`gatehouse hash-secret: ${parsed.message}\n${HASH_SECRET_USAGE}`)
    return 1
  }
  if (parsed.value.values.help) {
    out.write(HASH_SECRET_USAGE)
    return 0
  }
  const read = stdin.isTTY && stdin.setRawMode ? await askTwice(stdin, err) : await readAll(stdin)
  if (!read.ok) {
    err.write(`gatehouse hash-secret: ${read.message}\n`)
    return read.code
  }
  out.write(`${await hashPassword(read.secret)}\n`)
  return 0
}

type Read = { ok: true; secret: string } | { ok: false; message: string; code: number }

const tooLong = (): Read => ({ ok: false, message: `the secret is longer than ${MAX_SECRET_BYTES} bytes`, code: 1 })
const empty = (where: string): Read => ({ ok: false, message: `no secret ${where}`, code: 1 })

async function readAll(stdin: NodeJS.ReadableStream): Promise<Read> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string)
    size += b.length
    if (size > MAX_SECRET_BYTES + 2) return tooLong()
    chunks.push(b)
  }
  // One trailing newline (echo, a heredoc) is not part of the secret.
  const secret = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
  return secret.length === 0 ? empty('on stdin') : { ok: true, secret }
}

async function askTwice(tty: TerminalInput, err: NodeJS.WritableStream): Promise<Read> {
  const lines = hiddenLines(tty)
  try {
    err.write('Secret: ')
    const first = await lines.next()
    err.write('\n')
    if (!first.ok) return first
    if (first.secret.length === 0) return empty('typed')
    err.write('Again:  ')
    const second = await lines.next()
    err.write('\n')
    if (!second.ok) return second
    if (second.secret !== first.secret) return { ok: false, message: 'the two entries differ; nothing was hashed', code: 1 }
    return first
  } finally {
    lines.close()
  }
}

/**
 * Lines typed on a terminal in raw mode, so the terminal echoes nothing; this reader
 * echoes nothing either. Backspace edits, Ctrl-C and Ctrl-D abandon (exit 130, as a
 * shell reports an interrupt). Raw mode is undone on close, whatever happened.
 */
function hiddenLines(tty: TerminalInput): { next(): Promise<Read>; close(): void } {
  tty.setRawMode?.(true)
  tty.setEncoding('utf8') // a character split across two reads stays one character
  let typed = ''
  let pending: ((r: Read) => void) | null = null
  const ready: Read[] = []
  const finish = (r: Read) => {
    typed = ''
    if (pending) {
      const resolve = pending
      pending = null
      resolve(r)
    } else ready.push(r)
  }
  const onData = (chunk: Buffer | string) => {
    for (const ch of chunk.toString()) {
      if (ch === '\r' || ch === '\n') finish({ ok: true, secret: typed })
      else if (ch === '\u0003' || ch === '\u0004') finish({ ok: false, message: 'abandoned; nothing was hashed', code: 130 })
      else if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('')
      else if (Buffer.byteLength(typed) >= MAX_SECRET_BYTES) finish(tooLong())
      else typed += ch
    }
  }
  tty.on('data', onData)
  tty.resume()
  return {
    next: () => {
      const r = ready.shift()
      return r ? Promise.resolve(r) : new Promise<Read>((resolve) => (pending = resolve))
    },
    close() {
      tty.removeListener('data', onData)
      tty.setRawMode?.(false)
      tty.pause()
    },
  }
}
