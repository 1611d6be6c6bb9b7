// The file store's on-disk format (SPEC §8): `{ "version": 1, "keys": [ApiKeyRecord…] }`,
// read with its identity (inode, size, mtime) and written crash-safely: temp file in
// the same directory, fsync, rename over, fsync the directory. A crash leaves the
// old file or the new one, never a torn one.
import { open, readdir, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { validateRecord } from './key-record.js'
import type { ApiKeyRecord } from './key-store.js'

export type Records = Map<string, ApiKeyRecord>
/** The records and the identity of the file they came from (null: no file). */
export type Snapshot = { records: Records; signature: string | null }

/** The key file does not parse or holds an invalid record. Problems name fields, never values. */
export class KeyFileInvalidError extends Error {
  override readonly name = 'KeyFileInvalidError'
  constructor(
    readonly path: string,
    readonly problems: readonly string[],
  ) {
    super(`key file ${path} is invalid: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ' …' : ''}`)
  }
}

/** A missing file is an empty store: it is created on the first write. */
export async function readKeyFile(path: string): Promise<Snapshot> {
  let fh
  try {
    fh = await open(path, 'r')
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return { records: new Map(), signature: null }
    throw err
  }
  try {
    // The identity comes from the open descriptor, so it belongs to exactly the bytes read.
    const st = await fh.stat()
    // Anyone who can write the file can add a key for any user: refuse it, as sshd refuses such authorized_keys.
    if ((st.mode & 0o002) !== 0) throw new KeyFileInvalidError(path, ['the file is writable by every user (chmod o-w)'])
    const signature = fileSignature(st)
    return { records: parseKeyFile(path, await fh.readFile('utf8')), signature }
  } finally {
    await fh.close()
  }
}

export function parseKeyFile(path: string, text: string): Records {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    // Not the parser's message: V8 quotes the text around the error, which may be a hash.
    throw new KeyFileInvalidError(path, ['not valid JSON'])
  }
  const d = doc as { version?: unknown; keys?: unknown } | null
  if (d === null || typeof d !== 'object' || Array.isArray(d)) throw new KeyFileInvalidError(path, ['must be a JSON object'])
  const problems = Object.keys(d)
    .filter((k) => k !== 'version' && k !== 'keys')
    .map((k) => `${k}: is not a known field`)
  if (d.version !== 1) problems.push('version: must be 1')
  if (!Array.isArray(d.keys)) problems.push('keys: must be a list')
  const records: Records = new Map()
  for (const [i, entry] of (Array.isArray(d.keys) ? d.keys : []).entries()) {
    const r = validateRecord(entry, `keys[${i}]`)
    if (!r.ok) problems.push(...r.problems)
    else if (records.has(r.record.id)) problems.push(`keys[${i}].id: is used twice`)
    else records.set(r.record.id, r.record)
  }
  if (problems.length > 0) throw new KeyFileInvalidError(path, problems)
  return records
}

/**
 * Replaces the file atomically with mode 0600; returns the new file's signature.
 * The caller holds the lock and has created the directory.
 */
export async function writeKeyFile(path: string, records: Records): Promise<string> {
  return writeFileAtomically(path, serializeKeyFile(records))
}

/** The same crash-safe replacement for any file of the store (the JWT deny list too). */
export async function writeFileAtomically(path: string, text: string): Promise<string> {
  const dir = dirname(path)
  // Loaded by the first write: a command that only reads the store never loads node:crypto (issue 17).
  const { randomBytes } = await import('node:crypto')
  const temp = join(dir, `${tempPrefix(path)}${process.pid}-${randomBytes(6).toString('hex')}`)
  const fh = await open(temp, 'wx', 0o600)
  let signature: string
  try {
    await fh.writeFile(text)
    await fh.sync()
    signature = fileSignature(await fh.stat()) // rename keeps inode, size and mtime
  } catch (err) {
    await fh.close().catch(() => undefined)
    await unlink(temp).catch(() => undefined)
    throw err
  }
  await fh.close()
  try {
    await rename(temp, path)
  } catch (err) {
    await unlink(temp).catch(() => undefined)
    throw err
  }
  await fsyncDir(dir)
  return signature
}

/** Temp files a crashed writer left behind. Only safe while holding the lock. */
export async function removeOrphanTempFiles(path: string): Promise<void> {
  const dir = dirname(path)
  const names = await readdir(dir).catch(() => [] as string[])
  for (const name of names) {
    if (name.startsWith(tempPrefix(path))) await unlink(join(dir, name)).catch(() => undefined)
  }
}

export function serializeKeyFile(records: Records): string {
  return `${JSON.stringify({ version: 1, keys: [...records.values()].sort(byCreation) }, null, 2)}\n`
}

export function byCreation(a: ApiKeyRecord, b: ApiKeyRecord): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** Inode, size and mtime: cheap to poll, and changed by every rename or in-place edit. */
export function fileSignature(st: { ino: number; size: number; mtimeMs: number }): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}`
}

export function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code
}

function tempPrefix(path: string): string {
  return `.${basename(path)}.tmp-`
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } catch (err) {
    const c = errorCode(err)
    if (c !== 'EINVAL' && c !== 'EPERM' && c !== 'EISDIR') throw err // directories cannot be fsynced on every OS
  } finally {
    await fh.close()
  }
}
