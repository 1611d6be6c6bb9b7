// `npm start` prints curl commands with the answer each should get; run every one
// of them exactly as printed (README: every command works as written).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { startDemo } from '../support/gatehouse-process.js'

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, '../..')

test('the demo starts, and every printed command answers as its comment says', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-demo-'))
  let passed = false
  // A start-up bound, not a claim under test: generous for a loaded machine.
  const demo = await startDemo(dir, 60_000).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true })
    throw err
  })
  try {
    const out = demo.output()
    const lines = out.split('\n').map((l) => l.trim())
    const checks: { expect: number; command: string }[] = []
    lines.forEach((line, i) => {
      const m = /^# (\d{3}) - /.exec(line)
      if (m) checks.push({ expect: Number(m[1]), command: lines[i + 1] as string })
    })
    // Each printed command is matched to a row of ORACLE, whose status comes from the SPEC
    // and the demo's users as the README and src/demo describe them, not from the printed
    // label: a label and an answer that are wrong together still fail.
    assert.equal(checks.length, ORACLE.length, checks.map((c) => c.command).join('\n'))
    const used = new Set<Row>()
    for (const c of checks) {
      assert.match(c.command, /^curl /)
      const rows = ORACLE.filter((r) => r.command.test(c.command))
      assert.equal(rows.length, 1, `one oracle row for ${c.command}`)
      const row = rows[0] as Row
      used.add(row)
      assert.equal(c.expect, row.status, `the label of ${c.command} (${row.why})`)
      const { stdout } = await run('bash', ['-c', c.command], { cwd: root })
      assert.equal(Number(/^HTTP\/1\.1 (\d{3})/.exec(stdout)?.[1]), row.status, `${c.command} (${row.why})\n${stdout}`)
    }
    assert.equal(used.size, ORACLE.length)

    // The "More" commands: list, create, then revoke bob's key, after which it is refused.
    const more = lines.filter((l) => l.startsWith('node dist/main.js'))
    assert.equal(more.length, 3)
    const list = await run('bash', ['-c', more[0] as string], { cwd: root })
    assert.match(list.stdout, /alice/)
    const created = await run('bash', ['-c', more[1] as string], { cwd: root })
    // The suggested key is for a user the demo's users file holds, with what that user holds: it works.
    const newKey = /^gh_\S+$/m.exec(created.stdout)?.[0]
    assert.ok(newKey, created.stdout)
    const proxy = new URL(/http:\/\/\S+/.exec(checks[0]!.command)![0]).origin
    const newKeyStatus = async () =>
      (await fetch(`${proxy}/api/v1/users`, { headers: { 'x-api-key': newKey }, signal: AbortSignal.timeout(3000) })).status
    let createdStatus = 0
    for (let i = 0; i < 100 && createdStatus !== 200; i++) {
      if (i > 0) await sleep(100)
      createdStatus = await newKeyStatus()
    }
    assert.equal(createdStatus, 200, 'the key the banner suggests creating is accepted')
    await run('bash', ['-c', (more[2] as string).replace(/\s+\(.*\)$/, '')], { cwd: root })
    const bobCurl = checks.find((c) => c.expect === 403 && c.command.includes('/sessions'))!.command
    let status = 0
    for (let i = 0; i < 100 && status !== 401; i++) {
      await sleep(100)
      status = Number(/^HTTP\/1\.1 (\d{3})/.exec((await run('bash', ['-c', bobCurl], { cwd: root })).stdout)?.[1])
    }
    assert.equal(status, 401, 'a revoked key is refused within a few seconds')
    passed = true
  } finally {
    const { code } = await demo.stop()
    await rm(dir, { recursive: true, force: true })
    // Only after a run that got this far: a failure above must not be hidden behind a
    // SIGTERM that arrived before the demo had installed its handler.
    if (passed) assert.equal(code, 0, 'SIGTERM stops the demo cleanly')
  }
})

interface Row {
  readonly command: RegExp
  readonly status: number
  readonly why: string
}

// The demo's config (README "Quick start"): users and roles protected, version public;
// alice holds users:rw sessions:r, bob users:r, demo-client users:r.
const KEY = 'gh_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}'
const ORACLE: readonly Row[] = [
  { command: /^curl -i \S+\/api\/v1\/version$/, status: 200, why: 'SPEC §3.4: a public API is forwarded' },
  { command: /^curl -i \S+\/api\/v1\/users$/, status: 401, why: 'SPEC §3.5: no credential' },
  { command: new RegExp(`^curl -i -H 'X-API-Key: ${KEY}' \\S+/api/v1/users$`), status: 200, why: 'alice: users:rw covers GET' },
  { command: new RegExp(`^curl -i -X POST -H 'X-API-Key: ${KEY}' \\S+/api/v1/users$`), status: 403, why: 'SPEC §3.7: bob has users:r, POST needs rw' },
  { command: new RegExp(`^curl -i -H 'X-API-Key: ${KEY}' \\S+/api/v1/sessions$`), status: 403, why: 'SPEC §3.7: bob has nothing on sessions' },
  { command: /^curl -i -H 'Authorization: Bearer [\w-]+\.[\w-]+\.[\w-]+' \S+\/api\/v1\/users\/7$/, status: 200, why: 'a valid RS256 token with users:rw' },
  { command: /-u bob:\S+ .*"permissions":\{"users":"r"\}.*\/_gatehouse\/v1\/auth\/jwt$/, status: 200, why: 'SPEC §6: bob may ask for what he holds' },
  { command: /-u bob:\S+ .*"permissions":\{"users":"rw"\}.*\/_gatehouse\/v1\/auth\/jwt$/, status: 403, why: 'SPEC §6: never more than the user holds' },
  { command: /-u demo-client:\S+ -d 'grant_type=client_credentials&scope=users:r' \S+\/_gatehouse\/oauth\/token$/, status: 200, why: 'RFC 6749 §4.4 within the client\'s users:r' },
  { command: /^curl -i \S+\/_gatehouse\/\.well-known\/jwks\.json$/, status: 200, why: 'SPEC §6: the JWKS is public' },
]

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
