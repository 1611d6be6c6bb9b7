// How the Redis store fails: every error and warning with the password scrubbed
// out (config/redis-config.ts secretsOf), warnings once per subject until their
// reason changes, and a bound on waiting for an answer.
import { StoreUnavailableError } from './key-store.js'
import type { StoreLogger } from './redis-watch.js'

export class RedisFailures {
  private readonly warned = new Map<string, string>()

  constructor(
    private readonly logger: StoreLogger,
    private readonly secrets: readonly string[],
  ) {}

  /** `text` with each secret replaced by ***. */
  scrub(text: string): string {
    let out = text
    for (const s of this.secrets) out = out.split(s).join('***')
    return out
  }

  /** The StoreUnavailableError a caller sees for `err` (scrubbed). */
  unavailable(err: unknown): StoreUnavailableError {
    if (err instanceof StoreUnavailableError) return err
    return new StoreUnavailableError(`Redis: ${this.scrub(err instanceof Error ? err.message : String(err))}`)
  }

  /** One warning per subject until its reason changes. */
  warnOnce(subject: string, obj: object, msg: string): void {
    const text = JSON.stringify(obj)
    if (this.warned.get(subject) === text) return
    if (this.warned.size > 1000) this.warned.clear()
    this.warned.set(subject, text)
    this.logger.warn(obj, msg)
  }
}

/** `p`, or an error once `ms` passed without an answer. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
    p.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err instanceof Error ? err : new Error(String(err)))
      },
    )
  })
}
