#!/usr/bin/env node
// The `gatehouse` command (SPEC §1). Exit codes: 0 ok, 1 invalid config or usage,
// 2 runtime failure at start; each failure with a one-line reason on stderr.
// Each command imports what it needs when it runs: `--help` loads nothing, and
// `check-config` or `keys` never load the proxy, the token service or pino
// (start-up CPU, issue 17).
import { parseArgs } from 'node:util'
import { StartError } from './cli/start-error.js'
import type { KeyStore } from './keystore/key-store.js'

const USAGE = `usage:
  gatehouse serve --config FILE            (or GATEHOUSE_CONFIG=FILE)
  gatehouse check-config --config FILE
  gatehouse hash-secret < secret
  gatehouse keys create --config FILE --user NAME --permissions api:rw,api2:r [--expires PT1H] [--ip-filter CIDR,…] [--description TEXT] [--disabled] [--json]
  gatehouse keys list --config FILE [--json]
  gatehouse keys revoke --config FILE ID…
  gatehouse keys migrate --config FILE --from file --to redis [--json]
  gatehouse mint-jwt --key PRIVATE_KEY_FILE --iss ISSUER --sub USER [--aud AUDIENCE]… [--permissions api:rw,…] [--scope "a b"] [--ttl PT5M]
  gatehouse inject --config-map NAME --image IMAGE --app-port PORT [--port NAME|PORT] … < manifests.yaml
`

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'serve':
      return serve(rest)
    case 'check-config': {
      const file = configArg(rest)
      if (!file) return usage('check-config needs --config FILE')
      const { checkConfig } = await import('./cli/check-config.js')
      return checkConfig(file, process.stdout, process.stderr)
    }
    case 'hash-secret': {
      const { hashSecretCommand } = await import('./cli/hash-secret.js')
      return hashSecretCommand(process.stdin, process.stdout, process.stderr)
    }
    case 'keys': {
      const { keysCommand } = await import('./cli/keys.js')
      return keysCommand(rest, {
        stdout: process.stdout,
        stderr: process.stderr,
        loadStore: (file) => openConfiguredStore(file),
        openStore: (file, type) => openConfiguredStore(file, type),
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
    default:
      return usage(command ? `unknown command "${command}"` : 'a command is needed')
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

function configArg(args: string[]): string | undefined {
  try {
    const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } }, strict: true })
    return values.config ?? process.env.GATEHOUSE_CONFIG
  } catch (err) {
    process.stderr.write(`gatehouse: ${(err as Error).message}\n`)
    return undefined
  }
}

async function serve(args: string[]): Promise<number> {
  const file = configArg(args)
  if (!file) return usage('serve needs --config FILE or GATEHOUSE_CONFIG')
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

function usage(message: string): number {
  process.stderr.write(`gatehouse: ${message}\n${USAGE}`)
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
