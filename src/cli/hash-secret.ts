// `gatehouse hash-secret`: a password or client secret on stdin -> its hash, as
// the last line of stdout, for the users and clients files (SPEC §6).
import { hashPassword, MAX_SECRET_BYTES } from '../accounts/password-hash.js'

export async function hashSecretCommand(stdin: NodeJS.ReadableStream, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string)
    size += b.length
    if (size > MAX_SECRET_BYTES + 2) {
      err.write(`gatehouse: the secret is longer than ${MAX_SECRET_BYTES} bytes\n`)
      return 1
    }
    chunks.push(b)
  }
  // One trailing newline (echo, a heredoc) is not part of the secret.
  const secret = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
  if (secret.length === 0) {
    err.write('gatehouse: no secret on stdin\n')
    return 1
  }
  out.write(`${await hashPassword(secret)}\n`)
  return 0
}
