// Issue 17: a log reader that stops reading (a container runtime under pressure)
// must not stall request handling. `node dist/main.js serve` runs with its stdout
// on a pipe that the test stops draining; traffic keeps flowing and is answered,
// the lines that could not be written are counted in
// gatehouse_log_lines_dropped_total, and the lines that were written are whole.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { stringify } from 'yaml'
import { parseJsonLines, pollUntil, serveConfig, startServe, type ServeProcess } from '../support/gatehouse-process.js'
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js'

// Each access line is ~300 bytes: 2,500 of them are well past what the pipe (64 KiB),
// the reader's paused buffer and Gatehouse's own queue (256 KiB) can hold.
const REQUESTS = 2500
const CONCURRENCY = 16

let root: string
let upstream: RecordingUpstream
let gh: ServeProcess | undefined

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-slowlog-'))
  upstream = await startRecordingUpstream()
})
after(async () => {
  await gh?.stop()
  await upstream.close()
  await rm(root, { recursive: true, force: true })
})

function get(agent: http.Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: 5000 }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s: request handling stalled')))
    req.on('error', reject)
  })
}

async function droppedLines(adminUrl: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
  const m = /^gatehouse_log_lines_dropped_total (\d+)/m.exec(text)
  assert.ok(m, 'gatehouse_log_lines_dropped_total is exported')
  return Number(m[1])
}

test('requests keep being answered while nobody reads stdout; unwritten lines are dropped and counted', { timeout: 120_000 }, async () => {
  const configFile = path.join(root, 'gatehouse.yaml')
  await writeFile(configFile, stringify(serveConfig({ upstream: { url: upstream.url }, apis: [{ name: 'open', prefixes: ['/'], public: true }] })))
  gh = await startServe(['--config', configFile])
  assert.equal(await droppedLines(gh.adminUrl), 0)

  // From here on the pipe is not drained: the reader's buffer and the pipe fill up.
  const stdout = gh.child.stdout
  assert.ok(stdout)
  stdout.pause()
  const seenBefore = gh.stdout().length

  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const statuses = new Map<number, number>()
  let next = 0
  const started = Date.now()
  try {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < REQUESTS && Date.now() - started < 90_000) {
          const i = next++
          const status = await get(agent, `${gh?.proxyUrl}/items/${i}`)
          statuses.set(status, (statuses.get(status) ?? 0) + 1)
        }
      }),
    )
  } finally {
    agent.destroy()
  }
  assert.deepEqual([...statuses], [[200, REQUESTS]], 'every request answered 200 while the log was not read')
  assert.equal(upstream.requests.length, REQUESTS)
  const dropped = await droppedLines(gh.adminUrl)
  assert.ok(dropped > 0, 'some access lines could not be written and were counted')
  assert.ok(dropped < REQUESTS, 'the lines that fit were kept')

  // The reader comes back: what was queued is written (within the periodic flush), every line whole;
  // written + dropped account for every request (the last batch is counted when it is flushed).
  stdout.resume()
  const accessLines = () => parseJsonLines(gh?.stdout().slice(seenBefore) ?? '').filter((l) => l.status === 200).length
  let droppedAtEnd = dropped
  const settled = await pollUntil(async () => {
    droppedAtEnd = await droppedLines(gh?.adminUrl ?? '')
    return accessLines() + droppedAtEnd >= REQUESTS
  }, 10_000, 200)
  assert.notEqual(settled, null, `written ${accessLines()} + dropped ${droppedAtEnd} access lines account for all ${REQUESTS}`)
  assert.equal(accessLines() + droppedAtEnd, REQUESTS)
  const written = gh.stdout().slice(seenBefore).split('\n').filter((l) => l !== '')
  for (const line of written) assert.doesNotThrow(() => JSON.parse(line), 'no line is cut or interleaved')
})
