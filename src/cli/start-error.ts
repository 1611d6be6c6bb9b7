/** A start-up failure with its exit code (SPEC §1: 1 invalid config or usage, 2 runtime). */
export class StartError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message)
  }
}
