// A cross-process lock file (`<path>.lock`, created with O_EXCL) around the file
// store's read-modify-write (SPEC §8: a running `serve` and the `keys` CLI never
// lose each other's keys). A lock whose owner is dead, or older than staleMs, is
// taken over: a crashed writer never blocks the store for long.
import { constants } from 'node:fs'
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'

export interface LockOptions {
  /** A lock older than this is presumed abandoned (ms). */
  readonly staleMs?: number
  /** Give up after waiting this long (ms). */
  readonly timeoutMs?: number
  readonly now?: () => number
}

interface Owner {
  readonly pid: number
  readonly host: string
  readonly token: string
  readonly at: number
}

export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError'
}

/** Runs fn while holding the lock file; the lock is released even when fn throws. */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const token = await acquire(lockPath, opts)
  try {
    return await fn()
  } finally {
    await release(lockPath, token)
  }
}

async function acquire(lockPath: string, opts: LockOptions): Promise<string> {
  const now = opts.now ?? Date.now
  const staleMs = opts.staleMs ?? 10_000
  const deadline = Date.now() + (opts.timeoutMs ?? 2 * staleMs)
  const token = await randomHex(12)
  for (let attempt = 0; ; attempt++) {
    if (await tryCreate(lockPath, { pid: process.pid, host: hostname(), token, at: now() })) return token
    await removeIfStale(lockPath, staleMs, now)
    if (Date.now() > deadline) throw new LockTimeoutError(`could not lock ${lockPath} within ${opts.timeoutMs ?? 2 * staleMs} ms`)
    // Short, growing, jittered waits: writes take milliseconds, and jitter stops lockstep retries.
    await sleep(Math.min(2 + attempt * 2, 40) * (0.5 + Math.random()))
  }
}

async function tryCreate(lockPath: string, owner: Owner): Promise<boolean> {
  let fh
  try {
    fh = await open(lockPath, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600)
  } catch (err) {
    if (code(err) === 'EEXIST') return false
    throw err
  }
  try {
    await fh.writeFile(JSON.stringify(owner))
  } finally {
    await fh.close()
  }
  return true
}

/**
 * Takeover without a race between two processes that both find the same stale
 * lock: move it aside under a unique name (atomic, only one mover wins), then
 * check it is still the file judged stale; if a fresh lock was moved instead,
 * put it back.
 */
async function removeIfStale(lockPath: string, staleMs: number, now: () => number): Promise<void> {
  const seen = await inspect(lockPath)
  if (!seen || !isStale(seen.owner, seen.mtimeMs, staleMs, now)) return
  const aside = `${lockPath}.stale-${await randomHex(6)}`
  try {
    await rename(lockPath, aside)
  } catch (err) {
    if (code(err) === 'ENOENT') return
    throw err
  }
  const moved = await stat(aside).catch(() => null)
  if (moved && moved.ino !== seen.ino) await link(aside, lockPath).catch(() => undefined)
  await unlink(aside).catch(() => undefined)
}

async function inspect(lockPath: string): Promise<{ owner: Owner | null; mtimeMs: number; ino: number } | null> {
  try {
    const [st, text] = await Promise.all([stat(lockPath), readFile(lockPath, 'utf8')])
    return { owner: parseOwner(text), mtimeMs: st.mtimeMs, ino: st.ino }
  } catch (err) {
    if (code(err) === 'ENOENT') return null
    throw err
  }
}

function isStale(owner: Owner | null, mtimeMs: number, staleMs: number, now: () => number): boolean {
  // The older of the two times: a lock claiming a future time must not live forever.
  if (now() - Math.min(owner?.at ?? mtimeMs, mtimeMs) > staleMs) return true
  // A pid only means something on this host (a shared volume may hold another machine's lock).
  if (!owner || owner.host !== hostname()) return false
  return !isAlive(owner.pid)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return code(err) === 'EPERM' // exists, but belongs to someone else
  }
}

async function release(lockPath: string, token: string): Promise<void> {
  const seen = await inspect(lockPath).catch(() => null)
  // Only remove our own lock: after a (wrong) stale takeover it may be someone else's.
  if (seen?.owner?.token === token) await unlink(lockPath).catch(() => undefined)
}

function parseOwner(text: string): Owner | null {
  try {
    const v: unknown = JSON.parse(text)
    if (v === null || typeof v !== 'object') return null
    const o = v as Record<string, unknown>
    if (!Number.isSafeInteger(o.pid) || typeof o.host !== 'string' || typeof o.token !== 'string' || typeof o.at !== 'number') {
      return null
    }
    return { pid: o.pid as number, host: o.host, token: o.token, at: o.at }
  } catch {
    return null // being written, or written by a crashed process: judged by its mtime alone
  }
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Random hex for lock tokens and aside names. node:crypto loads with the first lock: a command that only reads the store never loads it (issue 17). */
async function randomHex(bytes: number): Promise<string> {
  const { randomBytes } = await import('node:crypto')
  return randomBytes(bytes).toString('hex')
}
