// What `gatehouse --help` and `gatehouse COMMAND --help` print (SPEC §1). The
// exit codes are README "The command"'s table; keep the two the same.
import { readFileSync } from 'node:fs'

export const EXIT_CODES = `exit codes:
  0  ok
  1  usage error, or an invalid config (every problem check-config reports, files it names included)
  2  a valid config that cannot run: an address cannot be bound, the key store cannot be opened
     or written, the TLS certificate and key do not load
`

export const USAGE = `usage:
  gatehouse serve --config FILE            (or GATEHOUSE_CONFIG=FILE)
  gatehouse check-config --config FILE
  gatehouse hash-secret                    (asks twice on a terminal; else reads stdin)
  gatehouse keys create --config FILE --user NAME --permissions api:rw,api2:r [--expires PT1H] [--ip-filter CIDR,…] [--description TEXT] [--disabled] [--json]
  gatehouse keys list --config FILE [--user NAME] [--json]
  gatehouse keys revoke --config FILE ID…
  gatehouse keys migrate --config FILE --from file --to redis [--json]
  gatehouse mint-jwt --key PRIVATE_KEY_FILE --iss ISSUER --sub USER [--aud AUDIENCE]… [--permissions api:rw,…] [--scope "a b"] [--ttl PT5M]
  gatehouse inject --config-map NAME --image IMAGE --app-port PORT [--port NAME|PORT] … < manifests.yaml
  gatehouse --version

Each command takes --help.
${EXIT_CODES}`

export const SERVE_USAGE = `usage: gatehouse serve --config FILE      (or GATEHOUSE_CONFIG=FILE)

Runs the proxy (and the token service when the config has an issuer: section)
until SIGTERM or SIGINT; SIGHUP reloads the config.

options:
  -c, --config FILE   the YAML config; default $GATEHOUSE_CONFIG
  -h, --help          this help
${EXIT_CODES}`

export const CHECK_CONFIG_USAGE = `usage: gatehouse check-config --config FILE   (or GATEHOUSE_CONFIG=FILE)

Validates a config and the files it names without starting anything: prints
"FILE: ok" and exits 0, or every problem as "FILE: path: message" and exits 1.

options:
  -c, --config FILE   the YAML config; default $GATEHOUSE_CONFIG
  -h, --help          this help
`

/**
 * The package's version, from the nearest package.json above this module named gatehouse:
 * dist/main.js and its chunks (bundled, the image copies package.json beside dist/) and
 * src/cli/usage.ts (tsx) sit at different depths.
 */
export function version(): string {
  for (let up = '../'; up.length <= 9; up += '../') {
    try {
      const pkg = JSON.parse(readFileSync(new URL(`${up}package.json`, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown }
      if (pkg.name === 'gatehouse') return typeof pkg.version === 'string' ? pkg.version : 'unknown'
    } catch {
      // none at this level: one more up
    }
  }
  return 'unknown'
}
