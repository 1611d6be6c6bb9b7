// The bench's own servers (upstream.ts, node-floor.ts), both sides of the deal:
// the server listens on 127.0.0.1 and announces {"port": N} on stdout, and goes on
// SIGTERM, SIGINT or when the bench that started it disconnects; the bench starts
// it pinned, with tsx, and waits for that announcement.
import type { ChildProcess } from 'node:child_process'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { exited, spawnTracked, stopChild } from './children.js'

export function serveOnLoopback(server: Server, port: number): void {
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
  })
  const stop = () => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
    setTimeout(() => process.exit(0), 1000).unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.on('disconnect', stop)
}

/** Starts test/bench/<script> on `cpu` and resolves once it has announced its port; its stderr tail is kept for errors. */
export async function startBenchServer(
  name: string,
  cpu: number | null,
  script: string,
  env: NodeJS.ProcessEnv,
  nodeArgs: readonly string[] = [],
  timeoutMs = 20_000,
): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const file = path.join(path.dirname(import.meta.dirname), script)
  const child = spawnTracked(name, cpu, process.execPath, [...nodeArgs, '--import', import.meta.resolve('tsx'), file], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let err = ''
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (err = (err + c).slice(-2000)))
  const port = await new Promise<number | null>((resolve) => {
    let out = ''
    const timer = setTimeout(() => resolve(null), timeoutMs)
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      out += c
      const m = /\{"port":(\d+)\}/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    void exited(child).then(() => resolve(null))
  })
  if (port === null) {
    await stopChild(child, 1000)
    throw new Error(`${name} did not start: ${err.trim() || 'no output'}`)
  }
  return { child, port, stderr: () => err.trim() }
}
