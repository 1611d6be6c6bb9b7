// `node --import ./test/support/import-recorder.mjs …`: appends the name of every
// package resolved from node_modules, `dist:<file>` for each of Gatehouse's own
// built files, `file:<package>/<path>` for the file a package import resolved to, and
// at exit `node:<name>` for each built-in module loaded, node's `internal/…` ones
// included (process.moduleLoadList, however it was loaded), to the file in
// IMPORT_RECORD (one a line), so a test can see what a command loaded
// (test/e2e/lean-start.test.ts). Packages bundled into dist/ by deploy/bundle.mjs
// are part of those files, not resolved from node_modules.
import { appendFileSync } from 'node:fs'
import { register } from 'node:module'
import { isMainThread } from 'node:worker_threads'

if (isMainThread) {
  register(import.meta.url)
  process.on('exit', () => {
    const record = process.env.IMPORT_RECORD
    const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule '))
    if (record) appendFileSync(record, builtins.map((m) => `node:${m.slice('NativeModule '.length)}\n`).join(''))
  })
}

const PACKAGE = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/
const OWN = /\/dist\/(.+\.js)$/

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  const record = process.env.IMPORT_RECORD
  const m = PACKAGE.exec(resolved.url)
  const own = m ? null : OWN.exec(resolved.url)
  if (record && m) appendFileSync(record, `${m[1]}\nfile:${m[1]}/${m[2]}\n`)
  else if (record && own) appendFileSync(record, `dist:${own[1]}\n`)
  return resolved
}
