// SPEC §7: the admin port's exposition, health and readiness; none of it on the proxy port.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { createKey } from '../support/api-keys.js'
import { bearer, call, startFixture, type Fixture } from '../support/fixture.js'
import { waitFor } from '../support/wait.js'

let f: Fixture
before(async () => {
  f = await startFixture()
})
after(() => f.close())

/** Parses the Prometheus text format into samples; fails on any malformed line. */
function parseExposition(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const samples = []
  const types = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    const t = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line)
    if (t) {
      types.set(t[1] as string, t[2] as string)
      continue
    }
    if (line.startsWith('# HELP ')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    assert.ok(m, `malformed exposition line: ${line}`)
    const labels: Record<string, string> = {}
    for (const pair of (m[2] ?? '').match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? []) {
      const eq = pair.indexOf('=')
      labels[pair.slice(0, eq)] = pair.slice(eq + 2, -1)
    }
    const value = Number(m[3])
    assert.ok(!Number.isNaN(value) || m[3] === 'NaN', `bad value in ${line}`)
    samples.push({ name: m[1] as string, labels, value })
  }
  return samples
}

test('metrics carry every SPEC §7 name, with bounded labels only', async () => {
  const { key } = await createKey(f.gh.gh.store, { permissions: { users: 'r' } })
  const token = await f.token()
  await call(f, '/api/v1/users', { headers: bearer(token) }) // miss
  await call(f, '/api/v1/users', { headers: bearer(token) }) // hit
  await call(f, '/api/v1/users', { headers: { 'x-api-key': key } })
  await call(f, '/api/v1/users') // 401
  await call(f, '/api/v1/version') // public
  await call(f, '/nowhere/secret-path-7') // 403 no_api

  const res = await fetch(`${f.gh.adminUrl}/metrics`)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  const samples = parseExposition(text)
  const names = new Set(samples.map((s) => s.name))
  for (const n of [
    'gatehouse_requests_total',
    'gatehouse_auth_failures_total',
    'gatehouse_request_duration_seconds_bucket',
    'gatehouse_request_duration_seconds_count',
    'gatehouse_upstream_duration_seconds_bucket',
    'gatehouse_decision_duration_seconds_bucket',
    'gatehouse_auth_cache_hits_total',
    'gatehouse_auth_cache_misses_total',
    'gatehouse_process_cpu_seconds_total',
    'gatehouse_process_resident_memory_bytes',
  ]) {
    assert.ok(names.has(n), `missing ${n}`)
  }
  const requests = samples.filter((s) => s.name === 'gatehouse_requests_total')
  for (const s of requests) {
    assert.deepEqual(Object.keys(s.labels).sort(), ['api', 'method', 'outcome', 'status_class'])
    assert.ok(['users', 'sessions', 'version', 'unmatched', '-'].includes(s.labels.api as string), s.labels.api)
    assert.match(s.labels.status_class as string, /^[1-5]xx$/)
    assert.ok(['allowed', 'denied', 'upstream_error', 'error'].includes(s.labels.outcome as string))
  }
  const get = (labels: Record<string, string>) =>
    requests.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value ?? 0
  assert.ok(get({ api: 'users', status_class: '2xx', outcome: 'allowed' }) >= 3)
  assert.ok(get({ api: 'users', status_class: '4xx', outcome: 'denied' }) >= 1)
  assert.ok((samples.find((s) => s.name === 'gatehouse_auth_cache_hits_total')?.value ?? 0) >= 1)
  assert.ok((samples.find((s) => s.name === 'gatehouse_auth_cache_misses_total')?.value ?? 0) >= 2)
  // Never a path, user, key or token in any label value.
  assert.ok(!text.includes('secret-path-7') && !text.includes('alice') && !text.includes(key) && !text.includes(token))
})

test('healthz is 200 and readyz is 200 once everything is loaded', async () => {
  assert.equal((await fetch(`${f.gh.adminUrl}/healthz`)).status, 200)
  const ready = await fetch(`${f.gh.adminUrl}/readyz`)
  assert.equal(ready.status, 200)
})

test('the admin endpoints are never served on the proxy port', async () => {
  for (const path of ['/metrics', '/healthz', '/readyz']) {
    const before = f.upstream.requests.length
    const res = await call(f, path)
    assert.equal(res.status, 403, path) // no API serves it: unmatched deny
    assert.ok(!res.text.includes('gatehouse_requests_total'))
    assert.equal(f.upstream.requests.length, before)
  }
})

test('readyz turns 503 while draining', async () => {
  const g = await startFixture()
  try {
    // A request held by a silent upstream keeps the drain going (until the 1.5 s upstream
    // timeout answers it 504); without one the drain ends at once and the admin port closes.
    g.upstream.behave({ kind: 'silent' })
    const inFlight = call(g, '/api/v1/version')
    await waitFor(() => g.upstream.requests.length === 1, 10_000, 'the request to reach the upstream')
    assert.equal((await fetch(`${g.gh.adminUrl}/readyz`)).status, 200, 'ready before the drain')
    const shutdown = g.gh.gh.shutdown(30_000)
    const res = await fetch(`${g.gh.adminUrl}/readyz`)
    assert.equal(res.status, 503)
    assert.equal((await inFlight).status, 504, 'the drain let the in-flight request finish')
    await shutdown
  } finally {
    await g.close()
  }
})
