// The Redis store's guard against a stale read being cached after the event that
// revoked it (change-feed.ts): a read that crossed an event about its own key is
// done again; events about other keys do not cost a second read.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ChangeFeed } from '../../../src/keystore/change-feed.js'
import type { KeyChange } from '../../../src/keystore/key-store.js'

/** A read that returns `values` in turn and, during the first, lets `during` happen. */
function reads(values: string[], during: () => void = () => {}): { read: () => Promise<string>; count: () => number } {
  let n = 0
  return {
    read: async () => {
      const v = values[Math.min(n, values.length - 1)] as string
      if (n++ === 0) during()
      return v
    },
    count: () => n,
  }
}

describe('ChangeFeed', () => {
  it('reads again when an event about the same key arrives while the read is on its way', async () => {
    const feed = new ChangeFeed(() => {})
    const r = reads(['before revoke', 'after revoke'], () => feed.emit(['k1']))
    assert.deepEqual(await feed.readFresh('k1', r.read), { value: 'after revoke' })
    assert.equal(r.count(), 2)
  })

  it('does not read again for an event about another key', async () => {
    const feed = new ChangeFeed(() => {})
    const r = reads(['only'], () => feed.emit(['k2']))
    assert.deepEqual(await feed.readFresh('k1', r.read), { value: 'only' })
    assert.equal(r.count(), 1)
  })

  it("reads again after 'all' (a reconnect), and gives up (null) when the key never settles", async () => {
    const feed = new ChangeFeed(() => {})
    const r = reads(['a', 'b'], () => feed.emit('all'))
    assert.deepEqual(await feed.readFresh('k1', r.read), { value: 'b' })
    const restless = async () => {
      feed.emit(['k1'])
      return 'x'
    }
    assert.equal(await feed.readFresh('k1', restless, 3), null)
  })

  it('delivers events to listeners until they unsubscribe, and survives a throwing one', async () => {
    const errors: unknown[] = []
    const feed = new ChangeFeed((err) => errors.push(err))
    const seen: KeyChange[] = []
    feed.listen(() => {
      throw new Error('listener bug')
    })
    const off = feed.listen((c) => seen.push(c))
    feed.emit(['k1'])
    off()
    feed.emit(['k2'])
    assert.deepEqual(seen, [['k1']])
    assert.equal(errors.length, 2)
  })
})
