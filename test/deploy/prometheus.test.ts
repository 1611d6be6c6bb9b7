// Prometheus artifacts (issue 5), checked with Debian's promtool: `check rules`
// and `test rules` on the alerts, `check rules` on every dashboard query, and
// `check metrics` on a real scrape of a running `gatehouse serve` after traffic
// of every outcome. Each check is also shown to fail on a broken input.
import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { parse, stringify } from 'yaml'
import { startLegacyApi, type LegacyApi } from '../../src/demo/legacy-api.js'
import { runCli, serveConfig, startServe, type ServeProcess } from '../support/gatehouse-process.js'
import { request } from '../support/http.js'
import { findTool } from '../support/tools.js'
import { KUSTOMIZE_DIR } from './support/paths.js'
import { run, type RunResult } from './support/run.js'

const promtool = findTool('promtool', 'GATEHOUSE_PROMTOOL', 'install Debian\'s prometheus package (`apt-get install prometheus`; .ci/run does) or put promtool on PATH')
const RULE_FILE = path.join(KUSTOMIZE_DIR, 'common', 'prometheusrule.yaml')
const RULE_TESTS = path.join(KUSTOMIZE_DIR, 'common', 'alerts.test.yaml')
const DASHBOARD = path.join(KUSTOMIZE_DIR, 'common', 'grafana-dashboard.json')

const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-prom-test-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

function promtoolRun(args: string[], opts: { cwd?: string; input?: string } = {}): RunResult {
  return run(promtool.require(), args, { ...opts, timeoutMs: 30_000 })
}

interface RuleGroups {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[]
}

function alertRules(): RuleGroups {
  return (parse(readFileSync(RULE_FILE, 'utf8')) as { spec: RuleGroups }).spec
}

/** A folder with the rules as a plain Prometheus rule file beside a copy of the unit tests. */
function ruleDir(name: string, rules: RuleGroups): string {
  const out = mkdtempSync(path.join(tmp, `${name}-`))
  writeFileSync(path.join(out, 'alerts.rules.yaml'), stringify(rules))
  copyFileSync(RULE_TESTS, path.join(out, 'alerts.test.yaml'))
  return out
}

/** Every Prometheus query of the dashboard, with Grafana's variables filled in. */
function dashboardQueries(): { panel: string; expr: string }[] {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { title: string; type: string; targets?: { expr: string }[] }[] }
  return dash.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      panel: p.title,
      expr: t.expr.replaceAll('$__rate_interval', '5m').replaceAll('$namespace', '.*').replaceAll('$pod', '.*'),
    })),
  )
}

function asRecordingRules(queries: { expr: string }[]): RuleGroups {
  return { groups: [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `gatehouse_dashboard:query_${i}`, expr: q.expr })) }] }
}

describe('alerts: promtool check rules and test rules', { skip: promtool.skip }, () => {
  test('promtool check rules accepts every alert', () => {
    const dir = ruleDir('check', alertRules())
    const r = promtoolRun(['check', 'rules', 'alerts.rules.yaml'], { cwd: dir })
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /SUCCESS: 7 rules found/)
  })

  test('promtool test rules: every unit test passes', () => {
    const r = promtoolRun(['test', 'rules', 'alerts.test.yaml'], { cwd: ruleDir('unit', alertRules()) })
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /SUCCESS/)
  })

  test('each alert the operator cares about has a unit test where it fires and one where it does not', () => {
    const names = alertRules().groups.flatMap((g) => g.rules.map((r) => r.alert))
    for (const wanted of ['GatehouseUpstream5xx', 'GatehouseAuthFailureSpike', 'GatehouseJwksRefreshFailing', 'GatehouseStoreUnavailable', 'GatehouseNotReady']) {
      assert.ok(names.includes(wanted), wanted)
    }
    const tests = (parse(readFileSync(RULE_TESTS, 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] }).tests
    const cases = tests.flatMap((t) => t.alert_rule_test)
    for (const name of names) {
      assert.ok(cases.some((c) => c.alertname === name && c.exp_alerts.length > 0), `${name} is tested firing`)
      assert.ok(cases.some((c) => c.alertname === name && c.exp_alerts.length === 0), `${name} is tested not firing`)
    }
  })

  test('promtool check rules rejects a broken expression', () => {
    const rules = alertRules()
    const first = rules.groups[0]?.rules[0]
    assert.ok(first)
    first.expr = 'sum by (namespace) (rate(gatehouse_requests_total[5m])) >'
    const r = promtoolRun(['check', 'rules', 'alerts.rules.yaml'], { cwd: ruleDir('broken', rules) })
    assert.notEqual(r.code, 0)
    assert.match(r.stdout + r.stderr, /parse error|unexpected/)
  })

  test('promtool test rules fails when an alert stops firing where its test expects it', () => {
    const rules = alertRules()
    const upstream = rules.groups[0]?.rules.find((r) => r.alert === 'GatehouseUpstream5xx')
    assert.ok(upstream)
    upstream.expr = upstream.expr.replace('> 0.05', '> 0.5')
    const r = promtoolRun(['test', 'rules', 'alerts.test.yaml'], { cwd: ruleDir('weakened', rules) })
    assert.notEqual(r.code, 0)
    assert.match(r.stdout + r.stderr, /FAILED[\s\S]*GatehouseUpstream5xx/)
  })
})

describe('the Grafana dashboard', () => {
  test('is a dashboard with the panels SPEC §7 asks for', () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; panels: { id: number; title: string; type: string }[] }
    assert.equal(dash.uid, 'gatehouse')
    const ids = dash.panels.map((p) => p.id)
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique')
    const titles = dash.panels.map((p) => p.title).join(' | ')
    for (const t of [/Requests by API and outcome/, /Request latency/, /Auth time/, /Upstream time/, /Auth failures by reason/, /cache hit ratio/i]) {
      assert.match(titles, t)
    }
  })

  test('promtool check rules accepts every dashboard query', { skip: promtool.skip }, () => {
    const queries = dashboardQueries()
    assert.ok(queries.length >= 15, `${queries.length} queries`)
    const dir = mkdtempSync(path.join(tmp, 'dash-'))
    writeFileSync(path.join(dir, 'dashboard.rules.yaml'), stringify(asRecordingRules(queries)))
    const r = promtoolRun(['check', 'rules', 'dashboard.rules.yaml'], { cwd: dir })
    assert.equal(r.code, 0, r.stdout + r.stderr)
  })

  test('promtool check rules rejects a broken dashboard query', { skip: promtool.skip }, () => {
    const dir = mkdtempSync(path.join(tmp, 'dash-broken-'))
    writeFileSync(path.join(dir, 'dashboard.rules.yaml'), stringify(asRecordingRules([{ expr: 'histogram_quantile(0.99, sum by (le) (rate(gatehouse_request_duration_seconds_bucket[5m])' }])))
    const r = promtoolRun(['check', 'rules', 'dashboard.rules.yaml'], { cwd: dir })
    assert.notEqual(r.code, 0)
  })
})

// Lint findings we accept: none (metrics.ts drops prom-client's *_total gauges).
const PROM_CLIENT_DEFAULT_LINT = new Set<string>([])

describe('a real scrape of gatehouse serve after traffic', { skip: promtool.skip }, () => {
  let legacy: LegacyApi
  let gh: ServeProcess
  let scrape = ''
  const dir = mkdtempSync(path.join(tmp, 'serve-'))

  before(async () => {
    legacy = await startLegacyApi(0)
    const config = path.join(dir, 'gatehouse.yaml')
    writeFileSync(
      config,
      stringify(
        serveConfig({
          upstream: { url: legacy.url, connectTimeoutMs: 500 },
          apis: [
            { name: 'users', prefixes: ['/api/v1/users'] },
            { name: 'version', prefixes: ['/api/v1/version'], public: true },
          ],
        }),
      ),
    )
    const created = await runCli(['keys', 'create', '--config', config, '--user', 'bob', '--permissions', 'users:r', '--json'])
    assert.equal(created.code, 0, created.stderr)
    const key = (JSON.parse(created.stdout) as { key: string }).key
    gh = await startServe(['--config', config])
    const send = async (method: string, p: string, headers: Record<string, string> = {}) => (await request(`${gh.proxyUrl}${p}`, { method, headers, timeoutMs: 5000 })).status
    assert.equal(await send('GET', '/api/v1/version'), 200)
    assert.equal(await send('GET', '/api/v1/users'), 401)
    assert.equal(await send('GET', '/api/v1/users', { 'x-api-key': key }), 200)
    assert.equal(await send('GET', '/api/v1/users/7', { 'x-api-key': key }), 200)
    assert.equal(await send('POST', '/api/v1/users', { 'x-api-key': key }), 403)
    assert.equal(await send('GET', '/api/v1/users', { 'x-api-key': 'gh_not-a-key' }), 401)
    assert.equal(await send('GET', '/elsewhere'), 403)
    await legacy.close()
    assert.equal(await send('GET', '/api/v1/users', { 'x-api-key': key }), 502)
    const res = await fetch(`${gh.adminUrl}/metrics`)
    assert.equal(res.status, 200)
    scrape = await res.text()
  })
  after(async () => {
    await gh?.stop()
    await legacy?.close().catch(() => {})
  })

  test('the scrape carries every outcome of the traffic', () => {
    for (const outcome of ['allowed', 'denied', 'upstream_error']) assert.match(scrape, new RegExp(`gatehouse_requests_total\\{[^}]*outcome="${outcome}"`))
    for (const reason of ['credential_missing', 'permission_insufficient', 'no_api']) assert.match(scrape, new RegExp(`gatehouse_auth_failures_total\\{reason="${reason}"\\} 1`))
    assert.match(scrape, /gatehouse_auth_cache_hits_total [1-9]/)
    assert.match(scrape, /gatehouse_store_up 1/)
  })

  test('promtool check metrics finds no problem in Gatehouse\'s own metrics', () => {
    const r = promtoolRun(['check', 'metrics'], { input: scrape })
    const problems = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '')
    assert.deepEqual(problems.filter((p) => !PROM_CLIENT_DEFAULT_LINT.has(p.trim())), [])
    if (problems.length === 0) assert.equal(r.code, 0)
  })

  test('promtool check metrics rejects a badly named counter', () => {
    const r = promtoolRun(['check', 'metrics'], { input: '# HELP gatehouse_denials Denials.\n# TYPE gatehouse_denials counter\ngatehouse_denials 1\n' })
    assert.notEqual(r.code, 0)
    assert.match(r.stdout + r.stderr, /counter metrics should have "_total" suffix/)
  })

  test('every Gatehouse metric the alerts and the dashboard use exists in the scrape', () => {
    // Declared families (a labelled metric with no child yet has only its # TYPE line), with histogram series.
    const exposed = new Set<string>()
    for (const m of scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [, name = '', type] = m
      exposed.add(name)
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exposed.add(name + suffix)
    }
    const used = new Set<string>()
    const texts = [...alertRules().groups.flatMap((g) => g.rules.map((r) => r.expr)), ...dashboardQueries().map((q) => q.expr)]
    for (const t of texts) for (const m of t.matchAll(/\bgatehouse_[a-z_]+\b/g)) if (!m[0].startsWith('gatehouse_dashboard')) used.add(m[0])
    assert.ok(used.size >= 10)
    assert.deepEqual([...used].filter((m) => !exposed.has(m)), [])
  })
})
