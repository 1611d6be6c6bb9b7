// `gatehouse inject` (issue 18), run as the built binary: the repo's example app
// (deploy/kubernetes/inject/legacy-api.yaml) comes out with Gatehouse as a native
// sidecar on the app's port, the app and its probe moved to --app-port, the
// Service untouched, and every object passing the manifest checks of
// support/manifests.ts; the example config accepts the sidecar's environment;
// injecting twice changes nothing; and wrong input is refused with a reason.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { parse, stringify } from 'yaml'
import { childEnv, runCli } from '../support/gatehouse-process.js'
import { find, KUSTOMIZE_DIR, kubectl, kustomize, ROOT } from './support/helm.js'
import { parseManifests, podSpecOf, validateManifests, type K8sObject } from './support/manifests.js'
import { run } from './support/run.js'

const EXAMPLE_DIR = path.join(KUSTOMIZE_DIR, 'inject')
const EXAMPLE = readFileSync(path.join(EXAMPLE_DIR, 'legacy-api.yaml'), 'utf8')
const IMAGE = 'registry.example/gatehouse:0.1.0'
const FLAGS = ['inject', '--config-map', 'gatehouse-config', '--image', IMAGE, '--app-port', '3000', '--app-port-env', 'PORT']
const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-inject-test-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

type Container = Record<string, any>

async function inject(input: string, flags: readonly string[] = FLAGS) {
  return runCli(flags, { stdin: input })
}

function problemsText(problems: readonly { object: string; message: string }[]): string {
  return problems.map((p) => `${p.object}: ${p.message}`).join('\n')
}

describe('gatehouse inject on the example app', () => {
  test('adds Gatehouse as a native sidecar on the app port and moves the app and its probe to --app-port', async () => {
    const r = await inject(EXAMPLE)
    assert.equal(r.code, 0, r.stderr)
    const objects = parseManifests(r.stdout)
    const input = parseManifests(EXAMPLE)
    assert.deepEqual(objects.map((o) => o.kind), ['Deployment', 'Service'])
    assert.deepEqual(find(objects, 'Service'), find(input, 'Service'), 'the Service is untouched')

    const pod = podSpecOf(find(objects, 'Deployment'))
    assert.ok(pod)
    const sidecar = pod.initContainers?.find((c) => c.name === 'gatehouse') as Container | undefined
    assert.ok(sidecar, 'a gatehouse init container')
    assert.equal(sidecar.restartPolicy, 'Always', 'a native sidecar (Kubernetes >= 1.29)')
    assert.equal(sidecar.image, IMAGE)
    // The Service targets the port named http: it is Gatehouse's now, on the same number.
    assert.deepEqual(sidecar.ports, [{ name: 'http', containerPort: 8080 }, { name: 'gatehouse-admin', containerPort: 9464 }])
    assert.deepEqual(pod.volumes?.find((v) => v.name === 'gatehouse-config'), { name: 'gatehouse-config', configMap: { name: 'gatehouse-config' } })

    const app = pod.containers?.find((c) => c.name === 'legacy-api') as Container
    assert.deepEqual(app.ports, [{ containerPort: 3000 }], 'the app gave up the port and its name')
    assert.deepEqual(app.env, [{ name: 'PORT', value: '3000' }], '--app-port-env told it the new port')
    assert.equal(app.readinessProbe.httpGet.port, 3000, 'its probe still reaches the app itself')
    assert.equal(app.readinessProbe.httpGet.path, '/api/v1/version')
    assert.equal(find<{ spec: { template: { metadata: { labels: Record<string, string> } } } }>(objects, 'Deployment').spec.template.metadata.labels['gatehouse.dev/proxy'], 'true')
  })

  test('the output passes the manifest checks (schemas, unknown fields, restricted Pod Security, Gatehouse probes)', async () => {
    const r = await inject(EXAMPLE)
    assert.equal(problemsText(await validateManifests(parseManifests(r.stdout))), '')
  })

  test('the example config, with the environment the sidecar gets, passes check-config', async () => {
    const r = await inject(EXAMPLE)
    const sidecar = podSpecOf(find(parseManifests(r.stdout), 'Deployment'))?.initContainers?.find((c) => c.name === 'gatehouse') as Container
    const env = Object.fromEntries((sidecar.env as { name: string; value: string }[]).map((e) => [e.name, e.value]))
    assert.equal(env.GATEHOUSE_UPSTREAM_URL, 'http://127.0.0.1:3000')
    // The store moves to a temp folder: check-config opens it.
    const config = parse(readFileSync(path.join(EXAMPLE_DIR, 'gatehouse.yaml'), 'utf8')) as { store: { path: string } }
    config.store.path = path.join(tmp, 'apikeys.json')
    const file = path.join(tmp, 'gatehouse.yaml')
    writeFileSync(file, stringify(config))
    const check = await runCli(['check-config', '--config', file], { env })
    assert.equal(check.code, 0, check.stderr)
    const unset = await runCli(['check-config', '--config', file])
    assert.equal(unset.code, 1, 'the oracle: without the sidecar environment the config is refused')
  })

  test('injecting twice gives the same manifests as injecting once', async () => {
    const once = await inject(EXAMPLE)
    const twice = await inject(once.stdout)
    assert.equal(twice.code, 0, twice.stderr)
    assert.deepEqual(parseManifests(twice.stdout), parseManifests(once.stdout))
    assert.match(twice.stderr, /Deployment\/legacy-api already has Gatehouse; left as it is/)
  })

  test('documents other than Deployments come out as they went in, comments included', async () => {
    const configMap = '# keep me\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other # and me\ndata:\n  a: "1"\n'
    const r = await inject(`${EXAMPLE}\n---\n${configMap}`)
    assert.equal(r.code, 0, r.stderr)
    assert.ok(r.stdout.includes(configMap), r.stdout)
  })

  test('--help says how to use it, on stdout', async () => {
    const r = await runCli(['inject', '--help'])
    assert.equal(r.code, 0)
    assert.match(r.stdout, /usage: gatehouse inject --config-map NAME --image IMAGE --app-port PORT/)
  })
})

describe('the inject commands of the READMEs work as written', () => {
  for (const readme of ['README.md', path.join('deploy', 'kubernetes', 'README.md')]) {
    test(readme, () => {
      const text = readFileSync(path.join(ROOT, readme), 'utf8')
      const m = /^node dist\/main\.js inject (?:.*\\\n)*.*$/m.exec(text)
      assert.ok(m, `${readme} shows a gatehouse inject command`)
      // Run from a folder that sees the repository's dist/ and deploy/, so injected.yaml lands there.
      const dir = mkdtempSync(path.join(tmp, 'readme-'))
      for (const d of ['dist', 'deploy']) symlinkSync(path.join(ROOT, d), path.join(dir, d))
      const env = { ...childEnv(), PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` }
      const r = run('bash', ['-euc', m[0]], { cwd: dir, env })
      assert.equal(r.code, 0, r.stderr)
      const objects = parseManifests(readFileSync(path.join(dir, 'injected.yaml'), 'utf8'))
      const pod = podSpecOf(find(objects, 'Deployment'))
      assert.equal(pod?.initContainers?.find((c) => c.name === 'gatehouse')?.restartPolicy, 'Always')
    })
  }
})

describe('gatehouse inject on the shipped sidecar layout', { skip: kubectl.skip }, () => {
  test('a Deployment that already has Gatehouse is left as it is', async () => {
    const objects: K8sObject[] = kustomize(KUSTOMIZE_DIR)
    const r = await inject(objects.map((o) => stringify(o)).join('---\n'))
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(parseManifests(r.stdout), objects)
  })
})

describe('gatehouse inject refuses what it cannot do, with a reason and no output', () => {
  const service = 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n'
  const twoContainers = EXAMPLE.replace('      containers:\n', '      containers:\n        - name: helper\n          image: busybox\n')
  const cases: { name: string; input: string; flags?: string[]; expect: RegExp }[] = [
    { name: 'input without a Deployment', input: service, expect: /no Deployment in the input \(found Service\)/ },
    { name: 'empty input', input: '', expect: /no Deployment in the input \(it is empty\)/ },
    { name: 'a StatefulSet alone', input: EXAMPLE.split('---')[0]!.replace('kind: Deployment', 'kind: StatefulSet'), expect: /no Deployment in the input \(found StatefulSet\)/ },
    { name: 'a document that is not an object', input: '- a\n- b\n', expect: /document 1 is not a Kubernetes object/ },
    { name: 'broken YAML', input: 'kind: [Deployment\n', expect: /document 1: YAML/ },
    { name: 'a Pod with several containers and no --container', input: twoContainers, expect: /several containers \(helper, legacy-api\): say which is the app with --container/ },
    { name: 'a port that is not there', input: EXAMPLE, flags: [...FLAGS, '--port', 'grpc'], expect: /no port "grpc" \(ports: http \(8080\)\)/ },
    { name: '--app-port equal to the port taken over', input: EXAMPLE, flags: [...FLAGS.slice(0, 5), '--app-port', '8080'], expect: /--app-port 8080 is already a port of the Pod/ },
    { name: 'no --app-port', input: EXAMPLE, flags: FLAGS.slice(0, 5), expect: /--app-port PORT is needed/ },
    { name: 'no --image', input: EXAMPLE, flags: ['inject', '--config-map', 'c', '--app-port', '3000'], expect: /--image IMAGE is needed/ },
    { name: 'a port beyond 65535', input: EXAMPLE, flags: [...FLAGS.slice(0, 5), '--app-port', '99999'], expect: /--app-port must be a port number from 1 to 65535/ },
    { name: 'an unknown option', input: EXAMPLE, flags: [...FLAGS, '--namespace', 'x'], expect: /Unknown option '--namespace'/ },
  ]
  for (const c of cases) {
    test(c.name, async () => {
      const r = await inject(c.input, c.flags)
      assert.equal(r.code, 1, r.stderr)
      assert.equal(r.stdout, '')
      assert.match(r.stderr, c.expect)
    })
  }
})
