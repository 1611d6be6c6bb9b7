#!/usr/bin/env node
// The `gatehouse` command (SPEC §1). Exit codes (README "The command", cli/usage.ts): 0 ok, 1 invalid config or usage,
// 2 runtime failure at start; each failure with a one-line reason on stderr.
// Each command imports what it needs when it runs: `--help` loads nothing, and
// `check-config` or `keys` never load the proxy, the token service or pino
// (start-up CPU, issue 17).
import { CONFIG_OPTIONS, parseCommandArgs } from './cli/args.js'
import { StartError } from './cli/start-error.js'
import { CHECK_CONFIG_USAGE, SERVE_USAGE, USAGE, version } from './cli/usage.js'
import type { KeyStore } from './keystore/key-store.js'

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'serve':
      return serve(rest)
    case 'check-config': {
      const file = configArg('check-config', rest, CHECK_CONFIG_USAGE)
      if (typeof file === 'number') return file
      const { checkConfig } = await import('./cli/check-config.js')
      return checkConfig(file, process.stdout, process.stderr)
    }
    case 'hash-secret': {
      const { hashSecretCommand } = await import('./cli/hash-secret.js')
      return hashSecretCommand(rest, process.stdin, process.stdout, process.stderr)
    }
    case 'keys': {
      const { keysCommand } = await import('./cli/keys.js')
      return keysCommand(rest, {
        stdout: process.stdout,
        stderr: process.stderr,
        loadStore: (file) => openConfiguredStore(file),
        openStore: (file, type) => openConfiguredStore(file, type),
        loadHolders: async (file) => (await import('./cli/key-holders.js')).loadKeyHolders(file),
      })
    }
    case 'mint-jwt': {
      const { mintJwtCommand } = await import('./cli/mint-jwt.js')
      return mintJwtCommand(rest, { stdout: process.stdout, stderr: process.stderr })
    }
    case 'inject': {
      const { injectCommand } = await import('./cli/inject.js')
      return injectCommand(rest, process.stdin, process.stdout, process.stderr)
    }
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE)
      return 0
    case '-V':
    case '--version':
    case 'version':
      process.stdout.write(`gatehouse ${version()}\n`)
      return 0
    default:
      return usage(command ? `unknown command "${command}"; the commands are serve, check-config, hash-secret, keys, mint-jwt and inject` : 'a command is needed', USAGE)
  }
}

/** The config's store, or (keys migrate) its store of the given type: store.path for file, store.url for redis. */
async function openConfiguredStore(file: string, type?: 'file' | 'redis'): Promise<KeyStore> {
  const [{ loadConfigFile }, { formatProblems }, { checkRedisStore }, { openKeyStore }] = await Promise.all([
    import('./config/load.js'),
    import('./config/problem.js'),
    import('./config/redis-config.js'),
    import('./keystore/open-key-store.js'),
  ])
  const loaded = await loadConfigFile(file)
  if (!loaded.ok) throw new StartError(formatProblems(file, loaded.problems), 1)
  const store = { ...loaded.value.config.store, type: type ?? loaded.value.config.store.type }
  const problems = checkRedisStore(store)
  if (problems.length > 0) throw new StartError(formatProblems(file, problems), 1)
  return openKeyStore(store, { watch: false })
}

/** The config file of serve or check-config, or the exit code when the arguments are wrong or ask for help. */
function configArg(command: string, args: string[], help: string): string | number {
  const parsed = parseCommandArgs(args, CONFIG_OPTIONS)
  if (!parsed.ok) return usage(`${command}: ${parsed.message}`, help)
  if (parsed.value.values.help) {
    process.stdout.write(help)
    return 0
  }
  const file = (parsed.value.values.config as string | undefined) ?? process.env.GATEHOUSE_CONFIG
  return file ?? usage(`${command} needs --config FILE or GATEHOUSE_CONFIG`, help)
}

async function serve(args: string[]): Promise<number> {
  const file = configArg('serve', args, SERVE_USAGE)
  if (typeof file === 'number') return file
  const { startGatehouse } = await import('./cli/serve.js')
  const gh = await startGatehouse({ configFile: file })
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    gh.logger.info({ signal }, 'draining')
    gh.shutdown().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGHUP', () => void gh.reload())
  return new Promise<number>(() => {}) // runs until a signal ends it
}

/** A usage error: what was wrong, then what the command takes; exit 1 (SPEC §1). */
function usage(message: string, help: string): number {
  process.stderr.write(`gatehouse: ${message}\n${help}`)
  return 1
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    if (err instanceof StartError) {
      process.stderr.write(`gatehouse: ${err.message}\n`)
      process.exit(err.exitCode)
    }
    process.stderr.write(`gatehouse: ${(err as Error)?.message ?? String(err)}\n`)
    process.exit(2)
  },
)
