// FC_RUNS (test/property/runs.ts): a property that tried nothing must not pass.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Coverage, DEFAULT_RUNS, MIN_RUNS, parseRuns } from './runs.js'

test('FC_RUNS unset is the default; a whole number of at least MIN_RUNS is taken as it is', () => {
  assert.equal(parseRuns(undefined), DEFAULT_RUNS)
  assert.equal(parseRuns('200000'), 200_000)
  assert.equal(parseRuns(String(MIN_RUNS)), MIN_RUNS)
})

test('FC_RUNS zero, empty, negative, fractional, not a number or too small is an error', () => {
  for (const v of ['0', '', ' ', '-5', '2.5', '1e3', 'abc', 'NaN', 'Infinity', String(MIN_RUNS - 1)]) {
    assert.throws(() => parseRuns(v), /FC_RUNS=.*expected a whole number of at least/, JSON.stringify(v))
  }
})

test('Coverage fails when a class is never (or too rarely) generated, and says which', () => {
  const c = new Coverage(['dot', 'percent'] as const)
  for (let i = 0; i < 1000; i++) c.record('dot', i === 0 && 'percent')
  assert.throws(() => c.assertReached(0.01), /percent=1/)
  c.assertReached(0.001)
  const none = new Coverage(['dot'] as const)
  for (let i = 0; i < 1000; i++) none.record(false)
  assert.throws(() => none.assertReached(), /dot=0/)
})
