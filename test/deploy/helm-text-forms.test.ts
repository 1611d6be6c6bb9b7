// values.schema.json against the oracle, `gatehouse check-config` (issue 18): the
// CIDRs and durations of the Gatehouse config (and decision.trustedCallers) are
// refused by `helm lint --strict` exactly when check-config refuses them; the
// patterns themselves are checked against the parsers in
// test/unit/config/text-forms.test.ts. check-config runs dist/main.js: `npm run build` first.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { stringify } from 'yaml'
import { MAIN } from '../support/gatehouse-process.js'
import { CHART, helm, ROOT, runHelm } from './support/helm.js'
import { run } from './support/run.js'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-helm-forms-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

/** helm lint --strict of the chart with these values. */
function lint(name: string, values: Record<string, unknown>) {
  const file = path.join(tmp, `${name}.yaml`)
  writeFileSync(file, stringify(values))
  return runHelm(['lint', '--strict', CHART, '-f', file])
}

// Each case is judged twice: by `helm lint --strict` (values.schema.json) and by
// `gatehouse check-config` on the same config (the oracle). They must agree.
describe('values.schema.json checks CIDRs and durations in the config as check-config does', { skip: helm.skip }, () => {
  const checkConfig = (name: string, config: Record<string, unknown>) => {
    const file = path.join(tmp, `oracle-${name}.yaml`)
    const store = { type: 'file', path: path.join(tmp, `keys-${name}.json`) }
    writeFileSync(file, stringify({ ...config, listen: '127.0.0.1:0', admin: { listen: '127.0.0.1:0' }, store, upstream: { url: 'http://127.0.0.1:3000' } }))
    return run(process.execPath, [MAIN, 'check-config', '--config', file], { cwd: ROOT })
  }
  const bad: { name: string; values: { config: Record<string, unknown> } & Record<string, unknown>; at: string }[] = [
    { name: 'a CIDR prefix beyond /32', values: { config: { trustedProxies: ['10.0.0.0/33'] } }, at: '/config/trustedProxies/0' },
    { name: 'an IPv4 address with a leading zero', values: { config: { ipFilter: { deny: ['010.0.0.1'] } } }, at: '/config/ipFilter/deny/0' },
    { name: 'two IPv6 gaps', values: { config: { ipFilter: { allow: ['2001::db8::/32'] } } }, at: '/config/ipFilter/allow/0' },
    { name: 'a trusted caller that is a host name', values: { config: { forwardAuth: { trustedCallers: ['ingress.local'] } } }, at: '/config/forwardAuth/trustedCallers/0' },
    { name: 'a duration in words', values: { config: { issuer: { jwtMaxTtl: '5 minutes' } } }, at: '/config/issuer/jwtMaxTtl' },
    { name: 'a duration in months', values: { config: { issuer: { apiKeyMaxTtl: 'P1M' } } }, at: '/config/issuer/apiKeyMaxTtl' },
    { name: 'a zero duration', values: { config: { issuer: { jwtDefaultTtl: 'PT0S' } } }, at: '/config/issuer/jwtDefaultTtl' },
    {
      name: "an issuer's maxLifetime with a fraction",
      values: { config: { jwt: { issuers: [{ issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks', maxLifetime: 'PT1.5H' }] } } },
      at: '/config/jwt/issuers/0/maxLifetime',
    },
  ]
  for (const c of bad) {
    test(`rejects ${c.name}, as check-config does`, () => {
      const r = lint(`form-${c.name.replace(/\W+/g, '-')}`, c.values)
      assert.notEqual(r.code, 0, `helm lint accepted ${JSON.stringify(c.values)}`)
      assert.match(r.stdout + r.stderr, new RegExp(`at '${c.at}': ('.*' does not match pattern|'not' failed)`))
      assert.equal(checkConfig(c.name.replace(/\W+/g, '-'), c.values.config).code, 1, 'the oracle, check-config, refuses it too')
    })
  }

  test('decision mode: a trusted caller that is not a CIDR is refused', () => {
    const r = lint('decision-bad-cidr', { mode: 'decision', decision: { trustedCallers: ['10.244.0.0/40'] } })
    assert.notEqual(r.code, 0)
    assert.match(r.stdout + r.stderr, /at '\/decision\/trustedCallers\/0': '10\.244\.0\.0\/40' does not match pattern/)
  })

  test('accepts every spelling check-config accepts', () => {
    const config = {
      trustedProxies: ['10.0.0.0/8', '192.168.1.7', '::1', '2001:db8::/32', '::ffff:10.0.0.0/104', '1:2:3:4:5:6:7:8', '::/0', 'FE80::/10'],
      ipFilter: { allow: ['0.0.0.0/0', '1:2:3:4:5:6:1.2.3.4'], deny: ['203.0.113.0/24'] },
      forwardAuth: { trustedCallers: ['10.244.0.0/16', 'fd00::/8'] },
      jwt: { issuers: [{ issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks', maxLifetime: 'P1DT12H' }] },
      issuer: { jwtMaxTtl: 'P1D', jwtDefaultTtl: 'PT1H', impersonationMaxTtl: 'PT15M', apiKeyMaxTtl: 'P3650D' },
    }
    const r = lint('forms-good', { config, mode: 'decision', decision: { trustedCallers: ['10.244.0.0/16', '::1'] } })
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    const oracle = checkConfig('good', config)
    assert.equal(oracle.code, 0, oracle.stderr)
  })
})
