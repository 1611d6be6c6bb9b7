/** One thing wrong with a config, located by its path in the file (`apis[1].prefixes[0]`). */
export interface Problem {
  readonly path: string
  readonly message: string
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problems: Problem[] }

export function formatProblems(file: string, problems: readonly Problem[]): string {
  return problems.map((p) => `${file}: ${p.path || '(root)'}: ${p.message}`).join('\n')
}
