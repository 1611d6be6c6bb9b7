// Writes the config, users-file and clients-file validators as plain modules
// (Ajv standalone code), so that `gatehouse` never compiles a schema at start-up:
// Ajv's compiler and the schema builder cost most of `check-config`'s start
// (issue 17). The schemas stay the single source; a unit test
// (test/unit/config/generated-validators.test.ts) fails when a file is stale.
//   npm run generate:validators   rewrites the files
import { writeFileSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Ajv, type Options } from 'ajv'
import standaloneCode from 'ajv/dist/standalone/index.js'
import { ConfigSchema } from '../../src/config/schema.js'
import { PARSER_CHECKED_PATTERNS, ZERO_DURATION_PATTERN } from '../../src/config/text-forms.js'
import { UsersFileSchema } from '../../src/accounts/users-schema.js'
import { ClientsFileSchema } from '../../src/accounts/clients-schema.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

interface Target {
  readonly file: string
  readonly schema: object
  readonly source: string
  readonly options: Options
}

export const TARGETS: readonly Target[] = [
  {
    file: 'src/config/config-validator.ts',
    // The address and duration patterns are for schema readers without our parsers (the
    // Helm chart). load.ts and the compile step parse those values themselves and say
    // what is wrong, and a bad duration in a field the compile step reads must not stop
    // check-config before it lists the rest: so gatehouse validates without them.
    schema: withoutParserCheckedPatterns(ConfigSchema),
    source: 'src/config/schema.ts',
    // verbose: load.ts words a problem from the schema that failed (what a valid value looks like).
    options: { allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true, verbose: true },
  },
  { file: 'src/accounts/users-validator.ts', schema: UsersFileSchema, source: 'src/accounts/users-schema.ts', options: { allErrors: true, useDefaults: true } },
  {
    file: 'src/accounts/clients-validator.ts',
    schema: ClientsFileSchema,
    source: 'src/accounts/clients-schema.ts',
    options: { allErrors: true, useDefaults: true },
  },
]

/** A JSON copy of the schema without the patterns our parsers check (and the zero-duration `not`). */
function withoutParserCheckedPatterns(schema: object): object {
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip)
    if (node === null || typeof node !== 'object') return node
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(node)) {
      if (k === 'pattern' && typeof v === 'string' && PARSER_CHECKED_PATTERNS.has(v)) continue
      if (k === 'not' && (v as { pattern?: unknown } | null)?.pattern === ZERO_DURATION_PATTERN) continue
      out[k] = strip(v)
    }
    return out
  }
  return strip(JSON.parse(JSON.stringify(schema))) as object
}

const generate = standaloneCode.default

export function validatorSource(t: Target): string {
  const ajv = new Ajv({ ...t.options, code: { source: true, esm: true } })
  const code = generate(ajv, ajv.compile(t.schema))
  return [
    `// GENERATED from ${t.source} by \`npm run generate:validators\` (test/support/generate-validators.ts).`,
    '// Do not edit: change the schema and regenerate. Ajv standalone code; `ajvRuntime`',
    "// loads Ajv's own runtime helpers (string length, deep equality). Not named `require`:",
    '// deploy/bundle.mjs gives each bundled chunk a `require` of its own.',
    '// @ts-nocheck',
    '/* eslint-disable */',
    "import { createRequire } from 'node:module'",
    'const ajvRuntime = createRequire(import.meta.url)',
    code.replace(/^"use strict";/, '').replace(/\brequire\(/g, 'ajvRuntime('),
    '',
  ].join('\n')
}

export function staleTargets(): string[] {
  return TARGETS.filter((t) => readFileSync(path.join(ROOT, t.file), 'utf8') !== validatorSource(t)).map((t) => t.file)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const t of TARGETS) writeFileSync(path.join(ROOT, t.file), validatorSource(t))
  console.log(`wrote ${TARGETS.map((t) => t.file).join(', ')}`)
}
