// What the `keys` commands read and write: streams, the store opener, env and clock (injected by main.ts and the tests).
import type { UserDirectory } from '../accounts/users.js'
import type { KeyStore } from '../keystore/key-store.js'

export type StoreType = 'file' | 'redis'

export interface KeysIo {
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  /** Loads the config file and opens its store (without watching). Its errors propagate to the caller. */
  readonly loadStore: (configPath: string) => Promise<KeyStore>
  /** Opens the config's store of this type, whatever store.type says (keys migrate). */
  readonly openStore?: (configPath: string, type: StoreType) => Promise<KeyStore>
  /** The config's API names and users file, which `keys create` checks a new key against. */
  readonly loadHolders?: (configPath: string) => Promise<KeyHolders>
  /** For GATEHOUSE_CONFIG; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Milliseconds clock; default Date.now. */
  readonly now?: () => number
}

/** Who may hold a key under a config: its APIs, and its users file's users when it has one. */
export interface KeyHolders {
  readonly apiNames: readonly string[]
  readonly users: { readonly file: string; readonly directory: UserDirectory } | null
}
