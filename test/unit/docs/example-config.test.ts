// deploy/examples/gatehouse.yaml "lists every key" (README "Configuration"): each
// key of the config schema appears in it, active or as a commented-out line, at
// its place in the tree; it names no key the schema does not know; and as shipped
// (comments ignored) it is a valid config.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { parse } from 'yaml'
import { ConfigSchema } from '../../../src/config/schema.js'
import { parseConfigText } from '../../../src/config/load.js'

const ROOT = path.resolve(import.meta.dirname, '../../..')
const EXAMPLE = path.join(ROOT, 'deploy/examples/gatehouse.yaml')

type Node = { properties?: Record<string, Node>; items?: Node; anyOf?: Node[]; patternProperties?: unknown }

/** `a.b`, `apis[].cors.origins`: every key path of the schema; a record's own keys (scopeMap…) are free, so not listed. */
function schemaPaths(node: Node, at: string, out: Set<string>): Set<string> {
  if (node.properties) {
    for (const [k, child] of Object.entries(node.properties)) {
      const p = at ? `${at}.${k}` : k
      out.add(p)
      schemaPaths(child, p, out)
    }
  }
  if (node.items) schemaPaths(node.items, `${at}[]`, out)
  for (const member of node.anyOf ?? []) schemaPaths(member, at, out)
  return out
}

/** The key paths of a parsed document, read along the schema: under a record nothing more is read. */
function documentPaths(value: unknown, node: Node | undefined, at: string, out: Set<string>): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) documentPaths(v, node?.items ?? node?.anyOf?.find((m) => m.items)?.items, `${at}[]`, out)
  } else if (value !== null && typeof value === 'object') {
    if (node?.patternProperties) return out
    for (const [k, v] of Object.entries(value)) {
      const p = at ? `${at}.${k}` : k
      out.add(p)
      documentPaths(v, node?.properties?.[k] ?? node?.anyOf?.find((m) => m.properties?.[k])?.properties?.[k], p, out)
    }
  }
  return out
}

/** The example with its commented-out keys (`# key: value`, `#   - key: value`) turned back into YAML. */
function uncommented(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/^(\s*)# ?(\s*(?:- )?[A-Za-z][A-Za-z0-9]*:(?:\s|$).*)$/, '$1$2'))
    .join('\n')
}

const schema = JSON.parse(JSON.stringify(ConfigSchema)) as Node
const text = readFileSync(EXAMPLE, 'utf8')

test('the example config names every key of the schema, sections issuer and apis[].cors included', () => {
  const named = documentPaths(parse(uncommented(text), { uniqueKeys: false }), schema, '', new Set())
  const missing = [...schemaPaths(schema, '', new Set())].filter((p) => !named.has(p))
  assert.deepEqual(missing, [], `keys missing from ${path.relative(ROOT, EXAMPLE)}`)
})

test('the example config names no key the schema does not know', () => {
  const known = schemaPaths(schema, '', new Set())
  const named = documentPaths(parse(uncommented(text), { uniqueKeys: false }), schema, '', new Set())
  assert.deepEqual([...named].filter((p) => !known.has(p)), [])
})

test('the example config, as shipped, is a valid config', () => {
  const r = parseConfigText(text, EXAMPLE, { ...process.env })
  assert.ok(r.ok, JSON.stringify(!r.ok && r.problems))
})
