// Issue 13: the admin port (/metrics, /healthz, /readyz) is reachable from the
// monitoring namespace only, in the chart (a value) and in deploy/kubernetes; and
// the Secret with the keys is mounted 0440, never world-readable (Gatehouse
// refuses a world-readable private key at start).
import assert from 'node:assert/strict'
import path from 'node:path'
import { describe, test } from 'node:test'
import { find, helm, helmTemplate, KUSTOMIZE_DIR, kubectl, kustomize } from './support/helm.js'
import { podSpecOf, type K8sObject } from './support/manifests.js'

interface Rule {
  ports: { port: number }[]
  from?: { namespaceSelector?: { matchLabels?: Record<string, string> }; podSelector?: unknown }[]
}

function adminRule(objects: K8sObject[], adminPort = 9464): Rule {
  const np = find(objects, 'NetworkPolicy') as unknown as { spec: { ingress: Rule[] } }
  const rules = np.spec.ingress.filter((r) => r.ports.some((p) => p.port === adminPort))
  assert.equal(rules.length, 1, 'one rule for the admin port')
  return rules[0] as Rule
}

function secretMode(objects: K8sObject[]): number | undefined {
  const volumes = (podSpecOf(find(objects, 'Deployment'))?.volumes ?? []) as { secret?: { defaultMode?: number } }[]
  return volumes.find((v) => v.secret)?.secret?.defaultMode
}

describe('helm chart: admin port and secret modes', { skip: helm.skip }, () => {
  test('by default only the monitoring namespace reaches the admin port', () => {
    const rule = adminRule(helmTemplate())
    assert.deepEqual(rule.from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }])
  })

  test('networkPolicy.monitoringNamespace names that namespace; metricsFrom adds peers, never opens it to all', () => {
    const rule = adminRule(helmTemplate({ set: ['networkPolicy.monitoringNamespace=observability', 'networkPolicy.metricsFrom[0].podSelector.matchLabels.app=scraper'] }))
    assert.equal(rule.from?.length, 2)
    assert.equal(rule.from?.[0]?.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'], 'observability')
    assert.deepEqual(rule.from?.[1], { podSelector: { matchLabels: { app: 'scraper' } } })
  })

  test('the Secret volume is 0440: no world-readable key', () => {
    assert.equal(secretMode(helmTemplate()), 0o440)
  })
})

describe('deploy/kubernetes: admin port and secret modes', { skip: kubectl.skip }, () => {
  for (const dir of ['.', 'gateway']) {
    test(`${dir}: only the monitoring namespace reaches the admin port; the Secret is 0440`, () => {
      const objects = kustomize(path.join(KUSTOMIZE_DIR, dir))
      assert.deepEqual(adminRule(objects).from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }])
      assert.equal(secretMode(objects), 0o440)
    })
  }
})
