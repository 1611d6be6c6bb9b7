// Real nginx and Caddy for the decision-mode tests (SPEC §10): each runs as our own
// child process with its own prefix/config folder under a temp dir (never the
// system service), on a free loopback port, and is stopped by its pid.
import { spawn, type ChildProcess } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net, { type AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { findTool } from './tools.js'

export const nginxTool = findTool('nginx', 'GATEHOUSE_NGINX', "install Debian's nginx (`apt-get install nginx`; .ci/run does) or set GATEHOUSE_NGINX")
export const caddyTool = findTool('caddy', 'GATEHOUSE_CADDY', "install Debian's caddy (`apt-get install caddy`; .ci/run does) or set GATEHOUSE_CADDY")

export const REPO = path.resolve(import.meta.dirname, '../..')

export interface FrontProxy {
  readonly port: number
  /** What the proxy wrote to its error log / stderr (for failure messages). */
  log(): Promise<string>
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

/** `replacements` are applied in order with split/join: the tests change ports only (and keep listeners on loopback). */
export async function readTemplate(file: string, replacements: readonly (readonly [string, string])[]): Promise<string> {
  let text = await readFile(path.join(REPO, file), 'utf8')
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`${file} no longer contains ${JSON.stringify(from)}`)
    text = text.split(from).join(to)
  }
  return text
}

/** nginx with `site` (an http-level config such as deploy/forward-auth/nginx/gatehouse.conf) included. */
export async function startNginx(site: string, port: number): Promise<FrontProxy> {
  const bin = nginxTool.require()
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-nginx-'))
  // Started as root, nginx's workers run as an unprivileged user: they must reach their temp folders.
  await chmod(dir, 0o755)
  await writeFile(path.join(dir, 'site.conf'), site)
  await writeFile(path.join(dir, 'nginx.conf'), nginxMainConf(dir))
  const child = spawn(bin, nginxArgs(dir), { stdio: ['ignore', 'pipe', 'pipe'] })
  return started(child, port, dir, path.join(dir, 'error.log'))
}

/** The main nginx.conf around `dir`/site.conf: one worker, everything kept inside `dir`. */
export function nginxMainConf(dir: string, connections = 256): string {
  return [
    'worker_processes 1;',
    'daemon off;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    `events { worker_connections ${connections}; }`,
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
    `  include ${dir}/site.conf;`,
    '}',
    '',
  ].join('\n')
}

export function nginxArgs(dir: string): string[] {
  return ['-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`]
}

/** Caddy with `caddyfile`, its data and config folders inside a temp dir. */
export async function startCaddy(caddyfile: string, port: number): Promise<FrontProxy> {
  const bin = caddyTool.require()
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-caddy-'))
  await writeFile(path.join(dir, 'Caddyfile'), caddyfile)
  const env = { PATH: process.env.PATH ?? '', HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir }
  const child = spawn(bin, ['run', '--config', path.join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: dir })
  return started(child, port, dir, null)
}

async function started(child: ChildProcess, port: number, dir: string, logFile: string | null): Promise<FrontProxy> {
  let output = ''
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()))
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const log = async () => output + (logFile ? await readFile(logFile, 'utf8').catch(() => '') : '')
  const proxy: FrontProxy = {
    port,
    log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
  // Bounded wait until the port accepts connections (or the process has died).
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const text = await log()
      await proxy.stop()
      throw new Error(`front proxy exited at start: ${text}`)
    }
    if (await accepts(port)) return proxy
    if (Date.now() > deadline) {
      const text = await log()
      await proxy.stop()
      throw new Error(`front proxy not listening on ${port} after 10 s: ${text}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' })
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

/**
 * deploy/forward-auth/nginx/gatehouse.conf with the optional decision cache turned on
 * the way decision-cache.conf says: the cache declared at http level, the file
 * included in the decision location.
 */
export function withDecisionCache(site: string, cacheDir: string): string {
  const at = 'location = /_gatehouse/decide {'
  if (!site.includes(at)) throw new Error(`gatehouse.conf no longer has "${at}"`)
  return (
    `proxy_cache_path ${cacheDir} keys_zone=gatehouse_decisions:1m max_size=10m inactive=60s;\n` +
    site.replace(at, `${at}\n        include ${path.join(REPO, 'deploy/forward-auth/nginx/decision-cache.conf')};`)
  )
}
