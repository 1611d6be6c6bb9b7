// A RemoteJwks on `data:` URLs (issue 19, mutation testing): fetch() reads a data: URL like any
// response (status 200, a streamed body) without a socket; the clock is injected and every
// callback is recorded. Used by test/unit/credentials/remote-jwks*.test.ts.
import type { TestContext } from 'node:test'
import { errors, type JSONWebKeySet } from 'jose'
import { RemoteJwks, type RemoteJwksTiming } from '../../src/credentials/remote-jwks.js'

export const T0 = 1_000_000
export const COOLDOWN = 1000

/** A URL whose fetch answers 200 with exactly this body. */
export const dataUrl = (body: string): URL => new URL(`data:application/json,${encodeURIComponent(body)}`)
export const setUrl = (set: JSONWebKeySet): URL => dataUrl(JSON.stringify(set))

export interface Rig {
  readonly remote: RemoteJwks
  readonly fetchErrors: string[]
  readonly located: { count: number }
  removed: number
  clock: number
  /** The address `locate` answers (discovery rigs only). */
  address: URL
  /** Whether the set holds this kid (an unknown kid may fetch, as a token would make it). */
  has(kid: string): Promise<boolean>
}

/** `discovery`: the first address `locate` answers (then `rig.address`); without it, no locate unless `over` has one. */
export function rig(t: TestContext, url: URL | null, over: Partial<RemoteJwksTiming> & { discovery?: URL } = {}): Rig {
  const { discovery, ...timing } = over
  const r: Rig = {
    fetchErrors: [],
    located: { count: 0 },
    removed: 0,
    clock: T0,
    address: discovery ?? new URL('https://unused.example/'),
    has: async (kid) => {
      try {
        await r.remote.getKey({ alg: 'ES256', kid }, { payload: '', signature: '' })
        return true
      } catch (err) {
        if (err instanceof errors.JWKSNoMatchingKey) return false
        throw err
      }
    },
    remote: undefined as unknown as RemoteJwks,
  }
  Object.assign(r, {
    remote: new RemoteJwks(url, {
      now: () => r.clock,
      cacheMs: 300_000,
      cooldownMs: COOLDOWN,
      maxBackoffMs: 300_000,
      fetchTimeoutMs: 2000,
      maxBytes: 64 * 1024,
      onKeysRemoved: () => {
        r.removed++
      },
      onFetchError: (reason) => r.fetchErrors.push(reason),
      ...(discovery !== undefined
        ? {
            locate: async () => {
              r.located.count++
              return r.address
            },
          }
        : {}),
      ...timing,
    }),
  })
  t.after(() => r.remote.close())
  return r
}

export async function started(r: Rig): Promise<Rig> {
  r.remote.start()
  await r.remote.ready()
  return r
}
