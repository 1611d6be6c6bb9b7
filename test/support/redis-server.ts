// A real redis-server for tests (issue 4): spawned on a free loopback port, with
// nothing saved unless asked (`--save '' --appendonly no`), stopped, paused and
// restarted on the same port by its own pid; with requirepass, TLS or as a replica
// when asked. And a Sentinel setup (a primary, a replica, one `redis-server
// --sentinel`) for failover. redis-server is Debian's package (.ci/run installs it,
// the Sentinel mode is in the same binary); missing on a developer machine the
// tests skip, with CI=true they fail (test/support/tools.ts). Every wait is bounded.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { findTool } from './tools.js'

export const redisTool = findTool(
  'redis-server',
  'GATEHOUSE_REDIS_SERVER',
  "install Debian's redis-server (`apt-get install redis-server`; .ci/run does) or point GATEHOUSE_REDIS_SERVER at one",
)

export interface RedisServerOptions {
  /** requirepass (and masterauth for a replica). */
  readonly password?: string
  /** Keep the data across stop/start: an append-only file, fsynced on every write, in the server's temp dir. */
  readonly persist?: boolean
  /** Start as a replica of this primary port. */
  readonly replicaOf?: number
  /** Serve TLS only, on the port (rediss://). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string }
}

export interface RedisProcess {
  readonly port: number
  readonly dir: string
  pid(): number | null
  running(): boolean
  /** Everything the process printed, across restarts. */
  output(): string
  /** Resolves once `re` matches output printed after `from` (an output() length). */
  waitForOutput(re: RegExp, timeoutMs: number, from?: number): Promise<void>
  /** SIGTERM (or the given signal), then waits for the exit; SIGKILL after 5 s. */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** (Re)starts on the same port and waits until it accepts connections. */
  start(): Promise<void>
  /** SIGSTOP: the socket stays open and nothing answers (a hung server). */
  pause(): void
  resume(): void
  /** Stops it and removes its directory. */
  close(): Promise<void>
}

export interface RedisServer extends RedisProcess {
  /** redis://[:password@]127.0.0.1:port, or rediss:// with TLS. */
  readonly url: string
}

/** A free loopback port (closed again before returning: a small race, fine for tests). */
export async function freePort(): Promise<number> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort()
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-redis-'))
  const args = ['--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--loglevel', 'notice']
  args.push(...(opts.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']))
  if (opts.tls) {
    args.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', opts.tls.certFile, '--tls-key-file', opts.tls.keyFile, '--tls-auth-clients', 'no')
  } else args.push('--port', String(port))
  if (opts.password !== undefined) args.push('--requirepass', opts.password, '--masterauth', opts.password)
  if (opts.replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(opts.replicaOf))
  const proc = redisProcess(args, port, dir)
  try {
    await proc.start()
  } catch (err) {
    await proc.close()
    throw err
  }
  const auth = opts.password !== undefined ? `:${encodeURIComponent(opts.password)}@` : ''
  return { ...proc, url: `${opts.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}` }
}

export interface SentinelSetup {
  readonly primary: RedisServer
  readonly replica: RedisServer
  readonly sentinel: RedisProcess
  /** The Sentinel master group name. */
  readonly name: string
  /** `127.0.0.1:port` of the sentinel, for store.sentinels. */
  readonly sentinels: readonly string[]
  /** SIGKILLs the primary and waits until the sentinel has promoted the replica (+switch-master). */
  failover(timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

/** A primary, its replica (in sync) and one sentinel watching them (quorum 1, down after 500 ms). */
export async function startSentinelSetup(opts: { password?: string } = {}): Promise<SentinelSetup> {
  const name = 'gatehouse-test'
  const started: RedisProcess[] = []
  try {
    const primary = await startRedisServer({ password: opts.password })
    started.push(primary)
    const replica = await startRedisServer({ password: opts.password, replicaOf: primary.port })
    started.push(replica)
    await replica.waitForOutput(/MASTER <-> REPLICA sync: Finished with success/, 15_000)
    const port = await freePort()
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-sentinel-'))
    const conf = path.join(dir, 'sentinel.conf')
    await writeFile(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${primary.port} 1`,
        `sentinel down-after-milliseconds ${name} 500`,
        `sentinel failover-timeout ${name} 5000`,
        ...(opts.password !== undefined ? [`sentinel auth-pass ${name} ${opts.password}`] : []),
        '',
      ].join('\n'),
    )
    const sentinel = redisProcess([conf, '--sentinel'], port, dir, /\+monitor master /)
    started.push(sentinel)
    await sentinel.start()
    // The sentinel learns of the replica from the primary's INFO: only then can it fail over.
    await sentinel.waitForOutput(new RegExp(`\\+slave slave 127\\.0\\.0\\.1:${replica.port} `), 20_000)
    return {
      primary,
      replica,
      sentinel,
      name,
      sentinels: [`127.0.0.1:${port}`],
      async failover(timeoutMs = 20_000) {
        const from = sentinel.output().length
        await primary.stop('SIGKILL')
        await sentinel.waitForOutput(new RegExp(`\\+switch-master ${name} 127\\.0\\.0\\.1 ${primary.port} 127\\.0\\.0\\.1 ${replica.port}`), timeoutMs, from)
      },
      async close() {
        for (const p of started.reverse()) await p.close()
      },
    }
  } catch (err) {
    for (const p of started.reverse()) await p.close()
    throw err
  }
}

function redisProcess(args: readonly string[], port: number, dir: string, ready = /Ready to accept connections/): RedisProcess {
  const binary = redisTool.require()
  let child: ChildProcess | null = null
  let out = ''
  const waiters = new Set<() => void>()
  const notify = () => {
    for (const w of [...waiters]) w()
  }

  const proc: RedisProcess = {
    port,
    dir,
    pid: () => child?.pid ?? null,
    running: () => child !== null && child.exitCode === null && child.signalCode === null,
    output: () => out,
    waitForOutput(re, timeoutMs, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (re.test(out.slice(from))) {
            done()
            resolve()
          }
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`redis on port ${port}: no ${re} within ${timeoutMs} ms; output:\n${out.slice(-3000)}`))
        }, timeoutMs)
        const done = () => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      })
    },
    async start() {
      if (proc.running()) return
      const from = out.length
      const c = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      child = c
      const take = (chunk: Buffer) => {
        out += chunk.toString('utf8')
        notify()
      }
      c.stdout?.on('data', take)
      c.stderr?.on('data', take)
      c.on('exit', (code, signal) => {
        out += `\n[exited: ${code ?? signal}]\n`
        notify()
      })
      const exited = once(c, 'exit').then(() => {
        throw new Error(`redis on port ${port} exited at start:\n${out.slice(from)}`)
      })
      await Promise.race([proc.waitForOutput(ready, 15_000, from), exited])
      exited.catch(() => undefined)
    },
    async stop(signal = 'SIGTERM') {
      const c = child
      if (!c || !proc.running()) return
      if (c.signalCode === null && c.exitCode === null) c.kill('SIGCONT') // a paused server cannot act on SIGTERM
      const exited = once(c, 'exit')
      c.kill(signal)
      const timer = setTimeout(() => c.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async close() {
      await proc.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
  return proc
}
