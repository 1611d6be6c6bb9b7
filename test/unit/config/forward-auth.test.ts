// SPEC §10 config: `forwardAuth` is validated like the rest of the file (SPEC §2:
// unknown fields are errors, every problem is reported with its path).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseConfigText } from '../../../src/config/load.js'

const parse = (yaml: string) => parseConfigText(yaml, '/nonexistent-dir/gatehouse.yaml', {})
const problemsOf = (yaml: string) => {
  const r = parse(yaml)
  assert.equal(r.ok, false, 'expected the config to be refused')
  return r.ok ? [] : r.problems
}

describe('forwardAuth', () => {
  test('absent: decision mode is off', () => {
    const r = parse('apis: []\n')
    assert.ok(r.ok)
    assert.equal(r.value.config.forwardAuth, undefined)
  })

  test('an empty section takes the safe defaults: /_gatehouse/decide, loopback callers only', () => {
    const r = parse('forwardAuth: {}\n')
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems))
    assert.deepEqual(r.value.config.forwardAuth, { path: '/_gatehouse/decide', trustedCallers: ['127.0.0.1/32', '::1/128'] })
  })

  test('a bad caller CIDR is reported with its index', () => {
    const p = problemsOf('forwardAuth:\n  trustedCallers: [10.0.0.0/8, 300.1.1.1]\n')
    assert.deepEqual(p.map((x) => x.path), ['forwardAuth.trustedCallers[1]'])
  })

  test('an empty caller list is refused (nobody could ask)', () => {
    assert.deepEqual(problemsOf('forwardAuth:\n  trustedCallers: []\n').map((x) => x.path), ['forwardAuth.trustedCallers'])
  })

  for (const path of ['decide', '/decide/', '/a//decide', '/a/../decide', '/%5fgatehouse/decide', '/decide?x=1', '/decide#x']) {
    test(`path ${JSON.stringify(path)} is refused: it must be a normalised absolute path`, () => {
      assert.deepEqual(problemsOf(`forwardAuth:\n  path: "${path}"\n`).map((x) => x.path), ['forwardAuth.path'])
    })
  }

  test('unknown fields are errors (a typo must not switch a check off)', () => {
    assert.deepEqual(problemsOf('forwardAuth:\n  trustedCaller: [10.0.0.1]\n').map((x) => x.path), ['forwardAuth.trustedCaller'])
  })
})
