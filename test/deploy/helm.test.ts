// helm/gatehouse (issue 5): `helm lint --strict` and `helm template` over every
// ci/*-values.yaml on Kubernetes 1.30 (native sidecar) and 1.28 (classic), the
// rendered objects through the manifest checks, values.schema.json rejecting
// bad values, and the chart's copies of config schema, alerts and dashboard
// kept in step with their sources.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { Ajv } from 'ajv'
import { isMap, isScalar, parse, parseDocument, stringify, type YAMLMap } from 'yaml'
import { ConfigSchema } from '../../src/config/schema.js'
import { CIDR_PATTERN } from '../../src/config/text-forms.js'
import { MAIN } from '../support/gatehouse-process.js'
import { CHART, ciValuesFiles, find, helm, helmTemplate, KUSTOMIZE_DIR, ROOT, runHelm } from './support/helm.js'
import { podSpecOf, validateManifests, type K8sObject } from './support/manifests.js'
import { run } from './support/run.js'
import { configValuesSchema, derivedValuesSchema, readValuesSchema } from './support/values-schema.js'
import { PASSTHROUGH, readmeTable, valueRows, valuesTable } from './support/values-table.js'

const SCENARIOS = ciValuesFiles()
const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-helm-test-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

function valuesFile(name: string, values: Record<string, unknown>): string {
  const file = path.join(tmp, name)
  writeFileSync(file, stringify(values))
  return file
}


/** Keys with no comment of their own; a block without one passes when each of its keys has one. */
function uncommentedValues(map: YAMLMap, at: string): string[] {
  return map.items.flatMap((pair, i) => {
    const key = isScalar(pair.key) ? String(pair.key.value) : '?'
    // The yaml parser hangs a comment before a block's first key on the block.
    const commented = Boolean((isScalar(pair.key) && pair.key.commentBefore) || (i === 0 && map.commentBefore))
    if (isMap(pair.value) && pair.value.items.length > 0 && !(commented && PASSTHROUGH.has(key))) {
      return uncommentedValues(pair.value, `${at}${key}.`)
    }
    return commented ? [] : [`${at}${key}`]
  })
}

function gatehouseConfig(objects: readonly K8sObject[]): Record<string, unknown> {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && !o.metadata?.name?.endsWith('-dashboard')) as { data: Record<string, string> } | undefined
  assert.ok(cm?.data['gatehouse.yaml'], 'a ConfigMap with gatehouse.yaml')
  return parse(cm.data['gatehouse.yaml']) as Record<string, unknown>
}

test('there are chart-testing scenarios for the file store, Redis, monitoring, gateway and decision mode', () => {
  const names = SCENARIOS.map((f) => path.basename(f))
  for (const n of ['default-values.yaml', 'redis-values.yaml', 'monitoring-values.yaml', 'gateway-values.yaml', 'decision-values.yaml']) assert.ok(names.includes(n), n)
})

describe('helm lint --strict passes for every scenario', { skip: helm.skip }, () => {
  for (const file of SCENARIOS) {
    test(path.basename(file), () => {
      const r = runHelm(['lint', '--strict', CHART, '-f', file])
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/)
    })
  }
})

describe('helm template renders valid objects for every scenario', { skip: helm.skip }, () => {
  for (const file of SCENARIOS) {
    for (const kubeVersion of ['1.30.0', '1.28.0']) {
      test(`${path.basename(file)} on Kubernetes ${kubeVersion}`, async () => {
        const objects = helmTemplate({ values: [file], kubeVersion })
        const problems = await validateManifests(objects)
        assert.equal(problems.map((p) => `${p.object}: ${p.message}`).join('\n'), '')
        const values = parse(readFileSync(file, 'utf8')) as { mode?: string }
        const pod = podSpecOf(find(objects, 'Deployment'))
        assert.ok(pod)
        const gatehouse = [...(pod.initContainers ?? []), ...(pod.containers ?? [])].find((c) => c.name === 'gatehouse') as Record<string, unknown> | undefined
        assert.ok(gatehouse, 'a gatehouse container')
        if (values.mode === 'gateway' || values.mode === 'decision') {
          assert.deepEqual(pod.containers?.map((c) => c.name), ['gatehouse'])
          assert.equal(pod.initContainers, undefined)
        } else if (kubeVersion === '1.30.0') {
          assert.deepEqual(pod.initContainers?.map((c) => [c.name, c.restartPolicy]), [['gatehouse', 'Always']], 'a native sidecar on >= 1.29')
          assert.deepEqual(pod.containers?.map((c) => c.name), ['legacy-api'])
        } else {
          assert.equal(pod.initContainers, undefined, 'a classic sidecar below 1.29')
          assert.deepEqual(pod.containers?.map((c) => c.name), ['gatehouse', 'legacy-api'])
        }
        // preStop's sleep action exists from 1.30 on only.
        assert.equal(gatehouse.lifecycle === undefined, kubeVersion === '1.28.0')
      })
    }
  }

  test('sidecar.style forces a native or a classic sidecar whatever the version', () => {
    const native = podSpecOf(find(helmTemplate({ kubeVersion: '1.28.0', set: ['sidecar.style=native'] }), 'Deployment'))
    assert.equal(native?.initContainers?.[0]?.restartPolicy, 'Always')
    const classic = podSpecOf(find(helmTemplate({ kubeVersion: '1.31.0', set: ['sidecar.style=classic'] }), 'Deployment'))
    assert.equal(classic?.initContainers, undefined)
  })

  test('monitoring on renders a ServiceMonitor, the PrometheusRule and the dashboard; off renders none', () => {
    const on = helmTemplate({ values: [path.join(CHART, 'ci', 'monitoring-values.yaml')] })
    const sm = find<{ metadata: { labels: Record<string, string> }; spec: { endpoints: { port: string }[] } }>(on, 'ServiceMonitor')
    assert.equal(sm.metadata.labels.release, 'prometheus')
    assert.equal(sm.spec.endpoints[0]?.port, 'metrics')
    assert.ok(find(on, 'Service').spec && JSON.stringify(find(on, 'Service')).includes('"name":"metrics"'))
    find(on, 'PrometheusRule')
    const dash = find<{ metadata: { labels: Record<string, string> } }>(on, 'ConfigMap', 'demo-gatehouse-dashboard')
    assert.equal(dash.metadata.labels.grafana_dashboard, '1')
    const off = helmTemplate({})
    for (const kind of ['ServiceMonitor', 'PrometheusRule']) assert.ok(!off.some((o) => o.kind === kind), `no ${kind} by default`)
  })

  test('decision mode: Gatehouse alone, forwardAuth from the values, and NOTES give the ingress-nginx annotations', () => {
    const file = path.join(CHART, 'ci', 'decision-values.yaml')
    const objects = helmTemplate({ values: [file] })
    assert.deepEqual(gatehouseConfig(objects).forwardAuth, { path: '/_gatehouse/decide', trustedCallers: ['10.244.0.0/16'] })
    assert.deepEqual(podSpecOf(find(objects, 'Deployment'))?.containers?.map((c) => c.name), ['gatehouse'])
    const r = runHelm(['install', 'demo', CHART, '--dry-run=client', '--namespace', 'shop', '-f', file])
    assert.equal(r.code, 0, r.stderr)
    const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'))
    assert.match(notes, /decision service for your ingress/)
    // The auth-url names the Service the chart renders, on its port, at the decision path.
    const service = find<{ metadata: { name: string }; spec: { ports: { name: string; port: number }[] } }>(objects, 'Service')
    const port = service.spec.ports.find((p) => p.name === 'http')?.port
    assert.ok(notes.includes(`nginx.ingress.kubernetes.io/auth-url: "http://${service.metadata.name}.shop.svc.cluster.local:${port}/_gatehouse/decide"`), notes)
    assert.match(notes, /nginx\.ingress\.kubernetes\.io\/auth-response-headers: "X-Auth-User,X-Auth-Actor,X-Auth-Method,X-Auth-Credential-Id,X-Auth-Issuer,X-Auth-Permissions,X-Auth-Expires,X-Auth-Subject-Type"/)
  })

  test('the Redis URL goes into the Secret and reaches the config as ${GATEHOUSE_REDIS_URL}', () => {
    const objects = helmTemplate({ values: [path.join(CHART, 'ci', 'redis-values.yaml')] })
    const secret = find<{ data: Record<string, string> }>(objects, 'Secret')
    assert.match(Buffer.from(secret.data['redis-url'] ?? '', 'base64').toString(), /^redis:\/\//)
    assert.deepEqual(gatehouseConfig(objects).store, { type: 'redis', url: '${GATEHOUSE_REDIS_URL}' })
    const env = (podSpecOf(find(objects, 'Deployment'))?.initContainers?.[0] as { env: { name: string; valueFrom?: { secretKeyRef?: { optional?: boolean } } }[] }).env
    const redis = env.find((e) => e.name === 'GATEHOUSE_REDIS_URL')
    assert.equal(redis?.valueFrom?.secretKeyRef?.optional, false, 'required when the store is Redis')
  })

  test('existingSecret: no Secret is rendered and the Pod reads the named one', () => {
    const objects = helmTemplate({ values: [path.join(CHART, 'ci', 'existing-secret-values.yaml')] })
    assert.ok(!objects.some((o) => o.kind === 'Secret'))
    assert.match(JSON.stringify(find(objects, 'Deployment')), /"secretName":"gatehouse-credentials"/)
    assert.match(JSON.stringify(find(objects, 'Deployment')), /"name":"gatehouse-credentials","key":"redis-url"/)
  })

  test('the Redis store without a URL or an existing Secret is refused', () => {
    assert.throws(() => helmTemplate({ set: ['store.type=redis'] }), /store\.type redis needs store\.redis\.url/)
  })

  test('checksum annotations change with the config and the Secret, so the Pods roll', () => {
    const annotations = (set: string[]) =>
      ((find(helmTemplate({ set }), 'Deployment').spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations)
    const base = annotations(['secret.users=users: []'])
    const config = annotations(['secret.users=users: []', 'config.unmatched=authenticated'])
    const secret = annotations(['secret.users=users: [] # changed'])
    assert.match(base['checksum/config'] ?? '', /^[0-9a-f]{64}$/)
    assert.notEqual(config['checksum/config'], base['checksum/config'])
    assert.equal(config['checksum/secret'], base['checksum/secret'])
    assert.notEqual(secret['checksum/secret'], base['checksum/secret'])
  })

  test('NOTES.txt tells how to reach it, create a key and find the monitoring', () => {
    const r = runHelm(['install', 'demo', CHART, '--dry-run=client', '--namespace', 'shop', '-f', path.join(CHART, 'ci', 'monitoring-values.yaml')])
    assert.equal(r.code, 0, r.stderr)
    const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'))
    assert.match(notes, /native sidecar of legacy-api/)
    assert.match(notes, /port-forward service\/demo-gatehouse 8080:80/)
    assert.match(notes, /keys create --user alice/)
    assert.match(notes, /PrometheusRule demo-gatehouse/)
  })

  test('NOTES.txt warns that keys on the default emptyDir go with the Pod, and not when they are kept', () => {
    const notes = (values: readonly string[]) => {
      const r = runHelm(['install', 'demo', CHART, '--dry-run=client', '--namespace', 'shop', ...values.flatMap((v) => ['--set', v])])
      assert.equal(r.code, 0, r.stderr)
      return r.stdout.slice(r.stdout.indexOf('NOTES:'))
    }
    assert.match(notes([]), /WARNING: API keys are kept on an emptyDir volume and are lost when the Pod goes/)
    assert.doesNotMatch(notes(['store.file.existingClaim=gatehouse-keys']), /emptyDir/)
    assert.doesNotMatch(notes(['store.type=redis', 'store.redis.url=redis://redis:6379/0']), /emptyDir/)
  })
})

describe('values.schema.json rejects unknown and mistyped values (helm lint --strict fails)', { skip: helm.skip }, () => {
  const cases: { name: string; values: Record<string, unknown>; expect: RegExp }[] = [
    { name: 'an unknown top-level value', values: { replicas: 2 }, expect: /additional properties 'replicas' not allowed/ },
    { name: 'a port given as a string', values: { gatehouse: { port: '8080' } }, expect: /\/gatehouse\/port': got string, want integer/ },
    { name: 'an unknown mode', values: { mode: 'daemonset' }, expect: /\/mode': value must be one of 'sidecar', 'gateway', 'decision'/ },
    { name: 'decision mode without trustedCallers', values: { mode: 'decision' }, expect: /\/decision\/trustedCallers': minItems: got 0, want 1/ },
    { name: 'a misspelt config key', values: { config: { apis: [{ name: 'users', prefix: ['/x'] }] } }, expect: /additional properties 'prefix' not allowed/ },
    { name: 'a config key the chart sets itself', values: { config: { listen: '0.0.0.0:1' } }, expect: /\/config': additional properties 'listen' not allowed/ },
    { name: 'a bad permission level in a scope map', values: { config: { jwt: { issuers: [{ issuer: 'x', jwksUri: 'https://x/', scopeMap: { s: { users: 'write' } } }] } } }, expect: /\/config\/jwt\/issuers\/0\/scopeMap/ },
    { name: 'a store type the chart does not know', values: { store: { type: 'postgres' } }, expect: /\/store\/type': value must be one of 'file', 'redis'/ },
  ]
  for (const c of cases) {
    test(`rejects ${c.name}`, () => {
      const r = runHelm(['lint', '--strict', CHART, '-f', valuesFile(`${c.name.replace(/\W+/g, '-')}.yaml`, c.values)])
      assert.notEqual(r.code, 0, `helm lint accepted ${JSON.stringify(c.values)}`)
      assert.match(r.stdout + r.stderr, c.expect)
    })
  }
})

describe('the chart stays in step with its sources', () => {
  test('the config part of values.schema.json is the one derived from src/config/schema.ts', () => {
    assert.deepEqual(
      (readValuesSchema().properties as Record<string, unknown>).config,
      configValuesSchema(),
      'src/config/schema.ts changed: run `npx tsx test/deploy/support/values-schema.ts` to update helm/gatehouse/values.schema.json',
    )
  })

  test('decision.trustedCallers takes the config schema\'s CIDR pattern', () => {
    assert.deepEqual(readValuesSchema(), derivedValuesSchema(), 'run `npx tsx test/deploy/support/values-schema.ts`')
    const decision = (readValuesSchema().properties as Record<string, { properties: { trustedCallers: { items: { pattern?: string } } } }>).decision
    assert.equal(decision?.properties.trustedCallers.items.pattern, CIDR_PATTERN)
  })

  test('the chart ships the same alerts as deploy/kubernetes', () => {
    const kustomizeRule = parse(readFileSync(path.join(KUSTOMIZE_DIR, 'common', 'prometheusrule.yaml'), 'utf8')) as { spec: unknown }
    const chartAlerts = parse(readFileSync(path.join(CHART, 'files', 'alerts.yaml'), 'utf8')) as unknown
    assert.deepEqual(chartAlerts, kustomizeRule.spec)
  })

  test('the chart ships the same Grafana dashboard as deploy/kubernetes', () => {
    assert.equal(
      readFileSync(path.join(CHART, 'files', 'grafana-dashboard.json'), 'utf8'),
      readFileSync(path.join(KUSTOMIZE_DIR, 'common', 'grafana-dashboard.json'), 'utf8'),
    )
  })

  test('helm/gatehouse/README.md has the values table generated from values.yaml and values.schema.json', () => {
    assert.equal(readmeTable(), valuesTable(), 'run `npx tsx test/deploy/support/values-table.ts` to update helm/gatehouse/README.md')
    const rows = valueRows()
    // Independent of the generator: every top-level key of values.yaml has a row (or rows under it).
    const top = Object.keys(parse(readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>)
    for (const key of top) assert.ok(rows.some((r) => r.key === key || r.key.startsWith(`${key}.`)), `a row for ${key}`)
    for (const r of rows) {
      assert.notEqual(r.type, '?', `${r.key}: values.schema.json knows it`)
      assert.notEqual(r.description, '', `${r.key}: described`)
    }
    assert.deepEqual(rows.find((r) => r.key === 'image.repository'), {
      key: 'image.repository',
      type: 'string',
      default: '`"ghcr.io/gatehouse/gatehouse"`',
      description: 'Registry and name.',
    })
  })

  test('the chart README says to set the image repository and warns that emptyDir keys go with the Pod', () => {
    const readme = readFileSync(path.join(CHART, 'README.md'), 'utf8')
    assert.match(readme, /--set image\.repository=/)
    assert.match(readme, /emptyDir/)
    assert.match(readme, /--set store\.file\.existingClaim=/)
    assert.match(readme, /--set store\.type=redis/)
  })

  test('every value in values.yaml has a comment', () => {
    const doc = parseDocument(readFileSync(path.join(CHART, 'values.yaml'), 'utf8'))
    assert.deepEqual(uncommentedValues(doc.contents as YAMLMap, ''), [])
  })
})

describe('every rendered Gatehouse config is one Gatehouse accepts', { skip: helm.skip }, () => {
  const validate = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true }).compile(ConfigSchema)
  for (const file of SCENARIOS) {
    test(`${path.basename(file)}: the config matches the Gatehouse schema`, () => {
      const config = gatehouseConfig(helmTemplate({ values: [file] }))
      assert.ok(validate(config), JSON.stringify(validate.errors))
    })
  }

  // Redis and the token service are not implemented yet (issue 5's brief):
  // check-config runs on the file-store scenarios; the others get the schema check above.
  for (const name of ['default-values.yaml', 'monitoring-values.yaml', 'gateway-values.yaml', 'decision-values.yaml']) {
    test(`${name}: gatehouse check-config accepts it`, () => {
      const config = gatehouseConfig(helmTemplate({ values: [path.join(CHART, 'ci', name)] }))
      const file = path.join(tmp, `check-${name}`)
      writeFileSync(file, stringify(config))
      const r = run(process.execPath, [MAIN, 'check-config', '--config', file], { cwd: ROOT })
      assert.equal(r.code, 0, r.stderr)
    })
  }
})
