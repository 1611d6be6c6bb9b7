// deploy/kubernetes (issue 5): `kubectl kustomize` renders each layout, and every
// object passes the schema, unknown-field and pod checks of support/manifests.ts.
// The checks themselves are shown to fail on broken manifests.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import { find, KUSTOMIZE_DIR, kubectl, kustomize } from './support/helm.js'
import { podSpecOf, validateManifests, type K8sObject } from './support/manifests.js'

const LAYOUTS = [
  { dir: '.', name: 'native sidecar (the default)' },
  { dir: 'classic-sidecar', name: 'classic sidecar' },
  { dir: 'gateway', name: 'gateway' },
] as const

const rendered = new Map<string, K8sObject[]>()
/** A fresh copy of the layout's objects (rendered once per run; tests may break their copy). */
function render(dir: string): K8sObject[] {
  let objects = rendered.get(dir)
  if (!objects) rendered.set(dir, (objects = kustomize(path.join(KUSTOMIZE_DIR, dir))))
  return structuredClone(objects)
}

function formatProblems(problems: readonly { object: string; message: string }[]): string {
  return problems.map((p) => `${p.object}: ${p.message}`).join('\n')
}

describe('deploy/kubernetes renders with kubectl kustomize and validates', { skip: kubectl.skip }, () => {
  for (const layout of LAYOUTS) {
    test(`${layout.name}: every object is valid, with no unknown field`, async () => {
      const objects = render(layout.dir)
      const kinds = objects.map((o) => o.kind).sort()
      for (const k of ['ConfigMap', 'Deployment', 'NetworkPolicy', 'PrometheusRule', 'Secret', 'Service']) assert.ok(kinds.includes(k), `${layout.name} renders a ${k}`)
      assert.ok(kinds.includes('PodMonitor') || kinds.includes('ServiceMonitor'), 'a PodMonitor or ServiceMonitor')
      const problems = await validateManifests(objects)
      assert.equal(formatProblems(problems), '')
    })
  }

  test('without-prometheus-operator: the default layout without a monitoring.coreos.com object (for clusters without those CRDs)', async () => {
    const objects = render('without-prometheus-operator')
    assert.deepEqual(objects.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/')).map((o) => o.kind), [])
    const withOperator = render('.')
    assert.deepEqual(objects, withOperator.filter((o) => !o.apiVersion.startsWith('monitoring.coreos.com/')), 'everything else as in the default layout')
    assert.equal(formatProblems(await validateManifests(objects)), '')
  })

  test('deploy/kubernetes/README.md names every Prometheus Operator object the layouts render as needing its CRDs', () => {
    const readme = readFileSync(path.join(KUSTOMIZE_DIR, 'README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('## The Prometheus Operator CRDs'), readme.indexOf('\n## ', readme.indexOf('## The Prometheus Operator CRDs') + 1))
    assert.match(section, /CustomResourceDefinitions/)
    assert.match(section, /kubectl apply -k deploy\/kubernetes\/without-prometheus-operator/)
    const kinds = new Set(LAYOUTS.flatMap((l) => render(l.dir)).filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/')).map((o) => o.kind))
    assert.ok(kinds.size >= 3, [...kinds].join(', '))
    for (const kind of kinds) assert.match(section, new RegExp(`\`${kind}\``), `the CRD section names ${kind}`)
  })

  test('the native sidecar is an init container with restartPolicy Always, before a legacy API on 127.0.0.1', () => {
    const pod = podSpecOf(find(render('.'), 'Deployment', 'legacy-api'))
    const sidecar = pod?.initContainers?.find((c) => c.name === 'gatehouse')
    assert.equal(sidecar?.restartPolicy, 'Always')
    assert.deepEqual(pod?.containers?.map((c) => c.name), ['legacy-api'])
    assert.match(JSON.stringify(pod?.containers?.[0]), /startLegacyApi\(3000, '127\.0\.0\.1'\)/)
  })

  test('the classic sidecar is an ordinary container, without restartPolicy or the 1.30-only preStop sleep', () => {
    const pod = podSpecOf(find(render('classic-sidecar'), 'Deployment', 'legacy-api'))
    assert.equal(pod?.initContainers, undefined)
    const gatehouse = pod?.containers?.find((c) => c.name === 'gatehouse') as Record<string, unknown> | undefined
    assert.ok(gatehouse)
    assert.equal(gatehouse.restartPolicy, undefined)
    assert.equal(gatehouse.lifecycle, undefined)
  })

  test('a config change renames the generated ConfigMap, so the Pods roll', () => {
    const objects = render('.')
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name?.startsWith('gatehouse-config-'))
    assert.ok(cm, 'gatehouse-config carries a content hash in its name')
    const volumes = (podSpecOf(find(objects, 'Deployment', 'legacy-api'))?.volumes ?? []) as { configMap?: { name?: string } }[]
    assert.ok(volumes.some((v) => v.configMap?.name === cm.metadata?.name), 'the Deployment mounts the hashed name')
  })

  for (const layout of LAYOUTS) {
    test(`${layout.name}: the NetworkPolicy admits the traffic and metrics ports only`, () => {
      const np = find(render(layout.dir), 'NetworkPolicy') as { spec: { policyTypes: string[]; ingress: { ports: { port: number }[] }[] } }
      assert.deepEqual(np.spec.policyTypes, ['Ingress'])
      const ports = np.spec.ingress.flatMap((r) => r.ports.map((p) => p.port)).sort()
      assert.deepEqual(ports, [8080, 9464])
    })
  }
})

describe('the manifest checks reject broken manifests', { skip: kubectl.skip }, () => {
  // Each case breaks one thing in the rendered native-sidecar layout.
  const cases: { name: string; expect: RegExp; breakIt(objects: K8sObject[]): void }[] = [
    {
      name: 'an unknown field in a container (kubeconform -strict would refuse it)',
      expect: /unknown field \.spec\.template\.spec\.initContainers\[0\]\.livenesProbe/,
      breakIt: (o) => {
        const c = podSpecOf(find(o, 'Deployment'))?.initContainers?.[0] as Record<string, unknown>
        c.livenesProbe = c.livenessProbe
      },
    },
    {
      name: 'an unknown field at the top of a Service spec',
      expect: /Service\/legacy-api: unknown field \.spec\.selecter/,
      breakIt: (o) => {
        const svc = find<{ spec: Record<string, unknown> }>(o, 'Service')
        svc.spec.selecter = svc.spec.selector
      },
    },
    {
      name: 'restartPolicy on a regular container',
      expect: /container legacy-api: restartPolicy is allowed on init containers only/,
      breakIt: (o) => {
        const c = podSpecOf(find(o, 'Deployment'))?.containers?.[0]
        if (c) c.restartPolicy = 'Always'
      },
    },
    {
      name: 'an init-container restartPolicy other than Always',
      expect: /restartPolicy must be Always/,
      breakIt: (o) => {
        const c = podSpecOf(find(o, 'Deployment'))?.initContainers?.[0]
        if (c) c.restartPolicy = 'OnFailure'
      },
    },
    {
      name: 'a wrong type (a port number as a word)',
      expect: /schema: .*containerPort must be integer/,
      breakIt: (o) => {
        const c = podSpecOf(find(o, 'Deployment'))?.initContainers?.[0]
        if (c?.ports?.[0]) (c.ports[0] as Record<string, unknown>).containerPort = 'eighty'
      },
    },
    {
      name: 'a root container (restricted Pod Security Standard)',
      expect: /allowPrivilegeEscalation must be false/,
      breakIt: (o) => {
        const c = podSpecOf(find(o, 'Deployment'))?.containers?.[0]
        if (c) c.securityContext = { runAsUser: 0 }
      },
    },
    {
      name: 'a readiness probe on the wrong path',
      expect: /readinessProbe must be an HTTP GET of \/readyz/,
      breakIt: (o) => {
        const c = podSpecOf(find(o, 'Deployment'))?.initContainers?.[0]
        if (c?.readinessProbe?.httpGet) c.readinessProbe.httpGet.path = '/healthz'
      },
    },
    {
      name: 'an unknown field in a PodMonitor endpoint',
      expect: /PodMonitor\/gatehouse: unknown field or wrong type: .*'"scrapeInterval"' does not exist/,
      breakIt: (o) => {
        const pm = find<{ spec: { podMetricsEndpoints: Record<string, unknown>[] } }>(o, 'PodMonitor')
        const e = pm.spec.podMetricsEndpoints[0] as Record<string, unknown>
        e.scrapeInterval = e.interval
      },
    },
    {
      name: 'an unknown field in a PrometheusRule rule',
      expect: /PrometheusRule\/gatehouse: unknown field or wrong type: .*'"severity"' does not exist in type 'IRule'/,
      breakIt: (o) => {
        const pr = find<{ spec: { groups: { rules: Record<string, unknown>[] }[] } }>(o, 'PrometheusRule')
        const rule = pr.spec.groups[0]?.rules[0] as Record<string, unknown>
        rule.severity = 'warning'
      },
    },
    {
      name: 'an unknown apiVersion',
      expect: /schema: unknown apiVersion\/kind apps\/v1beta9 Deployment/,
      breakIt: (o) => {
        find(o, 'Deployment').apiVersion = 'apps/v1beta9'
      },
    },
  ]
  for (const c of cases) {
    test(`rejects ${c.name}`, async () => {
      const objects = render('.')
      c.breakIt(objects)
      const problems = formatProblems(await validateManifests(objects))
      assert.match(problems, c.expect)
    })
  }
})
