// Property tests of SPEC §3.1 (attack #36–#48): for any request-target, the
// normalised path is a fixed point (normalising it again changes nothing), and the API
// chosen for it is the API of the path the upstream receives — as the upstream reads
// it (WHATWG URL resolution, one percent-decoding, case and `;` folding).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { compileApis } from '../../src/pipeline/match-api.js'
import { normalizeTarget } from '../../src/pipeline/normalize-path.js'
import { Coverage, RUNS } from './runs.js'

const APIS = [
  { name: 'pub', prefixes: ['/pub'], public: false },
  { name: 'api', prefixes: ['/api'], public: false },
  { name: 'admin', prefixes: ['/api/admin', '/admin'], public: false },
  { name: 'files', prefixes: ['/files/v1.2', '/caf%C3%A9'], public: false },
]
const matcher = (() => {
  const r = compileApis(APIS)
  assert.ok(r.ok)
  return r.matcher
})()
const apiOf = (path: string): string | null => matcher.match(path)?.name ?? null

// Pieces an attacker would combine: separators, dots in every spelling, escapes good and bad.
const PIECES = [
  '/', '/', '/', '.', '..', '%2e', '%2E', '.%2e', '%2e.', '%2f', '%2F', '%5c', '\\', '%25', '%252e', '%', '%4', '%zz',
  ';', ';x', '%3b', '%3B', '?', '#', ' ', '\t', '%00', '%0a', '%20', '%41', '%7e', '~', '-', '_', 'a', 'A', 'z',
  'pub', 'api', 'admin', 'API', 'Admin', 'files', 'v1.2', 'caf', '%c3%a9', '%C3%A9', '%c0%ae', '%e2%80%ae', 'é', '//', '/..', '/./',
]
// Whole segments, so that climbs (`pub/../api/admin`) and protected prefixes come up
// often, not once in a few hundred targets as they do from PIECES alone.
const SEGMENTS = ['pub', 'api', 'admin', 'API', 'Admin', 'files', 'v1.2', 'caf%C3%A9', 'x', '', '.', '..', '%2e%2e', '.%2E', '%2e.', '..;', 'pub;x', 'admin%3b', '%2e']
const target = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.constantFrom(...PIECES), { maxLength: 24 }).map((parts) => `/${parts.join('')}`) },
  { weight: 3, arbitrary: fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 8 }).map((parts) => `/${parts.join('/')}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => `/${s}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
)

/** The path as an upstream behind us reads it: WHATWG URL, as undici, fetch and many frameworks resolve it. */
function whatwgPath(path: string): string {
  return new URL(path, 'http://upstream.internal').pathname
}

/** One more percent-decoding, as Express and most routers do before matching. */
function decodedOnce(path: string): string | null {
  try {
    return decodeURIComponent(path)
  } catch {
    return null
  }
}

describe('normalizeTarget properties', () => {
  test('never throws, and a result is a path starting with / with no dot-segment, //, raw \\ or #', () => {
    const reached = new Coverage(['dot segment', 'encoded dot', 'bad escape', ';', 'backslash', 'non-ASCII or look-alike', 'accepted', 'refused', 'accepted after removing ..', 'reaches admin'] as const)
    fc.assert(
      fc.property(target, (raw) => {
        const n = normalizeTarget(raw)
        reached.record(
          /(^|\/)\.\.?(\/|[?#;]|$)/.test(raw) && 'dot segment',
          /%2e/i.test(raw) && 'encoded dot',
          /%(?![0-9a-f]{2})/i.test(raw) && 'bad escape',
          /;|%3b/i.test(raw) && ';',
          /\\|%5c/i.test(raw) && 'backslash',
          /[^\x00-\x7f]|%[c-f][0-9a-f]/i.test(raw) && 'non-ASCII or look-alike',
          n.ok ? 'accepted' : 'refused',
          n.ok && /(^|\/)\.\.(\/|$)/.test(raw) && 'accepted after removing ..',
          n.ok && apiOf(n.path) === 'admin' && 'reaches admin',
        )
        if (!n.ok) return
        assert.ok(n.path.startsWith('/'))
        assert.ok(!/(^|\/)\.\.?(\/|$)/.test(n.path), n.path)
        assert.ok(!n.path.includes('//'), n.path)
        assert.ok(!/[\\#\s]/.test(n.path), n.path)
      }),
      { numRuns: RUNS },
    )
    reached.assertReached(0.01)
  })

  test('normalising twice changes nothing (the forwarded path is a fixed point)', () => {
    fc.assert(
      fc.property(target, (raw) => {
        const n = normalizeTarget(raw)
        if (!n.ok) return
        const again = normalizeTarget(n.path + n.query)
        assert.ok(again.ok, `${JSON.stringify(raw)} -> ${n.path} is refused the second time: ${again.ok ? '' : again.detail}`)
        assert.equal(again.path, n.path)
        assert.equal(again.query, n.query)
      }),
      { numRuns: RUNS },
    )
  })

  test('the API chosen is the API of the path the upstream receives, however the upstream reads it', () => {
    fc.assert(
      fc.property(target, (raw) => {
        const n = normalizeTarget(raw)
        if (!n.ok) return
        const chosen = apiOf(n.path)
        // Read by WHATWG URL (dot segments, backslashes, tabs): the same path, so the same API.
        assert.equal(apiOf(whatwgPath(n.path)), chosen, `${JSON.stringify(raw)} -> ${n.path} -> ${whatwgPath(n.path)}`)
        // Decoded once more (the upstream's router): never a path that would mean another API.
        const decoded = decodedOnce(n.path)
        if (decoded !== null) {
          const d = normalizeTarget(decoded.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c)))
          if (d.ok) assert.equal(apiOf(d.path), chosen, `${JSON.stringify(raw)} -> ${n.path} decoded ${decoded}`)
        }
      }),
      { numRuns: RUNS },
    )
  })
})
