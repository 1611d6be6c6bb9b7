// Every command's arguments: node's parseArgs, strict, its errors turned into one
// line that says what the command takes. A stray argument is never echoed: it may
// be a secret typed where it does not belong (`hash-secret hunter2`).
import { parseArgs, type ParseArgsConfig } from 'node:util'

export type OptionSpec = NonNullable<ParseArgsConfig['options']>
export type ArgValues = Record<string, string | boolean | undefined>
export type Parsed = { values: ArgValues; positionals: string[] }

/** `--config FILE` and `--help`, which every command that reads a config takes. */
export const CONFIG_OPTIONS = { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } as const satisfies OptionSpec

/** The parsed arguments, or a message naming what is wrong and what the command takes instead. */
export function parseCommandArgs(args: string[], options: OptionSpec, allowPositionals = false): { ok: true; value: Parsed } | { ok: false; message: string } {
  try {
    return { ok: true, value: parseArgs({ args, options, strict: true, allowPositionals }) as Parsed }
  } catch (err) {
    return { ok: false, message: argsMessage(err as NodeJS.ErrnoException, options, args) }
  }
}

function argsMessage(err: NodeJS.ErrnoException, options: OptionSpec, args: string[]): string {
  const takes = `it takes ${Object.entries(options).map(([name, o]) => (o.type === 'string' ? `--${name} VALUE` : `--${name}`)).join(', ')}`
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${/'([^']*)'/.exec(err.message)?.[1] ?? ''}; ${takes}`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const name = /--([\w-]+)/.exec(err.message)?.[1] ?? ''
      return options[name]?.type === 'string' ? `--${name} needs a value` : `--${name} takes no value`
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true })
      const at = tokens.find((t) => t.kind === 'positional')?.index ?? 0
      return `unexpected argument #${at + 1} (not shown); ${takes}`
    }
    default:
      return err.message
  }
}
