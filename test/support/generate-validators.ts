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

/**
 * Sections a config has only when it uses the feature, and about 40 % of the config
 * validator's code. Each becomes a function of its own, which V8 compiles only when a
 * config has that section: check-config of a config without them does not pay for
 * compiling their checks (issue 17). Pointers into the schema.
 */
const OPTIONAL_SECTIONS = [
  '/properties/tls',
  '/properties/apis/items/properties/cors',
  '/properties/jwt/properties/issuers/items',
  '/properties/forwardAuth',
  '/properties/issuer',
]

export const TARGETS: readonly Target[] = [
  {
    file: 'src/config/config-validator.ts',
    // The address and duration patterns are for schema readers without our parsers (the
    // Helm chart). load.ts and the compile step parse those values themselves and say
    // what is wrong, and a bad duration in a field the compile step reads must not stop
    // check-config before it lists the rest: so gatehouse validates without them.
    schema: withOwnFunctions(withoutParserCheckedPatterns(ConfigSchema), OPTIONAL_SECTIONS),
    source: 'src/config/schema.ts',
    // verbose: load.ts words a problem from the schema that failed (what a valid value looks like).
    // inlineRefs: false keeps each OPTIONAL_SECTIONS entry a function of its own.
    options: { allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true, verbose: true, inlineRefs: false },
  },
  { file: 'src/accounts/users-validator.ts', schema: UsersFileSchema, source: 'src/accounts/users-schema.ts', options: { allErrors: true, useDefaults: true } },
  {
    file: 'src/accounts/clients-validator.ts',
    schema: ClientsFileSchema,
    source: 'src/accounts/clients-schema.ts',
    options: { allErrors: true, useDefaults: true },
  },
]

/** The schema with each subschema at `pointers` moved under `definitions` and referred to by $ref. */
function withOwnFunctions(schema: object, pointers: readonly string[]): object {
  const root = structuredClone(schema) as Record<string, unknown>
  const definitions: Record<string, unknown> = {}
  for (const pointer of pointers) {
    const keys = pointer.split('/').slice(1)
    const last = keys.pop() as string
    const parent = keys.reduce<Record<string, unknown>>((node, key) => node[key] as Record<string, unknown>, root)
    const section = parent[last] as Record<string, unknown> | undefined
    // A default beside the $ref would not be applied: such a section is never absent anyway.
    if (section === undefined || 'default' in section) throw new Error(`${pointer}: no such optional section`)
    const name = keys.concat(last).filter((k) => k !== 'properties' && k !== 'items').join('_') + (last === 'items' ? '_item' : '')
    definitions[name] = section
    parent[last] = { $ref: `#/definitions/${name}` }
  }
  return { ...root, definitions }
}

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
  const code = generate(ajv, ajv.compile(t.schema)).replace(/^"use strict";/, '')
  // Ajv's runtime helpers (string length, deep equality) become ES imports, which
  // deploy/bundle.mjs bundles: no CommonJS loader at start-up (issue 17).
  const helpers = new Map<string, string>()
  const body = code.replace(/\brequire\("(ajv\/dist\/runtime\/[a-z0-9]+)"\)/g, (_, id: string) => {
    if (!helpers.has(id)) helpers.set(id, `ajvRuntime${helpers.size}`)
    return helpers.get(id) as string
  })
  if (/\brequire\(/.test(body)) throw new Error(`${t.file}: Ajv's code requires something other than its runtime helpers`)
  return [
    `// GENERATED from ${t.source} by \`npm run generate:validators\` (test/support/generate-validators.ts).`,
    "// Do not edit: change the schema and regenerate. Ajv standalone code; `ajvRuntime…` are Ajv's",
    '// own runtime helpers (string length, deep equality).',
    '// @ts-nocheck',
    '/* eslint-disable */',
    ...[...helpers].map(([id, name]) => `import ${name} from '${id}.js'`),
    body,
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
