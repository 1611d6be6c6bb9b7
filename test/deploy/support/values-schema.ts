// The `config` part of helm/gatehouse/values.schema.json, derived from the
// Gatehouse config schema (src/config/schema.ts) so that `helm install` rejects
// a mistyped config key the way `gatehouse check-config` does. Keys the chart
// sets itself (listen, admin, store, upstream.url) are left out, and a key with
// a default is not required (the loader fills defaults before validating).
// decision.trustedCallers takes the same CIDR pattern.
//   npx tsx test/deploy/support/values-schema.ts   rewrites those parts of the file
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { ConfigSchema } from '../../../src/config/schema.js'

export const CHART_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../helm/gatehouse')
export const VALUES_SCHEMA_FILE = path.join(CHART_DIR, 'values.schema.json')
const CHART_OWNED = ['listen', 'admin', 'store']

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

export function configValuesSchema(): Json {
  const schema = withoutDefaults(JSON.parse(JSON.stringify(ConfigSchema)) as Json) as Record<string, Json>
  const props = schema.properties as Record<string, Json>
  for (const key of CHART_OWNED) delete props[key]
  const upstream = props.upstream as Record<string, Json>
  delete (upstream.properties as Record<string, Json>).url
  setRequired(upstream, ((upstream.required ?? []) as string[]).filter((k) => k !== 'url'))
  setRequired(schema, ((schema.required ?? []) as string[]).filter((k) => !CHART_OWNED.includes(k)))
  schema.description =
    'Gatehouse config (SPEC §2, src/config/schema.ts) without the keys the chart sets: listen, admin, store, upstream.url'
  return schema
}

function setRequired(schema: Record<string, Json>, required: string[]): void {
  if (required.length > 0) schema.required = required
  else delete schema.required
}

/** Drops `default`, and drops from `required` every property that has one. */
function withoutDefaults(node: Json): Json {
  if (Array.isArray(node)) return node.map(withoutDefaults)
  if (node === null || typeof node !== 'object') return node
  const out: Record<string, Json> = {}
  const props = node.properties
  const defaulted = new Set(
    props && typeof props === 'object' && !Array.isArray(props)
      ? Object.entries(props)
          .filter(([, v]) => v !== null && typeof v === 'object' && !Array.isArray(v) && 'default' in v)
          .map(([k]) => k)
      : [],
  )
  for (const [k, v] of Object.entries(node)) {
    if (k === 'default') continue
    if (k === 'required' && Array.isArray(v)) {
      const left = v.filter((r) => !defaulted.has(r as string))
      if (left.length > 0) out[k] = left
      continue
    }
    out[k] = withoutDefaults(v)
  }
  return out
}

export function readValuesSchema(): Record<string, Json> {
  return JSON.parse(readFileSync(VALUES_SCHEMA_FILE, 'utf8')) as Record<string, Json>
}

/** The chart's own values that hold a config text form: decision.trustedCallers is forwardAuth.trustedCallers. */
export function chartCidrItems(): Json {
  const forwardAuth = (ConfigSchema.properties.forwardAuth as unknown as { properties: { trustedCallers: { items: Json } } }).properties
  const { description: _, ...items } = JSON.parse(JSON.stringify(forwardAuth.trustedCallers.items)) as Record<string, Json>
  return { ...items, description: 'a CIDR range (or one address) of an ingress controller Pod' }
}

/** The whole values schema with its derived parts (config, decision.trustedCallers.items) recomputed. */
export function derivedValuesSchema(): Record<string, Json> {
  const schema = readValuesSchema()
  const props = schema.properties as Record<string, Json>
  props.config = configValuesSchema()
  const decision = props.decision as { properties: { trustedCallers: Record<string, Json> } }
  decision.properties.trustedCallers.items = chartCidrItems()
  return schema
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  writeFileSync(VALUES_SCHEMA_FILE, `${JSON.stringify(derivedValuesSchema(), null, 2)}\n`)
  process.stdout.write(`updated the config part and decision.trustedCallers of ${VALUES_SCHEMA_FILE}\n`)
}
