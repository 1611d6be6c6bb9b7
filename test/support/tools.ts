// External tools the deploy checks run (helm, kubectl, promtool, `ip netns`):
// found through the env var that .ci/run sets, else on PATH. Missing on a
// developer machine, a test skips with a message saying how to get the tool;
// with CI set (true, 1) it fails instead, so CI can never pass by silently skipping.
import { accessSync, constants, statSync } from 'node:fs'
import path from 'node:path'

/**
 * Any truthy CI (`true`, `1`, `yes`, as CI services and .ci/run set it): a missing
 * tool fails. Only unset, empty, `false`, `0` or `no` mean a developer machine.
 * Read at each lookup.
 */
export function inCi(): boolean {
  const v = (process.env.CI ?? '').trim().toLowerCase()
  return !['', 'false', '0', 'no'].includes(v)
}

export interface Tool {
  readonly name: string
  /** Absolute path of the executable, or null when it was not found. */
  readonly path: string | null
  /** For node:test's `skip` option: a message when the tool is missing outside CI, else false. */
  readonly skip: string | false
  /** The executable's path; throws (so the test fails) when it is missing. */
  require(): string
}

/** `envVar` wins when set (and must then name an executable); else `name` on PATH. */
export function findTool(name: string, envVar: string, hint: string): Tool {
  const fromEnv = process.env[envVar]
  const found = fromEnv ? (isExecutable(fromEnv) ? path.resolve(fromEnv) : null) : onPath(name)
  const why = fromEnv
    ? `${envVar}=${fromEnv} is not an executable file`
    : `${name} is not on PATH and ${envVar} is not set`
  return describe(name, found, `${why}; ${hint}`)
}

/**
 * A capability that is not a file (e.g. permission to create network namespaces):
 * `probe` returns null when it is there, or why it is not.
 */
export function findCapability(name: string, probe: () => string | null, hint: string): Tool {
  const why = probe()
  return describe(name, why === null ? name : null, `${why ?? ''}; ${hint}`)
}

function describe(name: string, found: string | null, message: string): Tool {
  const full = `${name} unavailable: ${message}`
  const ci = inCi()
  return {
    name,
    path: found,
    // Under CI the test runs and fails in require(); elsewhere it is skipped with the reason.
    skip: found === null && !ci ? `${full} (skipped outside CI; with CI=true this fails)` : false,
    require() {
      if (found === null) throw new Error(`${full}${ci ? ' (CI=true: a missing tool fails the check)' : ''}`)
      return found
    },
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue
    const candidate = path.join(dir, name)
    if (isExecutable(candidate)) return candidate
  }
  return null
}

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}
