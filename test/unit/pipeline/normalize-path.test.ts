import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { normalizeTarget } from '../../../src/pipeline/normalize-path.js'
import { PATH_VECTORS } from '../../vectors/paths.js'
import { Coverage, RUNS } from '../../property/runs.js'

describe('normalizeTarget', () => {
  for (const v of PATH_VECTORS) {
    const name = v.expect === 'reject' ? `rejects ${JSON.stringify(v.raw)}: ${v.why}` : `turns ${JSON.stringify(v.raw)} into ${v.expect}: ${v.why}`
    it(name, () => {
      const r = normalizeTarget(v.raw)
      if (v.expect === 'reject') {
        assert.equal(r.ok, false)
        return
      }
      assert.ok(r.ok, `rejected: ${r.ok ? '' : r.detail}`)
      assert.equal(r.path + r.query, v.expect)
    })
  }

  it('is idempotent on every accepted output', () => {
    for (const v of PATH_VECTORS) {
      const r = normalizeTarget(v.raw)
      if (!r.ok) continue
      const again = normalizeTarget(r.path + r.query)
      assert.deepEqual(again, r, `not idempotent for ${JSON.stringify(v.raw)}`)
    }
  })

  it('returns the query with its ? and the path without it', () => {
    assert.deepEqual(normalizeTarget('/a/../b?x=1'), { ok: true, path: '/b', query: '?x=1' })
    assert.deepEqual(normalizeTarget('/b'), { ok: true, path: '/b', query: '' })
  })

  it('returns an already-normal path unchanged, as the same string', () => {
    const raw = '/api/v1/users/7/files/report.json'
    const r = normalizeTarget(raw)
    assert.ok(r.ok)
    assert.equal(r.path, raw)
  })

  it('never echoes the path in the rejection detail', () => {
    const secret = 'super-secret-token-value'
    for (const raw of [`/${secret}%00`, `/${secret}/../..`, `/${secret}#x`, `/${secret}%2f`, `/${secret}%C0%AF`, `/${secret}\\`]) {
      const r = normalizeTarget(raw)
      assert.equal(r.ok, false)
      if (!r.ok) assert.ok(!r.detail.includes(secret), r.detail)
    }
  })

  it('rejects every encoded C0 control and never decodes a reserved character', () => {
    for (let b = 0; b < 0x20; b++) {
      const hex = b.toString(16).padStart(2, '0')
      assert.equal(normalizeTarget(`/a%${hex}`).ok, false, `%${hex}`)
    }
    for (const ch of ":@!$&'()*+,;=?[]") {
      const hex = ch.charCodeAt(0).toString(16).toUpperCase()
      const r = normalizeTarget(`/x%${hex.toLowerCase()}y`)
      assert.ok(r.ok)
      assert.equal(r.path, `/x%${hex}y`)
    }
  })

  it('stays idempotent and never climbs above the root on random hostile paths', () => {
    const alphabet = ['/', '.', '..', '%2e', '%2E', '%2f', '%25', 'a', 'B', ';', '%3b', '%c3%a9', '%C0', '~', '%7E', '%41', '\\', '%5c']
    const reached = new Coverage(['dot segment', 'encoded dot', 'percent escape', ';', 'backslash', 'accepted', 'refused', 'accepted after removing ..'] as const)
    fc.assert(
      // Pieces glued together, or whole segments (so that `..` climbs often).
      fc.property(fc.oneof(fc.array(fc.constantFrom(...alphabet), { maxLength: 12 }).map((p) => p.join('')), fc.array(fc.constantFrom('a', 'B', '..', '.', '%2e%2e', '%2E.', 'a;b', ''), { maxLength: 8 }).map((p) => p.join('/'))), (path) => {
        const raw = `/${path}`
        const r = normalizeTarget(raw)
        reached.record(
          /(^|\/)\.\.?(\/|$)/.test(raw) && 'dot segment',
          /%2e/i.test(raw) && 'encoded dot',
          raw.includes('%') && 'percent escape',
          raw.includes(';') && ';',
          /\\|%5c/i.test(raw) && 'backslash',
          r.ok ? 'accepted' : 'refused',
          r.ok && /(^|\/)\.\.(\/|$)/.test(raw) && 'accepted after removing ..',
        )
        if (!r.ok) return
        assert.ok(r.path.startsWith('/'), raw)
        assert.ok(!r.path.includes('//'), raw)
        assert.ok(!/(^|\/)\.\.?(\/|$)/.test(r.path), `dot-segment left in ${r.path} from ${raw}`)
        assert.deepEqual(normalizeTarget(r.path), r, `not idempotent for ${raw}`)
      }),
      { numRuns: RUNS },
    )
    reached.assertReached(0.01)
  })
})
