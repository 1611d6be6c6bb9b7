// `gatehouse keys create|list|revoke` (SPEC §1), run in-process against a real
// file store, with stdout and stderr captured.
import { strict as assert } from 'node:assert'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, beforeEach, describe, it } from 'node:test'
import { keysCommand } from '../../../src/cli/keys.js'
import { parseApiKey } from '../../../src/credentials/api-key.js'
import { verifyApiKey } from '../../../src/keystore/verify-api-key.js'
import { openFileKeyStore } from '../../../src/keystore/file-key-store.js'
import type { KeyStore } from '../../../src/keystore/key-store.js'

const NOW_MS = Date.UTC(2025, 0, 15, 12, 0, 0)
const NOW = NOW_MS / 1000

class Capture extends Writable {
  text = ''
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString()
    done()
  }
}

const dirs: string[] = []
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

describe('gatehouse keys', () => {
  let keyFile: string
  let opened: string[]

  beforeEach(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-keys-'))
    dirs.push(dir)
    keyFile = join(dir, 'data', 'apikeys.json')
    opened = []
  })

  async function run(argv: string[], env: Record<string, string> = {}) {
    const stdout = new Capture()
    const stderr = new Capture()
    const code = await keysCommand(argv, {
      stdout,
      stderr,
      env,
      now: () => NOW_MS,
      loadStore: async (configPath) => {
        opened.push(configPath)
        return openFileKeyStore(keyFile, { watch: false })
      },
    })
    return { code, out: stdout.text, err: stderr.text }
  }

  async function withStore<T>(fn: (store: KeyStore) => Promise<T>): Promise<T> {
    const store = await openFileKeyStore(keyFile, { watch: false })
    try {
      return await fn(store)
    } finally {
      await store.close()
    }
  }

  async function create(...extra: string[]): Promise<{ id: string; key: string }> {
    const r = await run(['create', '--config', 'gh.yaml', '--user', 'alice', '--permissions', 'users:rw', ...extra, '--json'])
    assert.equal(r.code, 0, r.err)
    return JSON.parse(r.out) as { id: string; key: string }
  }

  describe('create', () => {
    it('prints only the key on stdout, and a key that works', async () => {
      const r = await run(['create', '--config', 'gh.yaml', '--user', 'alice', '--permissions', 'users:rw,sessions:r'])
      assert.equal(r.code, 0, r.err)
      assert.deepEqual(opened, ['gh.yaml'])
      const key = r.out.trimEnd()
      assert.equal(r.out, `${key}\n`)
      const parsed = parseApiKey(key)
      assert.ok(parsed)
      assert.match(r.err, new RegExp(`created key ${parsed.id} for alice \\(sessions:r users:rw\\), never expires`))
      assert.match(r.err, /shown only this once/)
      const verified = await withStore((store) => verifyApiKey(key, store, NOW))
      assert.ok(verified.ok)
      assert.deepEqual({ ...verified.identity.permissions }, { users: 'rw', sessions: 'r' })
    })

    it('prints one JSON object with the id, the key and the metadata, but no hash', async () => {
      const r = await run([
        'create', '--config', 'gh.yaml', '--user', 'svc-billing', '--permissions', 'users:r', '--expires', 'PT1H',
        '--ip-filter', '10.0.0.0/8, 2001:db8::/32', '--description', 'nightly billing export', '--json',
      ])
      assert.equal(r.code, 0, r.err)
      const out = JSON.parse(r.out) as Record<string, unknown>
      assert.equal(r.out.trim().split('\n').length, 1)
      assert.deepEqual(Object.keys(out).sort(), [
        'createdAt', 'description', 'enabled', 'expiresAt', 'id', 'ipFilter', 'key', 'lastUsedAt', 'permissions', 'user',
      ])
      assert.equal(parseApiKey(out.key as string)?.id, out.id)
      // id and key are random: their shapes (SPEC §5: gh_<12 id>_<32 secret><6 crc>), the rest exactly.
      const { id, key, ...rest } = out
      assert.match(String(id), /^[0-9A-Za-z]{12}$/)
      assert.match(String(key), new RegExp(`^gh_${String(id)}_[0-9A-Za-z]{38}$`))
      assert.deepEqual(rest, {
        user: 'svc-billing',
        description: 'nightly billing export',
        permissions: { users: 'r' },
        ipFilter: ['10.0.0.0/8', '2001:db8::/32'],
        expiresAt: '2025-01-15T13:00:00Z',
        enabled: true,
        createdAt: '2025-01-15T12:00:00Z',
        lastUsedAt: null,
      })
      assert.ok(!r.out.includes('sha256:'))
      const record = await withStore((store) => store.get(out.id as string))
      assert.equal(record?.expiresAt, NOW + 3600)
    })

    it('creates a disabled key with --disabled', async () => {
      const { key } = await create('--disabled')
      assert.deepEqual(await withStore((store) => verifyApiKey(key, store, NOW)), { ok: false, reason: 'key_disabled' })
    })

    it('takes the config file from GATEHOUSE_CONFIG when --config is absent', async () => {
      const r = await run(['create', '--user', 'alice', '--permissions', 'users:r'], { GATEHOUSE_CONFIG: '/etc/gh.yaml' })
      assert.equal(r.code, 0, r.err)
      assert.deepEqual(opened, ['/etc/gh.yaml'])
    })

    const usageErrors: [string, string[], RegExp][] = [
      ['no --config', ['--user', 'alice', '--permissions', 'users:r'], /needs --config/],
      ['no --user', ['--config', 'c', '--permissions', 'users:r'], /needs --user/],
      ['no --permissions', ['--config', 'c', '--user', 'alice'], /needs --permissions/],
      ['an empty --permissions', ['--config', 'c', '--user', 'alice', '--permissions', ''], /at least one/],
      ['a level that does not exist', ['--config', 'c', '--user', 'alice', '--permissions', 'users:admin'], /level none, r or rw/],
      ['years in --expires', ['--config', 'c', '--user', 'alice', '--permissions', 'users:r', '--expires', 'P1Y'], /--expires: .*PnDTnHnMnS/],
      ['a zero --expires', ['--config', 'c', '--user', 'alice', '--permissions', 'users:r', '--expires', 'PT0S'], /--expires: .*zero/],
      ['a CIDR with host bits', ['--config', 'c', '--user', 'alice', '--permissions', 'users:r', '--ip-filter', '10.0.0.1/8'], /--ip-filter: .*host bits/],
      ['an IP filter that is not an address', ['--config', 'c', '--user', 'alice', '--permissions', 'users:r', '--ip-filter', 'localhost'], /--ip-filter/],
      ['a user with a newline', ['--config', 'c', '--user', 'alice\nX-Auth-User: root', '--permissions', 'users:r'], /--user/],
      ['a description with terminal escapes', ['--config', 'c', '--user', 'alice', '--permissions', 'users:r', '--description', '\u001b[2J'], /--description/],
      ['an unknown option', ['--config', 'c', '--user', 'alice', '--permissions', 'users:r', '--admin'], /unknown option --admin; it takes --config VALUE, --help, --user VALUE/],
      ['a stray argument', ['--config', 'c', '--user', 'alice', '--permissions', 'users:r', 'extra'], /unexpected argument #7 \(not shown\)/],
      ['--user without a value', ['--config', 'c', '--permissions', 'users:r', '--user'], /--user/],
    ]
    for (const [name, args, message] of usageErrors) {
      it(`refuses ${name} with exit 1, before opening the store`, async () => {
        const r = await run(['create', ...args])
        assert.equal(r.code, 1)
        assert.match(r.err, message)
        assert.match(r.err, /usage:/)
        assert.equal(r.out, '')
        assert.deepEqual(opened, [])
      })
    }
  })

  describe('list', () => {
    it('lists keys as a table, with status, and never a key or hash', async () => {
      const a = await create('--description', 'deploy bot')
      const b = await create('--disabled')
      const c = await create('--expires', 'PT1S')
      const r = await run(['list', '--config', 'gh.yaml'])
      assert.equal(r.code, 0, r.err)
      const lines = r.out.trimEnd().split('\n')
      assert.match(lines[0] ?? '', /^ID\s+USER\s+STATUS\s+EXPIRES\s+LAST USED\s+PERMISSIONS\s+IP FILTER\s+DESCRIPTION$/)
      assert.equal(lines.length, 4)
      assert.match(r.out, new RegExp(`${a.id}\\s+alice\\s+active\\s+never\\s+never\\s+users:rw\\s+any\\s+deploy bot`))
      assert.match(r.out, new RegExp(`${b.id}\\s+alice\\s+disabled`))
      assert.match(r.out, new RegExp(`${c.id}\\s+alice\\s+active\\s+2025-01-15T12:00:01Z`))
      for (const k of [a, b, c]) assert.ok(!r.out.includes(k.key.slice(16, 48)), 'a secret was listed')
      assert.ok(!r.out.includes('sha256:'))
    })

    it('lists keys as a JSON array with --json, filtered by --user', async () => {
      const a = await create()
      await run(['create', '--config', 'c', '--user', 'bob', '--permissions', 'users:r'])
      const r = await run(['list', '--config', 'gh.yaml', '--json', '--user', 'alice'])
      assert.equal(r.code, 0, r.err)
      const list = JSON.parse(r.out) as Record<string, unknown>[]
      assert.equal(list.length, 1)
      assert.equal(list[0]?.id, a.id)
      assert.equal(list[0]?.user, 'alice')
      assert.ok(!('secretHash' in (list[0] ?? {})) && !('key' in (list[0] ?? {})))
      assert.ok(!r.out.includes('sha256:'))
    })

    it('says so on stderr when there are no keys, leaving stdout empty', async () => {
      const r = await run(['list', '--config', 'gh.yaml'])
      assert.deepEqual(r, { code: 0, out: '', err: 'no API keys\n' })
      assert.equal((await run(['list', '--config', 'gh.yaml', '--json'])).out, '[]\n')
    })
  })

  describe('revoke', () => {
    it('revokes keys, prints each, and the keys stop working', async () => {
      const a = await create()
      const b = await create()
      const keep = await create()
      const r = await run(['revoke', '--config', 'gh.yaml', a.id, b.id])
      assert.deepEqual(r, { code: 0, out: `revoked ${a.id}\nrevoked ${b.id}\n`, err: '' })
      await withStore(async (store) => {
        assert.deepEqual(await verifyApiKey(a.key, store, NOW), { ok: false, reason: 'key_unknown' })
        assert.equal((await verifyApiKey(keep.key, store, NOW)).ok, true)
      })
    })

    it('exits 1 naming an unknown id, after revoking the known ones', async () => {
      const a = await create()
      const r = await run(['revoke', '--config', 'gh.yaml', 'AAAAAAAAAAAA', a.id])
      assert.equal(r.code, 1)
      assert.equal(r.out, `revoked ${a.id}\n`)
      assert.equal(r.err, 'unknown key id AAAAAAAAAAAA\n')
    })

    it('never echoes a whole key given instead of an id, and revokes nothing for it', async () => {
      const a = await create()
      const r = await run(['revoke', '--config', 'gh.yaml', a.key, 'not-an-id!'])
      assert.equal(r.code, 1)
      assert.ok(!r.err.includes(a.key.slice(16, 48)) && !r.out.includes(a.key.slice(16, 48)))
      assert.match(r.err, new RegExp(`argument 1 is a whole API key, not an id \\(its id is ${a.id}\\)`))
      assert.match(r.err, /argument 2 is not a key id/)
      assert.notEqual(await withStore((store) => store.get(a.id)), null)
    })

    it('refuses a revoke without ids', async () => {
      const r = await run(['revoke', '--config', 'gh.yaml'])
      assert.equal(r.code, 1)
      assert.match(r.err, /at least one key id/)
    })
  })

  it('refuses an unknown subcommand and prints usage for --help', async () => {
    const bad = await run(['rotate', '--config', 'c'])
    assert.equal(bad.code, 1)
    assert.match(bad.err, /unknown keys command "rotate"/)
    const none = await run([])
    assert.equal(none.code, 1)
    const help = await run(['--help'])
    assert.equal(help.code, 0)
    assert.match(help.out, /gatehouse keys create/)
    assert.equal((await run(['list', '--help'])).code, 0)
  })

  it('exits 2 with the reason when the store cannot write, and lets config errors through', async () => {
    const stderr = new Capture()
    const code = await keysCommand(['revoke', '--config', 'c', 'AAAAAAAAAAAA'], {
      stdout: new Capture(),
      stderr,
      env: {},
      loadStore: async () => {
        const store = await openFileKeyStore(keyFile, { watch: false })
        await mkdir(join(keyFile, '..'), { recursive: true })
        await writeFile(keyFile, '{"version": 1, "keys": [') // corrupted by hand after the store opened
        return store
      },
    })
    assert.equal(code, 2)
    assert.match(stderr.text, /^gatehouse keys revoke: key file .* is invalid: not valid JSON\n$/)
    const failing = keysCommand(['list', '--config', 'c'], {
      stdout: new Capture(),
      stderr: new Capture(),
      env: {},
      loadStore: async () => {
        throw new Error('config invalid')
      },
    })
    await assert.rejects(failing, /config invalid/)
  })
})
