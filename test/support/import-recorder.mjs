// `node --import ./test/support/import-recorder.mjs …`: appends the name of every
// package resolved from node_modules to the file in IMPORT_RECORD (one a line), so a
// test can see what a command loaded (test/e2e/lean-start.test.ts).
import { appendFileSync } from 'node:fs'
import { register } from 'node:module'
import { isMainThread } from 'node:worker_threads'

if (isMainThread) register(import.meta.url)

const PACKAGE = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  const m = PACKAGE.exec(resolved.url)
  if (m && process.env.IMPORT_RECORD) appendFileSync(process.env.IMPORT_RECORD, `${m[1]}\n`)
  return resolved
}
