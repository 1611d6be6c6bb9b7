// Standard output for the log, written without ever waiting for its reader.
// A sidecar's stdout is a pipe to the container runtime; a runtime under pressure
// reads it slowly or not at all. A blocking write there would freeze the event loop
// and with it every request (issue 17), so lines that cannot be written now are
// queued up to a bound, and past it dropped and counted (gatehouse_log_lines_dropped_total).
import { fstatSync, writeSync } from 'node:fs'

/** Unwritten bytes kept for a slow reader; past this, new lines are dropped. */
export const MAX_QUEUED_BYTES = 256 * 1024
/**
 * A pipe write that wakes its reader costs 30–120 µs on a virtual machine (the wake-up
 * crosses CPUs), whatever its size: 4 KiB batches cost 2.3–8.5 µs per 300-byte line,
 * 64 KiB ones 0.85 µs (measured: see README Performance, "the access log").
 */
const BATCH_BYTES = 64 * 1024
const FLUSH_EVERY_MS = 1000
/** At exit only, how long a full pipe may be waited for (bounded: exit must never hang). */
const EXIT_WAIT_MS = 200

export interface LogSink {
  write(line: string): void
  flush(): void
  /** Lines dropped so far because the reader was too slow or gone. */
  dropped(): number
}

/**
 * Lines are batched (64 KiB, at least once a second; warnings at once, see logger.ts)
 * and written with a non-blocking writeSync: EAGAIN keeps the rest queued for the
 * next flush, EPIPE turns the log off. For a pipe or socket, fd 1 is made
 * non-blocking by opening it through libuv (process.stdout does that); a file or a
 * terminal never makes a write wait long.
 */
export function createStdoutSink(fd = 1): LogSink {
  makeNonBlocking(fd)
  const queue: Buffer[] = []
  let queued = 0
  let batch = ''
  let batchLines = 0
  let dropped = 0
  let broken = false

  const enqueue = (): void => {
    if (batch === '') return
    const bytes = Buffer.from(batch, 'utf8')
    if (queued + bytes.length > MAX_QUEUED_BYTES) dropped += batchLines
    else {
      queue.push(bytes)
      queued += bytes.length
    }
    batch = ''
    batchLines = 0
  }
  /** Writes what is queued; false when the reader cannot take more now. */
  const drain = (): boolean => {
    while (queue.length > 0 && !broken) {
      const head = queue[0] as Buffer
      let n: number
      try {
        n = writeSync(fd, head)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return false
        // EPIPE, EBADF…: nobody will ever read this; stop writing.
        broken = true
        break
      }
      queued -= n
      if (n === head.length) queue.shift()
      else queue[0] = head.subarray(n) // a partial line stays first, so no line is cut
    }
    if (broken) {
      for (const b of queue) dropped += countLines(b)
      queue.length = 0
      queued = 0
    }
    return true
  }
  const flush = (): void => {
    enqueue()
    drain()
  }
  const timer = setInterval(flush, FLUSH_EVERY_MS)
  timer.unref()
  process.once('exit', () => {
    clearInterval(timer)
    enqueue()
    const until = Date.now() + EXIT_WAIT_MS
    const nap = new Int32Array(new SharedArrayBuffer(4))
    while (!drain() && Date.now() < until) Atomics.wait(nap, 0, 0, 2)
  })

  return {
    write(line) {
      if (broken) {
        dropped++
        return
      }
      batch += line
      batchLines++
      if (batch.length >= BATCH_BYTES) flush()
    },
    flush,
    dropped: () => dropped,
  }
}

function countLines(b: Buffer): number {
  let n = 0
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++
  return n
}

function makeNonBlocking(fd: number): void {
  if (fd !== 1) return
  try {
    const st = fstatSync(fd)
    // libuv opens a pipe or socket in non-blocking mode (uv_pipe_open); the stream is then unused.
    if (st.isFIFO() || st.isSocket()) void process.stdout
  } catch {
    // fd 1 closed: every write fails with EBADF and the log turns off.
  }
}
