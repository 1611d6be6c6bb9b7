// `gatehouse check-config`: every problem as `file: path: message`, exit 0 or 1.
// A key store that cannot be opened is one problem among the others: the rest of
// the config is still compiled (against a store that answers nothing) and reported.
import { readFile } from 'node:fs/promises'
import { compileRuntime } from '../runtime/compile.js'
import { loadConfigFile } from '../config/load.js'
import { formatProblems, type Problem } from '../config/problem.js'
import type { VerifiedCache } from '../credentials/verified-cache.js'
import { StoreUnavailableError, type KeyStore } from '../keystore/key-store.js'
import { openKeyStore } from '../keystore/open-key-store.js'

export async function checkConfig(file: string, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const loaded = await loadConfigFile(file)
  if (!loaded.ok) {
    err.write(formatProblems(file, loaded.problems) + '\n')
    return 1
  }
  const problems: Problem[] = await tlsProblems(loaded.value.config.tls)
  let store: KeyStore
  try {
    // connect: false — a config is checked without reaching Redis (like fetchKeys: false for JWKS).
    store = await openKeyStore(loaded.value.config.store, { watch: false, connect: false })
  } catch (e) {
    problems.push({ path: 'store', message: `cannot open the key store: ${(e as Error).message}` })
    store = unopenedStore()
  }
  try {
    const compiled = await compileRuntime(loaded.value, { store, cache: KEEPS_NOTHING, onCache: () => {}, fetchKeys: false })
    if (compiled.ok) compiled.value.close()
    else problems.push(...compiled.problems)
  } finally {
    await store.close()
  }
  if (problems.length > 0) {
    err.write(formatProblems(file, problems) + '\n')
    return 1
  }
  out.write(`${file}: ok\n`)
  return 0
}

/** check-config verifies no credential: a cache that keeps none, without loading lru-cache (issue 17). */
const KEEPS_NOTHING: VerifiedCache = { get: () => undefined, set: () => {}, dropKeys: () => {}, clear: () => {}, size: 0 }

/** The certificate and key load together as serve loads them (serve exits 2 when they do not). */
async function tlsProblems(tls: { certFile: string; keyFile: string } | undefined): Promise<Problem[]> {
  if (!tls) return []
  // node:tls costs ~35 ms CPU to load: only a config with tls: pays for it (issue 17).
  const { createSecureContext } = await import('node:tls')
  try {
    createSecureContext({ cert: await readFile(tls.certFile), key: await readFile(tls.keyFile) })
    return []
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message
    return [{ path: 'tls', message: `cannot load the certificate and key (${code}): certFile must hold a PEM certificate (BEGIN CERTIFICATE) and keyFile its PEM private key` }]
  }
}

/** Stands in for a store that could not be opened: compiling reads no key, and nothing else runs. */
function unopenedStore(): KeyStore {
  const unavailable = () => Promise.reject(new StoreUnavailableError('the key store could not be opened'))
  return {
    get: unavailable,
    list: unavailable,
    create: unavailable,
    update: unavailable,
    revoke: unavailable,
    touch: () => {},
    revokeJwt: unavailable,
    isJwtRevoked: () => false,
    listRevokedJwts: unavailable,
    onChange: () => () => {},
    isReady: async () => false,
    close: async () => {},
  }
}
