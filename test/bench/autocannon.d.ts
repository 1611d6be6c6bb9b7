// The part of autocannon's API the load worker uses (autocannon ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  interface AutocannonClient {
    getRequestBuffer(): Buffer
  }

  interface AutocannonOptions {
    url: string
    connections?: number
    duration?: number
    timeout?: number
    pipelining?: number
    excludeErrorStats?: boolean
    setupClient?: (client: AutocannonClient) => void
  }

  interface AutocannonResult {
    duration: number
    errors: number
    timeouts: number
    resets: number
    non2xx: number
  }

  interface AutocannonInstance extends EventEmitter {
    stop(): void
  }

  function autocannon(opts: AutocannonOptions, cb: (err: Error | null, result: AutocannonResult) => void): AutocannonInstance
  export default autocannon
}
