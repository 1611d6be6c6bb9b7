// The JWT deny list as every store keeps it in memory (SPEC §6 revocation by `jti`):
// jti -> the Unix second it may be forgotten (the token's own end plus leeway, after
// which jose refuses it anyway), so the list never outgrows the tokens still alive.
// Checked on every request carrying a JWT: a Map lookup, never I/O.

/** A jti we store: 1-256 visible ASCII characters (it becomes part of a Redis key or a JSON file). */
export function isJti(value: unknown): value is string {
  return typeof value === 'string' && /^[\x21-\x7e]{1,256}$/.test(value)
}

export interface RevokedJwt {
  readonly jti: string
  /** Unix seconds: revoked until then. */
  readonly expiresAt: number
}

export class RevokedJwts {
  private readonly byJti = new Map<string, number>()
  private prunedAt = 0

  /** Keeps the later end when the jti is already there. */
  add(jti: string, expiresAt: number, nowSeconds: number): void {
    const current = this.byJti.get(jti)
    if (current === undefined || current < expiresAt) this.byJti.set(jti, expiresAt)
    if (nowSeconds - this.prunedAt >= 60) this.prune(nowSeconds)
  }

  has(jti: string, nowSeconds: number): boolean {
    const until = this.byJti.get(jti)
    return until !== undefined && nowSeconds < until
  }

  /** Swaps in a whole list (a reload after a reconnect). */
  replace(entries: Iterable<RevokedJwt>, nowSeconds: number): void {
    this.byJti.clear()
    for (const e of entries) this.add(e.jti, e.expiresAt, nowSeconds)
  }

  list(nowSeconds: number): RevokedJwt[] {
    return [...this.byJti].filter(([, until]) => until > nowSeconds).map(([jti, expiresAt]) => ({ jti, expiresAt }))
  }

  prune(nowSeconds: number): void {
    this.prunedAt = nowSeconds
    for (const [jti, until] of this.byJti) if (until <= nowSeconds) this.byJti.delete(jti)
  }
}
