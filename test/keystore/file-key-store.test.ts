// The file store: the shared KeyStore contract, plus what only a file can get
// wrong (SPEC §8): concurrent writers, outside edits, crashes mid-write, stale locks.
import { strict as assert } from 'node:assert'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, readdir, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { openFileKeyStore, KeyFileInvalidError, type FileKeyStoreOptions } from '../../src/keystore/file-key-store.js'
import { changeFor, makeRecord, runKeyStoreContract } from './key-store-contract.js'
import { waitFor } from '../support/wait.js'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const CHILD = fileURLToPath(new URL('../support/key-writer-child.ts', import.meta.url))

type Warning = { obj: object; msg: string }
function recordingLogger(): { warnings: Warning[]; warn(obj: object, msg: string): void } {
  const warnings: Warning[] = []
  return { warnings, warn: (obj, msg) => void warnings.push({ obj, msg }) }
}
const quiet = { warn: () => undefined }

const dirs: string[] = []
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-keystore-'))
  dirs.push(dir)
  return dir
}
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

async function keyFile(): Promise<string> {
  return join(await tempDir(), 'apikeys.json')
}

async function idsOnDisk(path: string): Promise<string[]> {
  const doc = JSON.parse(await readFile(path, 'utf8')) as { version: number; keys: { id: string }[] }
  assert.equal(doc.version, 1)
  return doc.keys.map((k) => k.id)
}

/** An editor's save: write elsewhere, rename over. */
async function replaceFile(path: string, text: string): Promise<void> {
  await writeFile(`${path}.edit`, text)
  await rename(`${path}.edit`, path)
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await once(child, 'exit')
  return child.pid as number
}

runKeyStoreContract('file', async () => {
  const path = await keyFile()
  const opts: FileKeyStoreOptions = { logger: quiet }
  return { store: await openFileKeyStore(path, opts), reopen: () => openFileKeyStore(path, opts), cleanup: async () => {} }
})

describe('file key store', () => {
  it('starts empty on a missing file and creates nothing until the first write', async () => {
    const dir = await tempDir()
    const path = join(dir, 'not', 'yet', 'apikeys.json')
    const store = await openFileKeyStore(path, { watch: false })
    assert.deepEqual(await store.list(), [])
    await assert.rejects(stat(join(dir, 'not')), { code: 'ENOENT' })
    await store.close()
  })

  it('creates the directory 0700 and the file 0600 on the first write', async () => {
    const path = join(await tempDir(), 'data', 'apikeys.json')
    const store = await openFileKeyStore(path, { watch: false })
    await store.create(makeRecord())
    await store.close()
    assert.equal((await stat(join(path, '..'))).mode & 0o777, 0o700)
    assert.equal((await stat(path)).mode & 0o777, 0o600)
  })

  it('loses none of 200 concurrent creates through one store', async () => {
    const path = await keyFile()
    const store = await openFileKeyStore(path, { watch: false })
    const records = Array.from({ length: 200 }, () => makeRecord())
    await Promise.all(records.map((r) => store.create(r)))
    assert.equal((await store.list()).length, 200)
    await store.close()
    assert.deepEqual((await idsOnDisk(path)).sort(), records.map((r) => r.id).sort())
  })

  it('loses none when two store instances (two processes sharing the file) write at once', async () => {
    const path = await keyFile()
    const a = await openFileKeyStore(path, { watch: false })
    const b = await openFileKeyStore(path, { watch: false })
    const forA = Array.from({ length: 60 }, () => makeRecord({ user: 'a' }))
    const forB = Array.from({ length: 60 }, () => makeRecord({ user: 'b' }))
    await Promise.all([...forA.map((r) => a.create(r)), ...forB.map((r) => b.create(r))])
    const revokedByB = forA.slice(0, 10).map((r) => r.id)
    await Promise.all([b.revoke(revokedByB), a.create(makeRecord({ user: 'late' }))])
    await Promise.all([a.close(), b.close()])
    const onDisk = new Set(await idsOnDisk(path))
    assert.equal(onDisk.size, 120 - 10 + 1)
    for (const r of [...forA.slice(10), ...forB]) assert.ok(onDisk.has(r.id), `key ${r.id} was lost`)
  })

  // SPEC §1 promises one second; it rests on the 500 ms poll behind fs.watch. Real
  // time on a loaded machine gets headroom: 5 s still fails a store that never looks.
  it('lets a running store see keys created and revoked by another process (SPEC: within one second)', async () => {
    const path = await keyFile()
    const serve = await openFileKeyStore(path, { logger: quiet })
    const cli = await openFileKeyStore(path, { watch: false })
    try {
      const record = makeRecord()
      const changed = changeFor(serve, record.id)
      await cli.create(record)
      await waitFor(async () => (await serve.get(record.id)) !== null, 5000)
      assert.deepEqual(await changed, [record.id])
      await cli.update(record.id, { enabled: false })
      await waitFor(async () => (await serve.get(record.id))?.enabled === false, 5000)
      await cli.revoke([record.id])
      await waitFor(async () => (await serve.get(record.id)) === null, 5000)
    } finally {
      await Promise.all([serve.close(), cli.close()])
    }
  })

  it('keeps the old keys and logs why when the file is corrupted by hand, never logging a hash', async () => {
    const path = await keyFile()
    const logger = recordingLogger()
    const store = await openFileKeyStore(path, { logger, pollMs: 50 })
    try {
      const kept = makeRecord()
      await store.create(kept)
      const before = await readFile(path, 'utf8')

      await writeFile(path, before.slice(0, before.length / 2)) // a torn hand edit, written in place
      await waitFor(() => logger.warnings.length >= 1, 10_000)
      assert.notEqual(await store.get(kept.id), null)

      const warned = logger.warnings.length
      const leaked = makeRecord({ permissions: { users: 'admin' as 'rw' } })
      await replaceFile(path, JSON.stringify({ version: 1, keys: [kept, leaked] }))
      await waitFor(() => logger.warnings.length > warned, 10_000)
      assert.equal(await store.get(leaked.id), null)
      assert.notEqual(await store.get(kept.id), null)
      const logged = JSON.stringify(logger.warnings)
      assert.match(logged, /keys\[1\]\.permissions/)
      assert.ok(!logged.includes(kept.secretHash) && !logged.includes(leaked.secretHash), 'a hash was logged')
      assert.ok(!logged.includes(kept.secretHash.slice(7, 20)), 'part of a hash was logged')

      // A write never replaces a file it cannot read: the hand edit stays for the operator to fix.
      await assert.rejects(store.create(makeRecord()), KeyFileInvalidError)
      assert.match(await readFile(path, 'utf8'), /admin/)

      const fixed = makeRecord()
      await replaceFile(path, JSON.stringify({ version: 1, keys: [kept, fixed] }))
      await waitFor(async () => (await store.get(fixed.id)) !== null, 10_000)
    } finally {
      await store.close()
    }
  })

  it('refuses to open a file that does not parse, naming the problem but no value', async () => {
    const path = await keyFile()
    const record = makeRecord()
    await writeFile(path, `{"version":1,"keys":[${JSON.stringify({ ...record, enabled: 'yes' })}]`)
    await assert.rejects(openFileKeyStore(path, { watch: false }), (err: Error) => {
      assert.ok(err instanceof KeyFileInvalidError)
      assert.ok(!err.message.includes(record.secretHash))
      return true
    })
    await writeFile(path, JSON.stringify({ version: 1, keys: [{ ...record, enabled: 'yes' }] }))
    await assert.rejects(openFileKeyStore(path, { watch: false }), /keys\[0\]\.enabled/)
    await writeFile(path, JSON.stringify({ version: 1, keys: [record, record] }))
    await assert.rejects(openFileKeyStore(path, { watch: false }), /keys\[1\]\.id: is used twice/)
    await writeFile(path, JSON.stringify({ version: 2, keys: [] }))
    await assert.rejects(openFileKeyStore(path, { watch: false }), /version/)
  })

  it('writes last-used times in batches, not per request, and on close', async () => {
    const path = await keyFile()
    const store = await openFileKeyStore(path, { watch: false, touchFlushMs: 200 })
    const record = makeRecord()
    await store.create(record)
    const written = await readFile(path, 'utf8')
    store.touch(record.id, 1_750_000_000)
    assert.equal(await readFile(path, 'utf8'), written, 'touch wrote at once')
    await waitFor(async () => (await readFile(path, 'utf8')).includes('1750000000'), 10_000)
    store.touch(record.id, 1_750_000_100)
    await store.close()
    assert.match(await readFile(path, 'utf8'), /"lastUsedAt": 1750000100/)
  })

  it('does not report a use as a change to listeners', async () => {
    const path = await keyFile()
    const serve = await openFileKeyStore(path, { logger: quiet, pollMs: 50 })
    const other = await openFileKeyStore(path, { watch: false })
    const record = makeRecord()
    await other.create(record)
    await waitFor(async () => (await serve.get(record.id)) !== null, 10_000)
    const changes: unknown[] = []
    serve.onChange((c) => changes.push(c))
    other.touch(record.id, 1_750_000_000)
    await other.close() // flushes the use to the file
    await waitFor(async () => (await serve.get(record.id))?.lastUsedAt === 1_750_000_000, 10_000)
    assert.deepEqual(changes, [])
    await serve.close()
  })

  it('removes temp files that a crashed writer left behind', async () => {
    const path = await keyFile()
    const orphan = join(path, '..', '.apikeys.json.tmp-999999-abcdef')
    await writeFile(orphan, '{"version":1,"ke')
    const store = await openFileKeyStore(path, { watch: false })
    await store.create(makeRecord())
    await store.close()
    assert.deepEqual((await readdir(join(path, '..'))).sort(), ['apikeys.json'])
  })

  describe('lock file', () => {
    const lockOf = (path: string) => `${path}.lock`
    const owner = (pid: number, at: number, host = hostname()) => JSON.stringify({ pid, host, token: 'someone-else', at })

    // Without a takeover a write waits for the lock until it turns stale (10 s), so
    // finishing well inside that shows the takeover, whatever the machine's load.
    const STALE_MS = 10_000

    it('takes over a lock whose process is dead', async () => {
      const path = await keyFile()
      await writeFile(lockOf(path), owner(await deadPid(), Date.now()))
      const store = await openFileKeyStore(path, { watch: false })
      const record = makeRecord()
      const start = Date.now()
      await store.create(record)
      assert.ok(Date.now() - start < STALE_MS / 2, 'the dead owner\'s lock was taken over, not waited out')
      await store.close()
      assert.deepEqual(await idsOnDisk(path), [record.id])
      await assert.rejects(stat(lockOf(path)), { code: 'ENOENT' })
    })

    it('takes over a lock older than ten seconds even when its process lives', async () => {
      const path = await keyFile()
      const lockedAt = Date.now()
      await writeFile(lockOf(path), owner(process.pid, lockedAt))
      // The store's clock says 10.001 s have passed; the lock file's owner (this live process) never let go.
      const store = await openFileKeyStore(path, { watch: false, now: () => lockedAt + STALE_MS + 1 })
      const record = makeRecord()
      const start = Date.now()
      await store.create(record)
      assert.ok(Date.now() - start < STALE_MS / 2, 'taken over at once, not after the wall-clock staleness')
      await store.close()
      assert.deepEqual(await idsOnDisk(path), [record.id])
      await assert.rejects(stat(lockOf(path)), { code: 'ENOENT' }, 'the taken-over lock is gone and ours released')
    })

    it('does not take over a live process\'s lock one millisecond before it turns stale', async () => {
      const path = await keyFile()
      const lockedAt = Date.now()
      await writeFile(lockOf(path), owner(process.pid, lockedAt))
      // The kernel stamps mtime from a coarse clock that can lag Date.now() by a tick:
      // pin it to lockedAt, so "one millisecond before stale" holds for both readings.
      await utimes(lockOf(path), lockedAt / 1000, lockedAt / 1000)
      const store = await openFileKeyStore(path, { watch: false, now: () => lockedAt + STALE_MS - 1 })
      let done = false
      const creating = store.create(makeRecord()).then(() => (done = true))
      await new Promise((r) => setTimeout(r, 300))
      assert.equal(done, false, 'took over a lock that was not yet stale')
      assert.match(await readFile(lockOf(path), 'utf8'), /someone-else/)
      await unlink(lockOf(path))
      await creating
      await store.close()
    })

    it('waits for a fresh lock held by a live process, then writes', async () => {
      const path = await keyFile()
      await writeFile(lockOf(path), owner(process.pid, Date.now()))
      const store = await openFileKeyStore(path, { watch: false })
      let done = false
      const creating = store.create(makeRecord()).then(() => (done = true))
      await new Promise((r) => setTimeout(r, 300))
      assert.equal(done, false, 'wrote while another process held the lock')
      await unlink(lockOf(path))
      await creating
      await store.close()
    })

    it('does not judge a pid from another host: a fresh lock from elsewhere is waited for', async () => {
      const path = await keyFile()
      await writeFile(lockOf(path), owner(await deadPid(), Date.now(), 'some-other-node'))
      const store = await openFileKeyStore(path, { watch: false })
      let done = false
      const creating = store.create(makeRecord()).then(() => (done = true))
      await new Promise((r) => setTimeout(r, 300))
      assert.equal(done, false)
      await unlink(lockOf(path))
      await creating
      await store.close()
    })
  })

  describe('crash mid-write', () => {
    let path: string
    before(async () => {
      path = await keyFile()
    })

    it('always leaves a file that parses and holds every key the killed writer reported', async () => {
      const reported = new Set<string>()
      for (let run = 0; run < 6; run++) {
        const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] })
        let stderr = ''
        child.stderr.on('data', (d) => (stderr += d))
        const lines = createInterface({ input: child.stdout })
        let first!: () => void
        const started = new Promise<void>((resolve) => (first = resolve))
        lines.on('line', (line) => {
          const m = /^created (\w+)$/.exec(line)
          if (m) reported.add(m[1] as string)
          first()
        })
        const exited = once(child, 'exit')
        const closed = once(lines, 'close')
        await Promise.race([started, exited.then(() => assert.fail(`writer exited early: ${stderr}`))])
        await new Promise((r) => setTimeout(r, Math.random() * 150))
        child.kill('SIGKILL')
        await exited
        await closed

        const onDisk = new Set(await idsOnDisk(path)) // throws if the file is torn
        for (const id of reported) assert.ok(onDisk.has(id), `run ${run}: reported key ${id} is missing`)
      }
      assert.ok(reported.size > 6)
      const store = await openFileKeyStore(path, { watch: false }) // and the store opens it, taking over any lock
      await store.create(makeRecord())
      assert.ok((await store.list()).length > reported.size)
      await store.close()
    })
  })
})
