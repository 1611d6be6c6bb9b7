// Issue 13, secrets on disk (as ssh does with its keys): a file that holds secrets
// and that other local users could rewrite lets them become any user or mint any
// token; a private key other users can read is already leaked. Both are refused
// with the file and the fix named, at start, on reload and by check-config.
import { statSync } from 'node:fs'
import type { Problem } from './problem.js'
import type { Config } from './schema.js'

interface SecretFile {
  readonly at: string
  readonly file: string
  /** A private key: must not be readable by others either. */
  readonly privateKey: boolean
}

function secretFilesOf(c: Config): SecretFile[] {
  const out: SecretFile[] = []
  const is = c.issuer
  if (is?.usersFile) out.push({ at: 'issuer.usersFile', file: is.usersFile, privateKey: false })
  if (is?.clientsFile) out.push({ at: 'issuer.clientsFile', file: is.clientsFile, privateKey: false })
  if (is?.signingKeyFile) out.push({ at: 'issuer.signingKeyFile', file: is.signingKeyFile, privateKey: true })
  is?.previousKeyFiles.forEach((file, i) => out.push({ at: `issuer.previousKeyFiles[${i}]`, file, privateKey: true }))
  if (c.tls) out.push({ at: 'tls.keyFile', file: c.tls.keyFile, privateKey: true })
  return out
}

/** Problems for secret files whose mode lets other users write (or, for keys, read) them. */
export function secretFileProblems(c: Config, platform: NodeJS.Platform = process.platform): Problem[] {
  // Windows has no mode bits worth reading here; its ACLs are the operator's.
  if (platform === 'win32') return []
  const problems: Problem[] = []
  for (const s of secretFilesOf(c)) {
    let mode: number
    try {
      mode = statSync(s.file).mode & 0o777 // follows symlinks, as Kubernetes Secret volumes use them
    } catch {
      continue // a missing or unreadable file is reported by whoever reads it
    }
    const octal = mode.toString(8).padStart(4, '0')
    if ((mode & 0o022) !== 0) {
      problems.push({ path: s.at, message: `${s.file} is writable by group or others (mode ${octal}); run: chmod go-w ${s.file}` })
    } else if (s.privateKey && (mode & 0o004) !== 0) {
      problems.push({ path: s.at, message: `${s.file} is a private key readable by every user (mode ${octal}); run: chmod o-r ${s.file} (0600, or 0440 with the group of the process)` })
    }
  }
  return problems
}
