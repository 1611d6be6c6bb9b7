// `gatehouse inject` (the way `linkerd inject` and `istioctl kube-inject` work):
// Kubernetes manifests on stdin, the same manifests on stdout with Gatehouse added
// to every Deployment as a native sidecar (inject-pod.ts). Other documents pass
// through unchanged; a Deployment that already has it is left as it is, so
// injecting twice changes nothing. Exit 1 with the reason on a usage or input error.
import { parseArgs } from 'node:util'
import { Document, parseAllDocuments } from 'yaml'
import { CONFIG_KEY, InjectError, injectDeployment, type InjectOptions } from './inject-pod.js'

export const INJECT_USAGE = `usage: gatehouse inject --config-map NAME --image IMAGE --app-port PORT [--port NAME|PORT] [--container NAME]
                        [--app-port-env VAR] [--admin-port PORT] < manifests.yaml > injected.yaml

Adds Gatehouse to every Deployment read on stdin as a native sidecar (an init
container with restartPolicy: Always; Kubernetes >= 1.29). Gatehouse takes over
the app container's port (--port, default its only one), keeping its number and
name, so Services that target it reach Gatehouse; the app must then listen on
--app-port instead (--app-port-env VAR sets that variable in the app container).
The app's probes on the old port are moved to --app-port, so they still check the app.

  --config-map NAME    ConfigMap with the Gatehouse config under the key ${CONFIG_KEY}; the
                       sidecar sets GATEHOUSE_LISTEN, GATEHOUSE_ADMIN_LISTEN and
                       GATEHOUSE_UPSTREAM_URL for it to use as \${...}
  --image IMAGE        the Gatehouse image (built from deploy/Dockerfile)
  --app-port PORT      the port the app listens on after the change
  --port NAME|PORT     the app container's port Gatehouse takes over
  --container NAME     the app container, when the Pod has several
  --app-port-env VAR   set VAR=PORT in the app container (e.g. PORT)
  --admin-port PORT    Gatehouse's admin port (metrics, probes); default 9464
`

const MAX_INPUT_BYTES = 16 * 1024 * 1024

export async function injectCommand(args: string[], stdin: NodeJS.ReadableStream, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let opts: InjectOptions | 'help'
  try {
    opts = injectOptions(args)
  } catch (e) {
    err.write(`gatehouse inject: ${(e as Error).message}\n${INJECT_USAGE}`)
    return 1
  }
  if (opts === 'help') {
    out.write(INJECT_USAGE)
    return 0
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string)
    size += b.length
    if (size > MAX_INPUT_BYTES) {
      err.write(`gatehouse inject: the input is larger than ${MAX_INPUT_BYTES} bytes\n`)
      return 1
    }
    chunks.push(b)
  }
  try {
    const r = injectManifests(Buffer.concat(chunks).toString('utf8'), opts)
    out.write(r.output)
    for (const note of r.notes) err.write(`gatehouse inject: ${note}\n`)
    return 0
  } catch (e) {
    if (!(e instanceof InjectError)) throw e
    err.write(`gatehouse inject: ${e.message}\n`)
    return 1
  }
}

function injectOptions(args: string[]): InjectOptions | 'help' {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      'config-map': { type: 'string' },
      image: { type: 'string' },
      'app-port': { type: 'string' },
      port: { type: 'string' },
      container: { type: 'string' },
      'app-port-env': { type: 'string' },
      'admin-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return 'help'
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}": the manifests come on stdin`)
  const configMap = values['config-map']
  if (!configMap || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(configMap)) throw new Error('--config-map NAME is needed (a DNS subdomain name, e.g. gatehouse-config)')
  if (!values.image) throw new Error('--image IMAGE is needed (there is no public image: build deploy/Dockerfile and push it)')
  if (values['app-port'] === undefined) throw new Error('--app-port PORT is needed: the port the app listens on once Gatehouse has taken its own')
  const env = values['app-port-env']
  if (env !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) throw new Error(`--app-port-env "${env}" is not an environment variable name`)
  return {
    configMap,
    image: values.image,
    appPort: portNumber('--app-port', values['app-port']),
    adminPort: portNumber('--admin-port', values['admin-port'] ?? '9464'),
    ...(values.port !== undefined ? { port: values.port } : {}),
    ...(values.container !== undefined ? { container: values.container } : {}),
    ...(env !== undefined ? { appPortEnv: env } : {}),
  }
}

function portNumber(flag: string, text: string): number {
  if (!/^[1-9][0-9]{0,4}$/.test(text) || Number(text) > 65535) throw new Error(`${flag} must be a port number from 1 to 65535, not "${text}"`)
  return Number(text)
}

const OTHER_WORKLOADS = new Set(['Pod', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'])

/** The manifests with every Deployment injected, and a note for each workload left as it was. */
export function injectManifests(text: string, opts: InjectOptions): { output: string; notes: string[] } {
  const docs = parseAllDocuments(text, { uniqueKeys: true })
  if (!Array.isArray(docs)) throw new InjectError('the input is not YAML documents')
  const outputs: string[] = []
  const notes: string[] = []
  const kinds: string[] = []
  let deployments = 0
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0) throw new InjectError(`document ${i + 1}: YAML: ${doc.errors[0]?.message.split('\n')[0] ?? ''}`)
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown
    if (value === null || value === undefined) return
    if (typeof value !== 'object' || Array.isArray(value) || typeof (value as Record<string, unknown>).kind !== 'string') {
      throw new InjectError(`document ${i + 1} is not a Kubernetes object (no kind)`)
    }
    const o = value as Record<string, any>
    kinds.push(String(o.kind))
    const name = `${String(o.kind)}/${String(o.metadata?.name ?? '?')}`
    if (o.kind !== 'Deployment' || !String(o.apiVersion).startsWith('apps/')) {
      if (OTHER_WORKLOADS.has(o.kind)) notes.push(`${name} left as it is: inject adds Gatehouse to Deployments only`)
      outputs.push(withoutStartMarker(doc.toString()))
      return
    }
    deployments++
    if (injectDeployment(o, opts)) outputs.push(new Document(o).toString({ lineWidth: 0 }))
    else {
      notes.push(`${name} already has Gatehouse; left as it is`)
      outputs.push(withoutStartMarker(doc.toString()))
    }
  })
  if (deployments === 0) {
    throw new InjectError(`no Deployment in the input (${kinds.length > 0 ? `found ${kinds.join(', ')}` : 'it is empty'}); inject adds Gatehouse to Deployments only`)
  }
  return { output: outputs.join('---\n'), notes }
}

function withoutStartMarker(yaml: string): string {
  return yaml.replace(/^---\n/, '')
}
