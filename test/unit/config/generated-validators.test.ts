// The validators gatehouse runs are generated from the schemas (issue 17: no schema
// compiler at start-up). This fails when a schema changed and they were not
// regenerated: `npm run generate:validators`.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { staleTargets, TARGETS } from '../../support/generate-validators.js'

test('the generated config, users-file and clients-file validators match their schemas', () => {
  assert.equal(TARGETS.length, 3)
  assert.deepEqual(staleTargets(), [], 'stale: run `npm run generate:validators`')
})
