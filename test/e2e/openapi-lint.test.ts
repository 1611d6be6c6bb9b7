// The token service's OpenAPI document passes `@redocly/cli lint` with its recommended
// rules (issue 15): operationIds, servers, every error answer documented with its
// problem+json or RFC 6749 error schema, no unused security scheme. The linter is
// the oracle; warnings count as failures too.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { test } from 'node:test'
import { PREFIX, startTokenService } from '../support/token-service.js'

const REDOCLY = path.resolve(import.meta.dirname, '../../node_modules/.bin/redocly')

test('redocly lint --extends recommended: no error, no warning', { timeout: 120_000 }, async () => {
  const f = await startTokenService()
  try {
    const res = await fetch(`${f.base}${PREFIX}/openapi.json`)
    assert.equal(res.status, 200)
    const file = path.join(f.th.dir, 'openapi.json')
    await writeFile(file, await res.text())
    const run = await promisify(execFile)(process.execPath, [REDOCLY, 'lint', file, '--extends=recommended', '--format=json'], {
      cwd: f.th.dir,
      timeout: 100_000,
      maxBuffer: 16 * 1024 * 1024,
      // No telemetry or update check: tests talk to loopback only.
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    }).catch((err: { stdout?: string; stderr?: string; code?: number }) => err)
    const report = JSON.parse(String(run.stdout)) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; message: string }[] }
    const listed = report.problems.map((p) => `${p.ruleId}: ${p.message}`).join('\n')
    assert.equal(report.totals.errors, 0, listed)
    assert.equal(report.totals.warnings, 0, listed)
  } finally {
    await f.close()
  }
})
