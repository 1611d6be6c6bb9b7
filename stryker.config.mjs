// StrykerJS over src/pipeline/ and src/credentials/ (issue 19). Run it through
// `npm run test:mutation [-- target…]` (test/mutation/run.mjs): MUTATION_TARGET names one
// entry of test/mutation/targets.mjs (its files and only the tests that cover them);
// unset, the whole scope runs against the union of those tests.
import { TARGETS } from './test/mutation/targets.mjs'

const name = process.env.MUTATION_TARGET
const all = Object.values(TARGETS)
const target = name ? TARGETS[name] : { mutate: [...new Set(all.flatMap((t) => t.mutate.filter((m) => !m.startsWith('!'))))], testFiles: [...new Set(all.flatMap((t) => t.testFiles))] }
if (!target) throw new Error(`MUTATION_TARGET=${name}: not one of ${Object.keys(TARGETS).join(', ')}`)
const report = `reports/mutation/${name ?? 'all'}`

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  plugins: ['@stryker-mutator/tap-runner'],
  testRunner: 'tap',
  tap: {
    testFiles: target.testFiles,
    // --test-reporter=tap: Node 24 prints the spec reporter even into a pipe, and the
    // tap runner would then see no failure at all.
    nodeArgs: ['--import', 'tsx', '--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}'],
    forceBail: true,
  },
  mutate: target.mutate,
  coverageAnalysis: 'perTest',
  checkers: [],
  reporters: ['html', 'clear-text', 'progress', 'json'],
  htmlReporter: { fileName: `${report}.html` },
  jsonReporter: { fileName: `${report}.json` },
  // A re-run tests only the mutants whose code or covering tests changed (--force: all of them).
  incremental: true,
  incrementalFile: `${report}.incremental.json`,
  // The machine is shared: one test process at a time unless asked (--concurrency N).
  concurrency: 1,
  timeoutMS: 20000,
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['dist', 'reports', 'test/bench', '.bench-results', 'data', 'helm', 'deploy'],
}
