// `node --import ./test/support/import-recorder.mjs …`: appends the name of every
// package resolved from node_modules, and `dist:<file>` for each of Gatehouse's own
// built files, to the file in IMPORT_RECORD (one a line), so a test can see what a
// command loaded (test/e2e/lean-start.test.ts). Packages bundled into dist/ by
// deploy/bundle.mjs are part of those files, not resolved from node_modules.
// Also `file:<package>/<path>` for the file a package import resolved to, and at
// exit `node:<module>` for each of node's own modules the process loaded.
import { appendFileSync } from 'node:fs'
import { register } from 'node:module'
import { isMainThread } from 'node:worker_threads'

if (isMainThread) {
  register(import.meta.url)
  process.once('exit', () => {
    const record = process.env.IMPORT_RECORD
    const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => `node:${m.slice('NativeModule '.length)}\n`)
    if (record) appendFileSync(record, builtins.join(''))
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
