// normalizeTarget byte by byte (issue 19, mutation testing): every raw ASCII
// character in the path and in the query, every escaped byte below 0x80, and the
// UTF-8 boundaries of RFC 3629 §4. The oracles are written here from the RFCs:
// RFC 3986 §2.3 (unreserved) and §6.2.2.1 (uppercase hex), and WHATWG's fatal
// TextDecoder for UTF-8 well-formedness, not the code under test.
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { normalizeTarget } from '../../../src/pipeline/normalize-path.js'

const UNRESERVED = /^[A-Za-z0-9\-._~]$/
const hex2 = (b: number) => b.toString(16).toUpperCase().padStart(2, '0')
const utf8 = new TextDecoder('utf-8', { fatal: true })
function wellFormed(bytes: number[]): boolean {
  try {
    utf8.decode(new Uint8Array(bytes))
    return true
  } catch {
    return false
  }
}

describe('normalizeTarget, character by character', () => {
  it('a raw path character: controls, space, DEL, # and \\ are refused; the rest kept as sent', () => {
    for (let c = 0; c < 0x80; c++) {
      const ch = String.fromCharCode(c)
      if (ch === '?' || ch === '%') continue
      const r = normalizeTarget(`/a${ch}b`)
      const refused = c < 0x21 || c === 0x7f || ch === '#' || ch === '\\'
      if (refused) {
        assert.equal(r.ok, false, `raw 0x${hex2(c)} in a path`)
        if (!r.ok) assert.match(r.detail, ch === '#' ? /fragment/ : /character/, `0x${hex2(c)}`)
      } else {
        assert.ok(r.ok, `raw 0x${hex2(c)} in a path`)
        assert.equal(r.path, `/a${ch}b`)
      }
    }
  })

  it('a raw character at 0x80 and above is refused in the path and in the query', () => {
    for (const ch of ['\u0080', '\u00e9', '\u00ff', '\u0100', '\u2215', '\uff0f', '\ud83d\ude00']) {
      assert.equal(normalizeTarget(`/a${ch}`).ok, false, JSON.stringify(ch))
      assert.equal(normalizeTarget(`/a/../b${ch}`).ok, false, JSON.stringify(ch))
      assert.equal(normalizeTarget(`/a?q=${ch}`).ok, false, JSON.stringify(ch))
    }
  })

  it('a query character: controls, space, DEL, # and non-ASCII are refused; the rest forwarded verbatim', () => {
    for (let c = 0; c < 0x80; c++) {
      const ch = String.fromCharCode(c)
      for (const raw of [`/a?x${ch}y`, `/a/../a?x${ch}y`]) {
        const r = normalizeTarget(raw)
        if (c < 0x21 || c === 0x7f || ch === '#') {
          assert.equal(r.ok, false, `0x${hex2(c)} in ${JSON.stringify(raw)}`)
          if (!r.ok) assert.match(r.detail, ch === '#' ? /fragment/ : /character/)
        } else {
          assert.ok(r.ok, `0x${hex2(c)} in ${JSON.stringify(raw)}`)
          assert.equal(r.path, '/a')
          assert.equal(r.query, `?x${ch}y`)
        }
      }
    }
  })

  it('an escaped byte below 0x80: / \\ and controls refused, unreserved decoded, the rest kept in uppercase hex', () => {
    for (let b = 0; b < 0x80; b++) {
      for (const spelling of [hex2(b), hex2(b).toLowerCase()]) {
        const r = normalizeTarget(`/a%${spelling}b/c`)
        const ch = String.fromCharCode(b)
        if (ch === '/' || ch === '\\') {
          assert.equal(r.ok, false, `%${spelling}`)
          if (!r.ok) assert.match(r.detail, /encoded \//)
        } else if (b < 0x20 || b === 0x7f) {
          assert.equal(r.ok, false, `%${spelling}`)
          if (!r.ok) assert.match(r.detail, /control/)
        } else {
          assert.ok(r.ok, `%${spelling}: ${r.ok ? '' : r.detail}`)
          assert.equal(r.path, UNRESERVED.test(ch) ? `/a${ch}b/c` : `/a%${hex2(b)}b/c`, `%${spelling}`)
        }
      }
    }
  })

  it('an escape needs two hex digits inside its segment', () => {
    for (const raw of ['/a%', '/a%4', '/a%4/b', '/a%/41', '/a%G1', '/a%1G', '/a%g1', '/a%1g', '/a%:1', '/a%1:', '/a%@1', '/a%1@', '/a%`1', '/a%1`', '/a%/1', '/%%41', '/a%4?x', '/a%4G', '/a%G4', '/%2e/%zz']) {
      const r = normalizeTarget(raw)
      assert.equal(r.ok, false, raw)
      if (!r.ok) assert.match(r.detail, /invalid percent-encoding/, raw)
    }
    for (const [raw, path] of [['/a%41', '/aA'], ['/a%4a', '/aJ'], ['/a%4F%4f', '/aOO'], ['/%30%39', '/09'], ['/a%41?x', '/aA'], ['/%41/%42', '/A/B']]) {
      const r = normalizeTarget(raw as string)
      assert.ok(r.ok, raw)
      assert.equal(r.path, path, raw)
    }
  })

  it('escaped bytes at 0x80 and above: kept (in uppercase hex) exactly when they spell well-formed UTF-8', () => {
    const cont = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff]
    const leads = [0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xff]
    const sequences: number[][] = []
    for (const b0 of leads) {
      sequences.push([b0])
      for (const b1 of cont) {
        sequences.push([b0, b1])
        for (const b2 of [0x80, 0xbf, 0x41, 0xc0]) {
          sequences.push([b0, b1, b2])
          for (const b3 of [0x80, 0xbf, 0x41, 0xc0]) sequences.push([b0, b1, b2, b3])
        }
      }
    }
    let accepted = 0
    for (const bytes of sequences) {
      // An ASCII byte after the sequence's first bytes is itself an escape: fine on its own.
      const raw = '/x' + bytes.map((b) => `%${hex2(b).toLowerCase()}`).join('') + 'y'
      const r = normalizeTarget(raw)
      const ok = wellFormed(bytes) && !bytes.some((b) => b < 0x20 || b === 0x7f)
      assert.equal(r.ok, ok, `${raw}: expected ${ok ? 'accepted' : 'refused'}`)
      if (r.ok) {
        accepted++
        const expected = bytes.map((b) => (b < 0x80 && UNRESERVED.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${hex2(b)}`)).join('')
        assert.equal(r.path, `/x${expected}y`, raw)
      } else if (!bytes.some((b) => b < 0x20)) {
        assert.match(r.detail, /UTF-8/, raw)
      }
    }
    assert.ok(accepted > 50, `only ${accepted} well-formed sequences`)
  })

  it('a UTF-8 sequence cannot run past its segment or into the query', () => {
    for (const raw of ['/x%C3/%A9', '/x%E2%82/%AC', '/x%F0%9F%98/%80', '/x%C3?%A9', '/x%C3%A'])
      assert.equal(normalizeTarget(raw).ok, false, raw)
    // A continuation byte must itself be an escape: `%C3A9B` is 0xC3 then the text `A9B` (0xC3 0x41: no UTF-8).
    for (const raw of ['/x%C3A9B', '/x%E2%82AC0', '/x%F0%9F%98800']) {
      const bad = normalizeTarget(raw)
      assert.equal(bad.ok, false, raw)
      if (!bad.ok) assert.match(bad.detail, /UTF-8/, raw)
    }
    const r = normalizeTarget('/x%C3%A9/%E2%82%AC?q=%C3')
    assert.ok(r.ok)
    assert.equal(r.path, '/x%C3%A9/%E2%82%AC')
    assert.equal(r.query, '?q=%C3')
  })

  it('a double-encoded dot, / or \\ is refused in either case; other double escapes pass', () => {
    for (const raw of ['/a/%252e', '/a/%252E', '/a/%252f', '/a/%252F', '/a/%255c', '/a/%255C', '/a/%25%32%65', '/a/%25%32%46', '/a/x%252ex', '/a%252e%252e/b']) {
      const r = normalizeTarget(raw)
      assert.equal(r.ok, false, raw)
      if (!r.ok) assert.match(r.detail, /double-encoded/, raw)
    }
    for (const [raw, path] of [['/a/%2525', '/a/%2525'], ['/a/%2541', '/a/%2541'], ['/a/%252', '/a/%252'], ['/a/%25', '/a/%25'], ['/a/%252G', '/a/%252G'], ['/a/2e%25', '/a/2e%25'], ['/a/%255b', '/a/%255b']]) {
      const r = normalizeTarget(raw as string)
      assert.ok(r.ok, raw)
      assert.equal(r.path, path, raw)
    }
  })

  it('a dot-segment with parameters is refused, however the ; is spelled', () => {
    for (const raw of ['/a/..;x/b', '/a/.;x', '/a/..%3Bx', '/a/..%3bx', '/a/.%3b', '/a/%2e%2e;x', '/a/..%3Bx;y', '/a/..;x%3By', '/a/b/..;']) {
      const r = normalizeTarget(raw)
      assert.equal(r.ok, false, raw)
      if (!r.ok) assert.match(r.detail, /dot-segment with parameters/, raw)
    }
    for (const [raw, path] of [['/a/...;x', '/a/...;x'], ['/a/.b;x', '/a/.b;x'], ['/a/b.;x', '/a/b.;x'], ['/a/;x', '/a/;x'], ['/a/x;..', '/a/x;..'], ['/a/b;x/../c', '/a/c'], ['/a/%3b..', '/a/%3B..'], ['/a/b%3Bx/.', '/a/b%3Bx/'], ['/a/%41/b.;x', '/a/A/b.;x'], ['/a/%41/.b;x', '/a/A/.b;x'], ['/a/%41/...;x', '/a/A/...;x']]) {
      const r = normalizeTarget(raw as string)
      assert.ok(r.ok, raw)
      assert.equal(r.path, path, raw)
    }
  })

  it('resolves dot segments on the slow path exactly as RFC 3986 §5.2.4', () => {
    const cases: [string, string][] = [
      ['/a/%2e', '/a/'],
      ['/a/%2e/', '/a/'],
      ['/a/%2e%2e', '/'],
      ['/a/b/%2e%2e', '/a/'],
      ['/a/b/%2e%2e/', '/a/'],
      ['/a/b/%2e%2e/c', '/a/c'],
      ['/a%41/./b', '/aA/b'],
      ['/a/b//', '/a/b/'],
      ['/a/.//b', '/a/b'],
      ['/a/b/..//', '/a/'],
      ['/a/./', '/a/'],
      ['/%41', '/A'],
      ['/%41/', '/A/'],
      ['/./', '/'],
      ['/%2e', '/'],
      ['///', '/'],
    ]
    for (const [raw, path] of cases) {
      const r = normalizeTarget(raw)
      assert.ok(r.ok, raw)
      assert.equal(r.path, path, raw)
      assert.equal(r.query, '')
    }
    for (const raw of ['/%2e%2e', '/a/%2e%2e/%2e%2e', '/a/b/../../..', '/./..']) {
      const r = normalizeTarget(raw)
      assert.equal(r.ok, false, raw)
      if (!r.ok) assert.match(r.detail, /climbs above the root/, raw)
    }
  })

  it('only origin-form: anything not starting with / is refused', () => {
    for (const raw of ['', '*', 'a/b', 'http://x/a', '?/a', '%2F', '.']) {
      const r = normalizeTarget(raw)
      assert.equal(r.ok, false, JSON.stringify(raw))
      if (!r.ok) assert.match(r.detail, /must be a path/)
    }
  })
})
