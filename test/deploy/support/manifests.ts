// Checks Kubernetes manifests the way a cluster (and kubeconform -strict) would,
// without one: every object against the official OpenAPI schemas
// (kubernetes-models, @kubernetes-models/prometheus-operator), unknown fields
// (a round trip through @kubernetes/client-node's ObjectSerializer for built-in
// kinds; TypeScript's excess-property check against the prometheus-operator
// types for its CRDs), and the rules of this project: native-sidecar
// restartPolicy, the "restricted" Pod Security Standard, probes, resources.
import { createRequire } from 'node:module'
import path from 'node:path'
import ts from 'typescript'
import { parseAllDocuments } from 'yaml'
// Deep path: the package's top-level import needs Node 22 (issue 5).
import * as clientModels from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js'

const { ObjectSerializer } = clientModels

// Loosely typed on purpose: tests read and break arbitrary fields of it.
export type K8sObject = Record<string, any> & { apiVersion: string; kind: string; metadata?: { name?: string } }

export interface Problem {
  readonly object: string
  readonly message: string
}

export function parseManifests(text: string): K8sObject[] {
  const out: K8sObject[] = []
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`YAML: ${doc.errors.map((e) => e.message).join('; ')}`)
    const value = doc.toJS() as unknown
    if (value === null || value === undefined) continue
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error('a YAML document is not an object')
    const o = value as K8sObject
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') throw new Error(`an object without apiVersion/kind: ${JSON.stringify(o).slice(0, 200)}`)
    out.push(o)
  }
  return out
}

export function describeObject(o: K8sObject): string {
  return `${o.kind}/${o.metadata?.name ?? '?'}`
}

const PROMETHEUS_OPERATOR_GROUP = 'monitoring.coreos.com'

/** Every problem of every object; an empty list means the manifests are valid. */
export async function validateManifests(objects: readonly K8sObject[]): Promise<Problem[]> {
  const problems: Problem[] = []
  const crds: K8sObject[] = []
  for (const o of objects) {
    const name = describeObject(o)
    const add = (message: string) => problems.push({ object: name, message })
    const schemaError = await validateSchema(o)
    if (schemaError) add(`schema: ${schemaError}`)
    if (o.apiVersion.startsWith(`${PROMETHEUS_OPERATOR_GROUP}/`)) crds.push(o)
    else for (const field of unknownFieldsByRoundTrip(o)) add(`unknown field ${field}`)
    for (const m of podRules(o)) add(m)
  }
  problems.push(...unknownCrdFields(crds))
  return problems
}

/** OpenAPI schema validation: the model class for apiVersion/kind, then validate(). */
async function validateSchema(o: K8sObject): Promise<string | null> {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion]
  const spec =
    group === PROMETHEUS_OPERATOR_GROUP
      ? `@kubernetes-models/prometheus-operator/${group}/${version}/${o.kind}`
      : `kubernetes-models/${group ? `${group}/` : ''}${version}/${o.kind}`
  let Model: new (data: unknown) => { validate(): void }
  try {
    const mod = (await import(spec)) as Record<string, new (data: unknown) => { validate(): void }>
    const found = mod[o.kind]
    if (!found) return `no model ${o.kind} in ${spec}`
    Model = found
  } catch {
    return `unknown apiVersion/kind ${o.apiVersion} ${o.kind}`
  }
  try {
    new Model(o).validate()
    return null
  } catch (err) {
    return (err as Error).message
  }
}

/**
 * Fields that @kubernetes/client-node's generated model does not know: they are
 * dropped by deserialize + serialize, so whatever is missing afterwards is unknown.
 */
export function unknownFieldsByRoundTrip(o: K8sObject): string[] {
  const version = o.apiVersion.split('/').pop() as string
  const type = `V${version.slice(1)}${o.kind}`
  // The module re-exports every generated model class by its type name.
  if (typeof (clientModels as Record<string, unknown>)[type] !== 'function') return [`(no client-node model ${type})`]
  const back = ObjectSerializer.serialize(ObjectSerializer.deserialize(o, type, ''), type, '') as unknown
  return missingPaths(o, back, '')
}

function missingPaths(before: unknown, after: unknown, at: string): string[] {
  if (Array.isArray(before)) {
    if (!Array.isArray(after)) return [at || '.']
    return before.flatMap((v, i) => missingPaths(v, after[i], `${at}[${i}]`))
  }
  if (before !== null && typeof before === 'object') {
    if (after === null || typeof after !== 'object') return [at || '.']
    const a = after as Record<string, unknown>
    return Object.entries(before as Record<string, unknown>).flatMap(([k, v]) =>
      k in a && a[k] !== undefined ? missingPaths(v, a[k], `${at}.${k}`) : [`${at}.${k}`],
    )
  }
  return []
}

/**
 * The prometheus-operator CRDs have no client-node model: type-check each object
 * as a fresh object literal of its kubernetes-models interface, so TypeScript's
 * excess-property check reports every unknown field (and every wrong type).
 */
const parsedDeclarations = new Map<string, ts.SourceFile>()

export function unknownCrdFields(crds: readonly K8sObject[]): Problem[] {
  if (crds.length === 0) return []
  const require = createRequire(import.meta.url)
  const pkgDir = path.dirname(require.resolve('@kubernetes-models/prometheus-operator/package.json'))
  const file = path.join(pkgDir, '__gatehouse_crd_check__.ts')
  const lines: string[] = []
  crds.forEach((o, i) => {
    const kind = o.kind.replace(/[^A-Za-z0-9]/g, '')
    const version = o.apiVersion.split('/')[1] as string
    lines.push(`import type { I${kind} as T${i} } from './${PROMETHEUS_OPERATOR_GROUP}/${version}/${kind}.js'`)
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(o, null, 1)}`)
  })
  const source = lines.join('\n')
  const options: ts.CompilerOptions = {
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
  }
  const host = ts.createCompilerHost(options)
  const readFile = host.readFile.bind(host)
  const fileExists = host.fileExists.bind(host)
  const getSourceFile = host.getSourceFile.bind(host)
  host.readFile = (f) => (path.resolve(f) === file ? source : readFile(f))
  host.fileExists = (f) => path.resolve(f) === file || fileExists(f)
  // The .d.ts files never change during a run: parse each once (the check runs many times per test file).
  host.getSourceFile = (f, lang, ...rest) => {
    if (path.resolve(f) === file) return ts.createSourceFile(f, source, lang)
    let sf = parsedDeclarations.get(f)
    if (!sf) {
      sf = getSourceFile(f, lang, ...rest)
      if (sf) parsedDeclarations.set(f, sf)
    }
    return sf
  }
  const program = ts.createProgram([file], options, host)
  const problems: Problem[] = []
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n')
    let object = 'CRD'
    if (d.file && d.start !== undefined && path.resolve(d.file.fileName) === file) {
      const line = d.file.getLineAndCharacterOfPosition(d.start).line
      // Which `export const oN` the error sits in: the nearest one above it.
      const above = source.split('\n').slice(0, line + 1)
      const decl = above.reverse().find((l) => l.startsWith('export const o'))
      const n = Number(decl?.match(/^export const o(\d+)/)?.[1] ?? -1)
      const o = crds[n]
      if (o) object = describeObject(o)
    }
    problems.push({ object, message: `unknown field or wrong type: ${message.split('\n')[0]}` })
  }
  return problems
}

interface Container {
  name?: string
  restartPolicy?: string
  ports?: { name?: string; containerPort?: number }[]
  securityContext?: Record<string, unknown>
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> }
  startupProbe?: Probe
  livenessProbe?: Probe
  readinessProbe?: Probe
  volumeMounts?: { mountPath?: string }[]
}
interface Probe {
  httpGet?: { path?: string; port?: string | number }
}
interface PodSpec {
  containers?: Container[]
  initContainers?: Container[]
  securityContext?: Record<string, unknown>
  hostNetwork?: boolean
  hostPID?: boolean
  hostIPC?: boolean
  volumes?: Record<string, unknown>[]
  terminationGracePeriodSeconds?: number
}

/** The Pod spec of a Pod or of a workload's template, else null. */
export function podSpecOf(o: K8sObject): PodSpec | null {
  if (o.kind === 'Pod') return (o.spec as PodSpec | undefined) ?? null
  const spec = o.spec as { template?: { spec?: PodSpec }; jobTemplate?: { spec?: { template?: { spec?: PodSpec } } } } | undefined
  return spec?.template?.spec ?? spec?.jobTemplate?.spec?.template?.spec ?? null
}

/** Native-sidecar rules, the "restricted" Pod Security Standard, and what a Gatehouse container needs. */
export function podRules(o: K8sObject): string[] {
  const pod = podSpecOf(o)
  if (!pod) return []
  const out: string[] = []
  for (const c of pod.containers ?? []) {
    // Kubernetes accepts restartPolicy only on init containers (a native sidecar).
    if (c.restartPolicy !== undefined) out.push(`container ${c.name}: restartPolicy is allowed on init containers only`)
  }
  for (const c of pod.initContainers ?? []) {
    if (c.restartPolicy !== undefined && c.restartPolicy !== 'Always') {
      out.push(`init container ${c.name}: restartPolicy must be Always (a native sidecar), not ${c.restartPolicy}`)
    }
  }
  out.push(...restrictedRules(pod))
  const all = [...(pod.initContainers ?? []), ...(pod.containers ?? [])]
  const gatehouse = all.find((c) => c.name === 'gatehouse')
  if (gatehouse) out.push(...gatehouseContainerRules(gatehouse, pod))
  return out
}

/** Pod Security Standards, "restricted" profile (kubernetes.io/docs/concepts/security/pod-security-standards). */
function restrictedRules(pod: PodSpec): string[] {
  const out: string[] = []
  const podSc = pod.securityContext ?? {}
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) out.push('host namespaces are not allowed')
  for (const v of pod.volumes ?? []) if ('hostPath' in v) out.push(`volume ${String(v.name)}: hostPath is not allowed`)
  const podSeccomp = (podSc.seccompProfile as { type?: string } | undefined)?.type
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    const sc = c.securityContext ?? {}
    const at = `container ${c.name}`
    if (sc.privileged === true) out.push(`${at}: privileged`)
    if (sc.allowPrivilegeEscalation !== false) out.push(`${at}: allowPrivilegeEscalation must be false`)
    const drop = ((sc.capabilities as { drop?: string[] } | undefined)?.drop ?? []).map((d) => d.toUpperCase())
    if (!drop.includes('ALL')) out.push(`${at}: capabilities must drop ALL`)
    const add = (sc.capabilities as { add?: string[] } | undefined)?.add ?? []
    if (add.some((a) => a.toUpperCase() !== 'NET_BIND_SERVICE')) out.push(`${at}: only NET_BIND_SERVICE may be added`)
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) out.push(`${at}: runAsNonRoot must be true`)
    if ((sc.runAsUser ?? podSc.runAsUser) === 0) out.push(`${at}: runAsUser 0`)
    const seccomp = (sc.seccompProfile as { type?: string } | undefined)?.type ?? podSeccomp
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') out.push(`${at}: seccompProfile must be RuntimeDefault or Localhost`)
  }
  return out
}

function gatehouseContainerRules(c: Container, pod: PodSpec): string[] {
  const out: string[] = []
  const admin = c.ports?.find((p) => p.name === 'gatehouse-admin')
  if (!admin) out.push('gatehouse: no port named gatehouse-admin')
  // The traffic port is gatehouse-http in the shipped layouts; `gatehouse inject` keeps the app port's own name.
  if (!c.ports?.some((p) => p.name && p.name !== 'gatehouse-admin')) out.push('gatehouse: no named traffic port besides gatehouse-admin')
  const probe = (p: Probe | undefined, want: string, what: string) => {
    if (p?.httpGet?.path !== want || (p.httpGet.port !== 'gatehouse-admin' && p.httpGet.port !== admin?.containerPort)) {
      out.push(`gatehouse: ${what} must be an HTTP GET of ${want} on the admin port`)
    }
  }
  probe(c.startupProbe, '/healthz', 'startupProbe')
  probe(c.livenessProbe, '/healthz', 'livenessProbe')
  probe(c.readinessProbe, '/readyz', 'readinessProbe')
  if (c.securityContext?.readOnlyRootFilesystem !== true) out.push('gatehouse: readOnlyRootFilesystem must be true')
  if (!c.resources?.requests?.cpu || !c.resources.requests.memory) out.push('gatehouse: cpu and memory requests are required')
  if (!c.resources?.limits?.memory) out.push('gatehouse: a memory limit is required')
  if (!c.volumeMounts?.some((m) => m.mountPath === '/var/lib/gatehouse')) out.push('gatehouse: /var/lib/gatehouse must be a mounted (writable) volume')
  if ((pod.terminationGracePeriodSeconds ?? 30) < 25) out.push('gatehouse: terminationGracePeriodSeconds must cover the 20 s drain')
  return out
}
