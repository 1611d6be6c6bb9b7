// The per-request metrics moved off prom-client's Counter and Histogram (issue 17,
// src/telemetry/hot-metrics.ts). prom-client itself is the oracle: the same random
// traffic goes into its metrics and into ours, each in a registry of its own, and a
// scrape of /metrics (the registry's text) must come out the same, byte for byte.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import client from 'prom-client'
import { hotCounter, hotHistogram } from '../../../src/telemetry/hot-metrics.js'
import { RUNS } from '../../property/runs.js'

const BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const LABELS = ['allowed', 'denied', 'a"quoted\\api\nname', 'unmatched']

/** A duration, often exactly on a bound or just beside it (where `le` is decided). */
const duration = fc.oneof(
  fc.double({ min: 0, max: 60, noNaN: true }),
  fc.constantFrom(...BOUNDS),
  fc.constantFrom(...BOUNDS).map((b) => b + Number.EPSILON * b),
  fc.constant(0),
)

async function scrape(metrics: object[]): Promise<string> {
  const registry = new client.Registry()
  for (const m of metrics) registry.registerMetric(m as client.Metric)
  return registry.metrics()
}

describe('hot metrics print what prom-client prints for the same traffic', () => {
  it('histograms with and without labels', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...LABELS), duration), { maxLength: 60 }), async (observations) => {
        const theirs = new client.Histogram({ name: 'h_seconds', help: 'help', labelNames: ['outcome'], buckets: BOUNDS, registers: [] })
        const theirsBare = new client.Histogram({ name: 'bare_seconds', help: 'bare', buckets: BOUNDS, registers: [] })
        const ours = hotHistogram('h_seconds', 'help', ['outcome'], BOUNDS)
        const oursBare = hotHistogram('bare_seconds', 'bare', [], BOUNDS)
        for (const [label, v] of observations) {
          theirs.labels(label).observe(v)
          theirsBare.observe(v)
          ours.child(label).observe(v)
          oursBare.child().observe(v)
        }
        assert.deepEqual(await scrape([ours, oursBare]), await scrape([theirs, theirsBare]))
      }),
      { numRuns: RUNS },
    )
  })

  it('counters with several labels', async () => {
    const label = fc.constantFrom(...LABELS)
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(label, label), { maxLength: 60 }), async (events) => {
        const theirs = new client.Counter({ name: 'c_total', help: 'count', labelNames: ['api', 'outcome'], registers: [] })
        const ours = hotCounter('c_total', 'count', ['api', 'outcome'])
        for (const [api, outcome] of events) {
          theirs.labels(api, outcome).inc()
          ours.child(api, outcome).inc()
        }
        assert.deepEqual(await scrape([ours]), await scrape([theirs]))
      }),
      { numRuns: RUNS },
    )
  })

  it('a metric without labels is printed at zero before any update, as prom-client does', async () => {
    const text = await scrape([hotHistogram('bare_seconds', 'bare', [], [1])])
    assert.match(text, /^bare_seconds_bucket\{le="1"\} 0$/m)
    assert.match(text, /^bare_seconds_count 0$/m)
  })

  it('a label value count that does not match the label names is an error, not a wrong series', () => {
    assert.throws(() => hotCounter('c_total', 'count', ['api', 'outcome']).child('only-one'), /2 label values expected/)
  })
})
