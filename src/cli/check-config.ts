// `gatehouse check-config`: every problem as `file: path: message`, exit 0 or 1.
import { compileRuntime } from '../runtime/compile.js'
import { loadConfigFile } from '../config/load.js'
import { formatProblems } from '../config/problem.js'
import { createVerifiedCache } from '../credentials/verified-cache.js'
import { openKeyStore } from '../keystore/open-key-store.js'

export async function checkConfig(file: string, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const loaded = await loadConfigFile(file)
  if (!loaded.ok) {
    err.write(formatProblems(file, loaded.problems) + '\n')
    return 1
  }
  let store
  try {
    // connect: false — a config is checked without reaching Redis (like fetchKeys: false for JWKS).
    store = await openKeyStore(loaded.value.config.store, { watch: false, connect: false })
  } catch (e) {
    err.write(`${file}: store: cannot open the key store: ${(e as Error).message}\n`)
    return 1
  }
  try {
    const compiled = await compileRuntime(loaded.value, { store, cache: createVerifiedCache(0, 1), onCache: () => {}, fetchKeys: false })
    if (!compiled.ok) {
      err.write(formatProblems(file, compiled.problems) + '\n')
      return 1
    }
    compiled.value.close()
  } finally {
    await store.close()
  }
  out.write(`${file}: ok\n`)
  return 0
}
