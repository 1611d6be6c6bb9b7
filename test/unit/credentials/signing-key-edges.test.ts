// loadSigningKeys at its edges (issue 19, mutation testing): each refusal with its exact
// message (an encrypted key must be named as such, not as unreadable), the 64 KiB cap on a
// PEM file exactly, a data folder whose key path cannot be read, an unreadable previous
// key, and no file handle left open after a key is generated.
import { strict as assert } from 'node:assert'
import { generateKeyPairSync } from 'node:crypto'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { GENERATED_KEY_FILE, loadSigningKeys } from '../../../src/credentials/signing-key.js'
import type { Checked, Problem } from '../../../src/config/problem.js'

let dir: string
let n = 0
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-signing-edges-'))
})
after(() => rm(dir, { recursive: true, force: true }))

const ecKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
const UNREADABLE = 'not a key node:crypto can read (unencrypted PKCS#8, PKCS#1 RSA, SEC1 EC or SPKI PEM)'

async function file(text: string | Buffer): Promise<string> {
  const path = join(dir, `key-${n++}.pem`)
  await writeFile(path, text)
  return path
}
function problemsOf<T>(result: Checked<T>): Problem[] {
  assert.equal(result.ok, false, 'expected problems')
  return result.ok ? [] : result.problems
}
const current = (message: string): Problem[] => [{ path: 'issuer.signingKeyFile', message }]

describe('loadSigningKeys: exact refusals', () => {
  it('an encrypted key, PKCS#8 or traditional (Proc-Type), is named as encrypted', async () => {
    const pkcs8 = await file(ecKey().export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }))
    const sec1 = await file(ecKey().export({ type: 'sec1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }))
    for (const path of [pkcs8, sec1]) {
      assert.deepEqual(problemsOf(await loadSigningKeys({ signingKeyFile: path, dataDir: dir })), current(`${path} is encrypted; give an unencrypted PEM key (file mode 0600)`))
    }
  })

  it('a Proc-Type line only counts at the start of a line', async () => {
    const pem = ecKey().export({ type: 'sec1', format: 'pem' }) as string
    const lines = pem.split('\n')
    const path = await file([lines[0], ' Proc-Type: 4,ENCRYPTED', ...lines.slice(1)].join('\n'))
    assert.deepEqual(problemsOf(await loadSigningKeys({ signingKeyFile: path, dataDir: dir })), current(`${path}: ${UNREADABLE}`))
  })

  it('a PEM file of 64 KiB is read, one byte more is refused unread', async () => {
    const pem = ecKey().export({ type: 'pkcs8', format: 'pem' }) as string
    const exact = await file(pem + '\n'.repeat(64 * 1024 - pem.length))
    assert.equal((await loadSigningKeys({ signingKeyFile: exact, dataDir: dir })).ok, true)
    const over = await file(pem + '\n'.repeat(64 * 1024 + 1 - pem.length))
    assert.deepEqual(problemsOf(await loadSigningKeys({ signingKeyFile: over, dataDir: dir })), current(`${over} is not a PEM key file`))
  })

  it('a file without a PEM line is not a PEM key file', async () => {
    const path = await file('{"kty":"EC"}')
    assert.deepEqual(problemsOf(await loadSigningKeys({ signingKeyFile: path, dataDir: dir })), current(`${path} is not a PEM key file`))
  })

  it('a previous key PEM that is no key is named with its index', async () => {
    const signing = await file(ecKey().export({ type: 'pkcs8', format: 'pem' }))
    const garbage = await file('-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n')
    assert.deepEqual(problemsOf(await loadSigningKeys({ signingKeyFile: signing, previousKeyFiles: [garbage], dataDir: dir })), [
      { path: 'issuer.previousKeyFiles[0]', message: `${garbage}: ${UNREADABLE}` },
    ])
  })
})

describe('loadSigningKeys: the generated key', () => {
  it('a key path in the data folder that cannot be read is reported, not replaced', async () => {
    const dataDir = join(dir, 'data-dir-in-the-way')
    const keyPath = join(dataDir, GENERATED_KEY_FILE)
    await mkdir(keyPath, { recursive: true })
    assert.deepEqual(problemsOf(await loadSigningKeys({ dataDir })), current(`absent, and the generated key ${keyPath} cannot be read: EISDIR`))
    assert.deepEqual(await readdir(dataDir), [GENERATED_KEY_FILE], 'nothing written beside it')
  })

  it('a data folder under a file is one problem, with the path that could not be read', async () => {
    const blocker = await file('x')
    const keyPath = join(blocker, 'data', GENERATED_KEY_FILE)
    assert.deepEqual(problemsOf(await loadSigningKeys({ dataDir: join(blocker, 'data') })), current(`absent, and the generated key ${keyPath} cannot be read: ENOTDIR`))
  })

  it('leaves no file handle open', { skip: process.platform !== 'linux' && 'counts /proc/self/fd' }, async () => {
    const open = async () => (await readdir('/proc/self/fd')).length
    const before = await open()
    for (let i = 0; i < 3; i++) assert.equal((await loadSigningKeys({ dataDir: join(dir, `data-fd-${i}`) })).ok, true)
    assert.equal(await open(), before)
  })
})
