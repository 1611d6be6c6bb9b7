import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import {
  atLeast,
  formatPermissions,
  intersect,
  isLevel,
  LEVELS,
  levelFor,
  minLevel,
  parsePermissionList,
  requiredLevel,
  toPermissions,
  type Level,
} from '../../../src/credentials/permissions.js'

describe('levels', () => {
  it('orders none < r < rw', () => {
    const table: [have: Level, need: Level, ok: boolean][] = [
      ['none', 'none', true], ['none', 'r', false], ['none', 'rw', false],
      ['r', 'none', true], ['r', 'r', true], ['r', 'rw', false],
      ['rw', 'none', true], ['rw', 'r', true], ['rw', 'rw', true],
    ]
    for (const [have, need, ok] of table) assert.equal(atLeast(have, need), ok, `${have} >= ${need}`)
  })

  it('takes the lower of two levels', () => {
    assert.equal(minLevel('rw', 'r'), 'r')
    assert.equal(minLevel('r', 'rw'), 'r')
    assert.equal(minLevel('none', 'rw'), 'none')
  })

  it('knows only none, r and rw as levels', () => {
    for (const l of ['none', 'r', 'rw']) assert.equal(isLevel(l), true)
    for (const l of ['RW', 'w', 'read', '', null, 2, 'rw ']) assert.equal(isLevel(l), false, String(l))
  })
})

describe('requiredLevel', () => {
  it('needs r for GET, HEAD and OPTIONS and rw for every other method (SPEC §3.7)', () => {
    for (const m of ['GET', 'HEAD', 'OPTIONS']) assert.equal(requiredLevel(m), 'r', m)
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND', 'FOO', 'get', 'Head']) assert.equal(requiredLevel(m), 'rw', m)
  })
})

describe('levelFor', () => {
  it('is none for an API that is absent, including names on Object.prototype', () => {
    const perms = toPermissions({ users: 'rw' })
    assert.ok(perms)
    assert.equal(levelFor(perms, 'users'), 'rw')
    for (const api of ['sessions', 'constructor', 'toString', '__proto__', 'hasOwnProperty']) assert.equal(levelFor(perms, api), 'none', api)
  })
})

describe('parsePermissionList', () => {
  it('parses the CLI form', () => {
    const r = parsePermissionList('users:rw,sessions:r')
    assert.ok(r.ok)
    assert.deepEqual({ ...r.value }, { users: 'rw', sessions: 'r' })
    assert.ok(Object.isFrozen(r.value))
  })

  it('tolerates spaces and empty items', () => {
    const r = parsePermissionList(' users : rw , ,sessions:none ')
    assert.ok(r.ok)
    assert.deepEqual({ ...r.value }, { users: 'rw', sessions: 'none' })
  })

  const bad = ['users', 'users:', ':rw', 'users:w', 'users:RW', 'us ers:rw', 'users:rw:r', 'a"b:r', 'users:r,users:rw']
  for (const text of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const r = parsePermissionList(text)
      assert.equal(r.ok, false)
    })
  }
})

describe('toPermissions', () => {
  it('accepts an object of API name to level', () => {
    assert.deepEqual({ ...toPermissions({ users: 'rw', sessions: 'none' }) }, { users: 'rw', sessions: 'none' })
  })

  it('refuses anything else', () => {
    for (const v of [null, undefined, 'users:rw', ['rw'], 1, { users: 'write' }, { users: 2 }]) assert.equal(toPermissions(v), null, JSON.stringify(v))
  })

  it('keeps a __proto__ key as data, without touching any prototype', () => {
    const perms = toPermissions(JSON.parse('{"__proto__": "rw"}'))
    assert.ok(perms)
    assert.equal(levelFor(perms, '__proto__'), 'rw')
    assert.equal(levelFor(perms, 'users'), 'none')
    assert.equal(({} as Record<string, unknown>)['rw'], undefined)
  })
})

describe('intersect', () => {
  it('takes the lower level API by API and drops what either side lacks (SPEC §3.7)', () => {
    const credential = { users: 'rw', sessions: 'rw', billing: 'r' } as const
    const user = { users: 'r', sessions: 'rw', admin: 'rw' } as const
    assert.deepEqual({ ...intersect(credential, user) }, { users: 'r', sessions: 'rw' })
  })

  it('is empty when the user holds nothing', () => {
    assert.deepEqual({ ...intersect({ users: 'rw' }, {}) }, {})
  })
})

describe('formatPermissions', () => {
  it('writes api:level space-separated and sorted, without none (SPEC §4)', () => {
    assert.equal(formatPermissions({ users: 'rw', sessions: 'r', billing: 'none' }), 'sessions:r users:rw')
  })

  it('writes nothing for no permissions', () => {
    assert.equal(formatPermissions({}), '')
  })

  it('leaves out names that could forge another entry or a header line', () => {
    const claimed = toPermissions({ 'users:rw x': 'r', 'a b': 'rw', 'x\r\ny': 'rw', '': 'rw', orders: 'r' })
    assert.ok(claimed)
    assert.equal(formatPermissions(claimed), 'orders:r')
  })

  it('the text of a frozen set is kept; one that can still change is formatted afresh each time', () => {
    const frozen = Object.freeze({ users: 'r' as const })
    assert.equal(formatPermissions(frozen), 'users:r')
    assert.equal(formatPermissions(frozen), 'users:r')
    assert.equal(formatPermissions(Object.freeze({ users: 'rw' as const })), 'users:rw', 'another frozen set with the same keys')
    const open: Record<string, 'r' | 'rw'> = { users: 'r' }
    assert.equal(formatPermissions(open), 'users:r')
    open.orders = 'rw'
    assert.equal(formatPermissions(open), 'orders:rw users:r')
  })
})

describe('exact answers (issue 19, mutation testing)', () => {
  it('LEVELS lists the three levels in order (SPEC §3.7)', () => {
    assert.deepEqual(LEVELS, ['none', 'r', 'rw'])
  })

  it('a level alone, without api:, is refused', () => {
    for (const text of ['r', 'rw', 'none']) assert.deepEqual(parsePermissionList(text), { ok: false, message: `"${text}" is not api:level (level none, r or rw)` })
  })

  it('messages name the item and the repeated API', () => {
    assert.deepEqual(parsePermissionList('users:rw, us ers:r'), { ok: false, message: '"us ers:r" is not api:level (level none, r or rw)' })
    assert.deepEqual(parsePermissionList('users:r,users:rw'), { ok: false, message: '"users" is given more than once' })
  })
})
