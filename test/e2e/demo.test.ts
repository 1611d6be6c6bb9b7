// `npm start` prints curl commands with the answer each should get; run every one
// of them exactly as printed (README: every command works as written).
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, '../..')

test('the demo starts, and every printed command answers as its comment says', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-demo-'))
  const child = spawn(process.execPath, ['dist/demo/demo.js'], {
    cwd: root,
    env: { ...process.env, GATEHOUSE_DEMO_DIR: dir, GATEHOUSE_DEMO_PORT: '0', GATEHOUSE_DEMO_ADMIN_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  try {
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (out += c.toString()))
    const deadline = Date.now() + 20_000
    while (!out.includes('Stop with Ctrl-C.') && Date.now() < deadline && child.exitCode === null) await sleep(50)
    assert.ok(out.includes('Stop with Ctrl-C.'), `demo did not start:\n${out}`)

    const lines = out.split('\n').map((l) => l.trim())
    const checks: { expect: number; command: string }[] = []
    lines.forEach((line, i) => {
      const m = /^# (\d{3}) - /.exec(line)
      if (m) checks.push({ expect: Number(m[1]), command: lines[i + 1] as string })
    })
    const statuses = checks.map((c) => c.expect)
    assert.ok(statuses.includes(200) && statuses.includes(401) && statuses.includes(403), `statuses ${statuses}`)
    for (const c of checks) {
      assert.match(c.command, /^curl /)
      const { stdout } = await run('bash', ['-c', c.command], { cwd: root })
      assert.equal(Number(/^HTTP\/1\.1 (\d{3})/.exec(stdout)?.[1]), c.expect, `${c.command}\n${stdout}`)
    }

    // The "More" commands: list, create, then revoke bob's key, after which it is refused.
    const more = lines.filter((l) => l.startsWith('node dist/main.js'))
    assert.equal(more.length, 3)
    const list = await run('bash', ['-c', more[0] as string], { cwd: root })
    assert.match(list.stdout, /alice/)
    const created = await run('bash', ['-c', more[1] as string], { cwd: root })
    assert.match(created.stdout, /gh_/)
    await run('bash', ['-c', (more[2] as string).replace(/\s+\(.*\)$/, '')], { cwd: root })
    const bobCurl = checks.find((c) => c.expect === 403 && c.command.includes('/sessions'))!.command
    let status = 0
    for (let i = 0; i < 30 && status !== 401; i++) {
      await sleep(100)
      status = Number(/^HTTP\/1\.1 (\d{3})/.exec((await run('bash', ['-c', bobCurl], { cwd: root })).stdout)?.[1])
    }
    assert.equal(status, 401, 'a revoked key is refused within a few seconds')
  } finally {
    child.kill('SIGTERM')
    const code = await new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode)
      else child.once('exit', (c) => resolve(c))
    })
    await rm(dir, { recursive: true, force: true })
    assert.equal(code, 0)
  }
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
