// The layers of src/ (ARCHITECTURE.md) as dependency-cruiser rules: `npm run lint:deps`,
// run first by `npm test`. Imports run downward only; no cycle of files or of folders.
// Type-only imports count too (tsPreCompilationDeps): a type belongs to the lowest
// layer that needs it, the one whose code builds its values.

/** Each folder of src/ and the folders it may import (besides itself). */
const below = {
  net: [],
  outcome: [],
  config: ['net'],
  telemetry: ['outcome'],
  credentials: ['config', 'net', 'outcome', 'telemetry'],
  accounts: ['credentials', 'config', 'net', 'outcome', 'telemetry'],
  keystore: ['credentials', 'config', 'net', 'outcome', 'telemetry'],
  pipeline: ['accounts', 'credentials', 'keystore', 'config', 'net', 'outcome', 'telemetry'],
}
below.runtime = ['pipeline', ...below.pipeline]
below.issuer = ['runtime', ...below.runtime]
below.server = ['issuer', ...below.issuer]
below.cli = ['server', ...below.server]
below.demo = ['cli', ...below.cli]

const layerRules = Object.entries(below).map(([folder, allowed]) => ({
  name: `layer-${folder}`,
  comment: `src/${folder}/ may import only ${allowed.length ? allowed.join(', ') : 'packages and node built-ins'} (ARCHITECTURE.md)`,
  severity: 'error',
  from: { path: `^src/${folder}/` },
  to: { path: '^src/', pathNot: `^src/(${[folder, ...allowed].join('|')})/` },
}))

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-file-cycle',
      comment: 'A file may not reach itself through its imports.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycle',
      comment: 'A folder of src/ may not reach itself through its imports.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-unknown-folder',
      comment: 'Every folder of src/ has a place in the layers above: add it there (and to ARCHITECTURE.md).',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: `^src/(${Object.keys(below).join('|')})/` },
      to: {},
    },
    {
      name: 'no-import-of-entry',
      comment: 'src/main.ts is the bin entry; nothing imports it.',
      severity: 'error',
      from: {},
      to: { path: '^src/main\\.ts$' },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
}
