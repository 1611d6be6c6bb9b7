// The file store's JWT deny list (SPEC §6 revocation by `jti`): memory for the hot
// path, and `<key file>.revoked-jwts.json` = `{ "version": 1, "revokedJwts": [{jti,
// expiresAt}] }` beside the key file so a revocation survives a restart. Written like
// the key file (lock, temp, fsync, rename); entries past their end are dropped at
// every write, so the file holds only tokens still alive. Another process's writes
// are picked up by the key store's poll.
import { mkdir, readFile, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { withFileLock } from './file-lock.js'
import { errorCode, fileSignature, KeyFileInvalidError, writeFileAtomically } from './key-file.js'
import { isJti, RevokedJwts, type RevokedJwt } from './revoked-jwts.js'

const MAX_ENTRIES = 1_000_000

export function denyListPathFor(keyFile: string): string {
  return `${keyFile.replace(/\.json$/i, '')}.revoked-jwts.json`
}

export class FileJwtDenyList {
  private readonly memory = new RevokedJwts()
  private signature: string | null = null
  private rejected: string | null = null
  private serial: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly path: string,
    private readonly nowSeconds: () => number,
    private readonly warn: (obj: object, msg: string) => void,
  ) {}

  /** A missing file is an empty list; a broken one is refused (fail closed: revocations must not vanish). */
  async load(): Promise<void> {
    const read = await this.read()
    this.install(read.entries, read.signature)
  }

  has(jti: string, nowSeconds: number): boolean {
    return this.memory.has(jti, nowSeconds)
  }

  list(nowSeconds: number): RevokedJwt[] {
    return this.memory.list(nowSeconds)
  }

  revoke(jti: string, expiresAt: number): Promise<void> {
    if (!isJti(jti)) return Promise.reject(new TypeError('jti must be 1-256 visible ASCII characters'))
    if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) return Promise.reject(new TypeError('expiresAt must be Unix seconds'))
    const now = this.nowSeconds()
    this.memory.add(jti, expiresAt, now) // at once for this process, before the disk
    const run = this.serial.then(() =>
      this.withLock(async () => {
        const disk = await this.read()
        const merged = new RevokedJwts()
        merged.replace(disk.entries, now)
        merged.add(jti, expiresAt, now)
        const entries = merged.list(now)
        if (entries.length > MAX_ENTRIES) throw new Error(`more than ${MAX_ENTRIES} revoked JWTs alive`)
        const signature = await writeFileAtomically(this.path, `${JSON.stringify({ version: 1, revokedJwts: entries }, null, 2)}\n`)
        this.install(entries, signature)
      }),
    )
    this.serial = run.catch(() => undefined)
    return run
  }

  /** Called by the key store's poll: another process may have written the file. */
  async reloadIfChanged(): Promise<void> {
    const current = await stat(this.path).then(fileSignature, (err: unknown) => (errorCode(err) === 'ENOENT' ? null : this.signature))
    if (current === this.signature || current === this.rejected) return
    try {
      const read = await this.read()
      this.install(read.entries, read.signature)
      this.rejected = null
    } catch (err) {
      this.rejected = current
      this.warn({ path: this.path, err: (err as Error).message }, 'JWT deny list changed but is invalid; keeping the previous list')
    }
  }

  /** Adds what the file holds; never forgets a revocation this process made (a file rewritten by hand cannot undo it early). */
  private install(entries: readonly RevokedJwt[], signature: string | null): void {
    const now = this.nowSeconds()
    for (const e of entries) this.memory.add(e.jti, e.expiresAt, now)
    this.memory.prune(now)
    this.signature = signature
  }

  private async read(): Promise<{ entries: RevokedJwt[]; signature: string | null }> {
    let text: string
    let signature: string | null
    try {
      signature = fileSignature(await stat(this.path))
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return { entries: [], signature: null }
      throw err
    }
    return { entries: parseDenyList(this.path, text), signature }
  }

  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 })
    return withFileLock(`${this.path}.lock`, fn)
  }
}

function parseDenyList(path: string, text: string): RevokedJwt[] {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw new KeyFileInvalidError(path, ['not valid JSON'])
  }
  const d = doc as { version?: unknown; revokedJwts?: unknown } | null
  if (d === null || typeof d !== 'object' || d.version !== 1 || !Array.isArray(d.revokedJwts)) {
    throw new KeyFileInvalidError(path, ['must be {"version": 1, "revokedJwts": [...]}'])
  }
  const problems: string[] = []
  const entries: RevokedJwt[] = []
  d.revokedJwts.forEach((e: unknown, i) => {
    const v = e as { jti?: unknown; expiresAt?: unknown } | null
    if (v && isJti(v.jti) && Number.isSafeInteger(v.expiresAt) && (v.expiresAt as number) >= 0) {
      entries.push({ jti: v.jti, expiresAt: v.expiresAt as number })
    } else problems.push(`revokedJwts[${i}]: must be {jti, expiresAt}`)
  })
  if (problems.length > 0) throw new KeyFileInvalidError(path, problems)
  return entries
}
