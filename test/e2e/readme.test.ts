// The README's commands work as written (issue 3, "Done when"): the ```sh block of
// "The life of a credential" runs once, unedited but for the demo's address,
// against `npm start`'s demo, and every `curl -i` answers with the status its
// `# -> NNN` annotation promises, in order. And "Try it" names the two commands
// a newcomer types.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { startDemo } from '../support/gatehouse-process.js'
import { findTool } from '../support/tools.js'

const root = path.resolve(import.meta.dirname, '../..')
const curl = findTool('curl', 'GATEHOUSE_CURL', 'install curl (`apt-get install curl`; .ci/run does)')

/** The text of the `## title` section of a Markdown document, up to the next `## `. */
function section(markdown: string, title: string): string {
  const lines = markdown.split('\n')
  const start = lines.findIndex((l) => l.trim() === `## ${title}`)
  assert.ok(start >= 0, `README has a "## ${title}" section`)
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l))
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n')
}

/** Every ```lang fenced block of `text`, in order. */
function fencedBlocks(text: string, lang: string): string[] {
  const out: string[] = []
  const re = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```\\s*$', 'gm')
  for (const m of text.matchAll(re)) out.push(m[1] as string)
  return out
}

test('README "Try it" names `npm ci && npm start` and `npm ci && npm test`', async () => {
  const tryIt = section(await readFile(path.join(root, 'README.md'), 'utf8'), 'Try it')
  const commands = fencedBlocks(tryIt, 'sh').map((b) => b.trim())
  assert.ok(commands.includes('npm ci && npm start'), `sh blocks of "Try it": ${JSON.stringify(commands)}`)
  assert.ok(commands.includes('npm ci && npm test'), `sh blocks of "Try it": ${JSON.stringify(commands)}`)
})

test('README "The life of a credential": the block runs against the demo and every curl answers as annotated', { skip: curl.skip, timeout: 60_000 }, async () => {
  const curlPath = curl.require()
  const readme = await readFile(path.join(root, 'README.md'), 'utf8')
  const blocks = fencedBlocks(section(readme, 'The life of a credential'), 'sh')
  assert.ok(blocks.length >= 1, 'the section has a ```sh block')
  const block = blocks[0] as string
  assert.match(block, /127\.0\.0\.1:8080/, 'the block talks to the demo address')
  const expected = [...block.matchAll(/# -> (\d{3})\b/g)].map((m) => Number(m[1]))
  assert.ok(expected.length >= 5, `annotations found: ${expected.join(' ')}`)

  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-readme-'))
  const demo = await startDemo(dir, 20_000).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true })
    throw err
  })
  try {
    const out = demo.output()
    const address = /^\s*proxy\s+http:\/\/(127\.0\.0\.1:\d+)\s/m.exec(out)?.[1]
    assert.ok(address, `the demo prints its proxy address:\n${out}`)

    // The block as a reader pastes it; only the port differs. `node -pe` and `curl` come from
    // the running node and the curl that was found, ahead of anything else on PATH.
    const script = block.replaceAll('127.0.0.1:8080', address)
    const PATH = [path.dirname(process.execPath), path.dirname(curlPath), process.env.PATH ?? ''].join(path.delimiter)
    const { stdout, stderr, code } = await bash(script, { ...process.env, PATH })

    // Status lines may follow a body without a trailing newline, so they are not anchored to a line start.
    const got = [...stdout.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))
    const context = `\n--- script\n${script}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`
    assert.deepEqual(got, expected, `HTTP status lines, in order, against the # -> annotations (bash exit ${code})${context}`)
  } finally {
    const { code } = await demo.stop()
    await rm(dir, { recursive: true, force: true })
    assert.equal(code, 0, `the demo exits 0 on SIGTERM:\n${demo.output()}`)
  }
})

/** Runs `script` with bash once (no `set -e`: every line runs), from the repository root. */
function bash(script: string, env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', script], { cwd: root, env, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err)
      resolve({ stdout, stderr, code: typeof err?.code === 'number' ? err.code : 0 })
    })
  })
}
