// The process's log on standard output (src/telemetry/logger.ts): batched, complete
// at exit, and never the reason a process cannot end.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import pino from 'pino'
import { isoTimestamp } from '../../../src/telemetry/logger.js'

const CHILD = fileURLToPath(new URL('../../support/logger-child.ts', import.meta.url))
const WARN_CHILD = fileURLToPath(new URL('../../support/logger-warn-child.ts', import.meta.url))

function run(lines: number, waitMs: number, readStdout: boolean): Promise<{ code: number | null; signal: string | null; stdout: string; hung: boolean }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, String(lines), String(waitMs)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  if (readStdout) child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
  else child.stdout.destroy() // whoever read the log is gone: writes fail with EPIPE
  child.stderr.resume()
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
    }, 10_000)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, hung: signal === 'SIGKILL' })
    })
  })
}

test('every line logged before process.exit() is written, in order, though fewer than a batch', { timeout: 30_000 }, async () => {
  const r = await run(25, 0, true)
  assert.equal(r.code, 0)
  const got = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { i: number; msg: string })
  assert.deepEqual(
    got.map((l) => l.i),
    Array.from({ length: 25 }, (_, i) => i),
  )
  assert.ok(got.every((l) => l.msg === 'line'))
})

test('lines past one batch (4 KiB) are written whole', { timeout: 30_000 }, async () => {
  const r = await run(2000, 0, true)
  assert.equal(r.code, 0)
  const got = r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { i: number }).i)
  assert.equal(got.length, 2000)
  assert.equal(got[1999], 1999)
})

test('a process whose log reader is gone still exits: a buffered line at exit meets a broken pipe', { timeout: 30_000 }, async () => {
  // 300 ms: stdout is closed by then, and the line is still in the batch (flushed each second).
  const r = await run(1, 300, false)
  assert.equal(r.hung, false, 'exited on its own within 10 s')
  assert.equal(r.code, 0)
})

test('…and so does one that keeps logging into the broken pipe', { timeout: 30_000 }, async () => {
  const r = await run(5000, 300, false)
  assert.equal(r.hung, false, 'exited on its own within 10 s')
  assert.equal(r.code, 0)
})

// README "Operations": levels as names by default, the way log pipelines read them;
// `log.levelFormat: number` keeps pino's numbers. Either way a warning is not held back.
for (const [format, expected] of [
  ['name', [['info', 'before'], ['warn', 'careful']]],
  ['number', [[30, 'before'], [40, 'careful']]],
] as const) {
  test(`a warning is written at once, not held for the next batch (levels as ${format}s)`, { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', WARN_CHILD], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LEVEL_FORMAT: format } })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
    let err = ''
    const marker = new Promise<string>((resolve) =>
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        err += c
        if (err.includes('marker')) resolve(out) // stdout as it was when the marker came
      }),
    )
    const closed = new Promise((resolve) => child.on('close', resolve))
    try {
      const atMarker = await Promise.race([marker, closed.then(() => null)])
      assert.notEqual(atMarker, null, `the child wrote no marker: ${err.slice(0, 300)}`)
      const lines = (atMarker as string).trim().split('\n').map((l) => JSON.parse(l) as { level: unknown; msg: string })
      assert.deepEqual(
        lines.map((l) => [l.level, l.msg]),
        expected,
      )
    } finally {
      child.kill('SIGKILL')
    }
  })
}

test("the log's timestamp is pino's isoTime, formatted once per millisecond", (t) => {
  // pino's own isoTime is the oracle; node:test's mocked Date is the clock.
  t.mock.timers.enable({ apis: ['Date'], now: Date.UTC(2026, 11, 6, 12, 0, 0, 5) })
  const first = isoTimestamp()
  assert.equal(first, pino.stdTimeFunctions.isoTime())
  assert.equal(first, ',"time":"2026-12-06T12:00:00.005Z"')
  assert.equal(isoTimestamp(), first)
  t.mock.timers.tick(1)
  assert.equal(isoTimestamp(), pino.stdTimeFunctions.isoTime())
  assert.equal(isoTimestamp(), ',"time":"2026-12-06T12:00:00.006Z"')
})
