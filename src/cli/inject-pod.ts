// The Pod change behind `gatehouse inject`: Gatehouse as a native sidecar (an
// init container with restartPolicy: Always, Kubernetes >= 1.29) in front of one
// port of the app container. Gatehouse takes that port's number and name, so every
// Service, Ingress or probe that named it now reaches Gatehouse; the app moves to
// --app-port, and its own probes on the old port follow it there (a probe through
// Gatehouse's traffic port would need a credential; Gatehouse's /healthz would say
// nothing about the app, so a hung app would never be restarted).

export const SIDECAR_NAME = 'gatehouse'
const ADMIN_PORT_NAME = 'gatehouse-admin'
const CONFIG_VOLUME = 'gatehouse-config'
const DATA_VOLUME = 'gatehouse-data'
/** Gatehouse reads its config here; the ConfigMap holds it under this key. */
export const CONFIG_KEY = 'gatehouse.yaml'
// preStop sleep (none: the sleep action needs 1.30) + the drain (at most 20 s) + margin.
const MIN_GRACE_SECONDS = 30

export interface InjectOptions {
  /** The ConfigMap holding gatehouse.yaml. */
  readonly configMap: string
  readonly image: string
  /** The port the app listens on after the change. */
  readonly appPort: number
  /** The app container's port Gatehouse takes over (name or number); default its only port. */
  readonly port?: string
  /** The app container; default the Pod's only container. */
  readonly container?: string
  /** An environment variable of the app container set to appPort (PORT, for many apps). */
  readonly appPortEnv?: string
  readonly adminPort: number
}

/** A manifest that cannot be injected as asked; the message says why and what to pass. */
export class InjectError extends Error {}

// Loosely typed: these are arbitrary Kubernetes objects read from YAML.
type Obj = Record<string, any>

interface Port {
  readonly name?: string
  readonly containerPort: number
}

/** Adds the sidecar to a Deployment (changed in place); false when it already has one. */
export function injectDeployment(d: Obj, opts: InjectOptions): boolean {
  const at = `Deployment/${String(d.metadata?.name ?? '?')}`
  const pod = d.spec?.template?.spec as Obj | undefined
  if (!pod || !Array.isArray(pod.containers) || pod.containers.length === 0) throw new InjectError(`${at}: no spec.template.spec.containers`)
  const containers = [...((pod.initContainers as Obj[] | undefined) ?? []), ...(pod.containers as Obj[])]
  if (containers.some((c) => c.name === SIDECAR_NAME)) return false
  const app = pickContainer(pod.containers as Obj[], opts.container, at)
  const port = pickPort(app, opts.port, at)
  checkPorts(containers, port, opts, at)
  const clash = ((pod.volumes as Obj[] | undefined) ?? []).find((v) => v.name === CONFIG_VOLUME || v.name === DATA_VOLUME)
  if (clash) throw new InjectError(`${at}: the Pod already has a volume named ${String(clash.name)}`)

  moveApp(app, port, opts)
  pod.initContainers = [...((pod.initContainers as Obj[] | undefined) ?? []), sidecar(port, opts)]
  pod.volumes = [
    ...((pod.volumes as Obj[] | undefined) ?? []),
    { name: CONFIG_VOLUME, configMap: { name: opts.configMap } },
    { name: DATA_VOLUME, emptyDir: { sizeLimit: '64Mi' } },
  ]
  if (typeof pod.terminationGracePeriodSeconds === 'number' && pod.terminationGracePeriodSeconds < MIN_GRACE_SECONDS) {
    pod.terminationGracePeriodSeconds = MIN_GRACE_SECONDS
  }
  const template = d.spec.template as Obj
  template.metadata = { ...(template.metadata as Obj | undefined) }
  // Selected by deploy/kubernetes' PodMonitor, like the shipped sidecar layout.
  template.metadata.labels = { ...(template.metadata.labels as Obj | undefined), 'gatehouse.dev/proxy': 'true' }
  return true
}

function pickContainer(containers: Obj[], wanted: string | undefined, at: string): Obj {
  const names = containers.map((c) => String(c.name))
  if (wanted !== undefined) {
    const found = containers.find((c) => c.name === wanted)
    if (!found) throw new InjectError(`${at}: no container "${wanted}" (containers: ${names.join(', ')})`)
    return found
  }
  if (containers.length > 1) throw new InjectError(`${at}: several containers (${names.join(', ')}): say which is the app with --container`)
  return containers[0] as Obj
}

function pickPort(app: Obj, wanted: string | undefined, at: string): Port & { index: number } {
  const ports = (Array.isArray(app.ports) ? app.ports : []) as Obj[]
  const shown = ports.map((p) => (p.name ? `${String(p.name)} (${String(p.containerPort)})` : String(p.containerPort))).join(', ')
  let index: number
  if (wanted === undefined) {
    if (ports.length !== 1) {
      throw new InjectError(`${at}: container ${String(app.name)} has ${ports.length === 0 ? 'no ports' : `ports ${shown}`}: say which one Gatehouse takes over with --port`)
    }
    index = 0
  } else {
    index = ports.findIndex((p) => p.name === wanted || String(p.containerPort) === wanted)
    if (index === -1) throw new InjectError(`${at}: container ${String(app.name)} has no port "${wanted}" (ports: ${shown || 'none'})`)
  }
  const p = ports[index] as Obj
  if ((p.protocol ?? 'TCP') !== 'TCP') throw new InjectError(`${at}: port ${String(p.containerPort)} is ${String(p.protocol)}; Gatehouse proxies HTTP over TCP`)
  if (p.hostPort !== undefined) throw new InjectError(`${at}: port ${String(p.containerPort)} has a hostPort, which inject does not move`)
  return { index, containerPort: Number(p.containerPort), ...(typeof p.name === 'string' ? { name: p.name } : {}) }
}

function checkPorts(containers: Obj[], port: Port, opts: InjectOptions, at: string): void {
  const used = new Set<number>()
  const names = new Set<string>()
  for (const c of containers) {
    for (const p of (c.ports ?? []) as Obj[]) {
      if (p.containerPort !== port.containerPort) used.add(Number(p.containerPort))
      if (typeof p.name === 'string') names.add(p.name)
    }
  }
  for (const [flag, n] of [['--app-port', opts.appPort], ['--admin-port', opts.adminPort]] as const) {
    if (n === port.containerPort || used.has(n)) throw new InjectError(`${at}: ${flag} ${n} is already a port of the Pod; choose a free one`)
  }
  if (opts.appPort === opts.adminPort) throw new InjectError('--app-port and --admin-port must differ')
  if (names.has(ADMIN_PORT_NAME)) throw new InjectError(`${at}: the Pod already names a port ${ADMIN_PORT_NAME}`)
}

/** The app container leaves the port to Gatehouse; its probes and hooks on that port follow it. */
function moveApp(app: Obj, port: Port & { index: number }, opts: InjectOptions): void {
  const ports = app.ports as Obj[]
  const { name: _name, ...rest } = ports[port.index] as Obj
  ports[port.index] = { ...rest, containerPort: opts.appPort }
  const onOldPort = (p: unknown) => p === port.containerPort || (port.name !== undefined && p === port.name)
  const handlers = (o: Obj | undefined) => [o?.httpGet, o?.tcpSocket, o?.grpc] as (Obj | undefined)[]
  for (const key of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
    for (const h of handlers(app[key] as Obj | undefined)) if (h && onOldPort(h.port)) h.port = opts.appPort
  }
  for (const key of ['postStart', 'preStop']) {
    for (const h of handlers((app.lifecycle as Obj | undefined)?.[key] as Obj | undefined)) if (h && onOldPort(h.port)) h.port = opts.appPort
  }
  if (opts.appPortEnv !== undefined) {
    const env = ((app.env as Obj[] | undefined) ?? []).filter((e) => e.name !== opts.appPortEnv)
    app.env = [...env, { name: opts.appPortEnv, value: String(opts.appPort) }]
  }
}

function sidecar(port: Port, opts: InjectOptions): Obj {
  const probe = (path: string, extra: Obj) => ({ httpGet: { path, port: ADMIN_PORT_NAME }, ...extra })
  return {
    name: SIDECAR_NAME,
    image: opts.image,
    imagePullPolicy: 'IfNotPresent',
    restartPolicy: 'Always',
    args: ['serve', '--config', `/etc/gatehouse/${CONFIG_KEY}`],
    ports: [
      { name: port.name ?? 'gatehouse-http', containerPort: port.containerPort },
      { name: ADMIN_PORT_NAME, containerPort: opts.adminPort },
    ],
    // For the config: listen: ${GATEHOUSE_LISTEN}, admin.listen: ${GATEHOUSE_ADMIN_LISTEN}, upstream.url: ${GATEHOUSE_UPSTREAM_URL}.
    env: [
      { name: 'GATEHOUSE_LISTEN', value: `0.0.0.0:${port.containerPort}` },
      { name: 'GATEHOUSE_ADMIN_LISTEN', value: `0.0.0.0:${opts.adminPort}` },
      { name: 'GATEHOUSE_UPSTREAM_URL', value: `http://127.0.0.1:${opts.appPort}` },
    ],
    startupProbe: probe('/healthz', { periodSeconds: 1, failureThreshold: 30 }),
    livenessProbe: probe('/healthz', { periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 }),
    readinessProbe: probe('/readyz', { periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 }),
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    // The "restricted" Pod Security Standard whatever the Pod's own settings; 10001 is the image's user.
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: CONFIG_VOLUME, mountPath: '/etc/gatehouse', readOnly: true },
      { name: DATA_VOLUME, mountPath: '/var/lib/gatehouse' },
    ],
  }
}
