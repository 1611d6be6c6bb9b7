// Builds dist/ from src/ (`npm run build`; `prepare` runs it on `npm ci`). tsc only
// type-checks (tsconfig.json has noEmit); esbuild writes what runs.
//
// Why a bundle (issue 17, start-up): node spent 39 % of `check-config` loading ~520 ES
// module files one by one — ours, yaml's and jose's. Bundled, they are a few chunks.
// Every `await import()` stays its own chunk (splitting), so `--help` still loads
// nothing and `serve` without `issuer:` never loads the token service.
//
// Bundled: our code and the small pure-JavaScript packages the one-shot commands need.
// Left in node_modules: everything else in `dependencies`, because those read files of
// their own at run time (Swagger UI's assets, pino's and Fastify's plugins) or are only
// loaded by `serve`, where start-up is once per Pod.
import { build } from 'esbuild'
import { readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const BUNDLED = new Set(['yaml', 'jose', 'ipaddr.js', 'lru-cache', 'ajv'])

const { dependencies } = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'))
const external = Object.keys(dependencies)
  .filter((name) => !BUNDLED.has(name))
  .flatMap((name) => [name, `${name}/*`])

rmSync(`${root}/dist`, { recursive: true, force: true })
await build({
  absWorkingDir: root,
  entryPoints: ['src/main.ts', 'src/demo/demo.ts', 'src/demo/legacy-api.ts'],
  outdir: 'dist',
  outbase: 'src',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22.12',
  external,
  sourcemap: true,
  // yaml is CommonJS and requires node's `process`: esbuild's require shim needs a real
  // `require` in an ES module. No module of ours declares one (the generated validators
  // import Ajv's runtime helpers).
  banner: { js: "import { createRequire as gatehouseCreateRequire } from 'node:module'; const require = gatehouseCreateRequire(import.meta.url);" },
  logLevel: 'warning',
})
