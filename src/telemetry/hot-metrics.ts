// The metrics updated on every request (SPEC §7), kept in plain numbers and printed by
// prom-client's registry at scrape time. prom-client's own inc() and observe() rebuild
// and hash the label set on every call, even on a child from labels(): ~2 % of a
// proxied request's CPU (bench profile). Here a series is looked up once per label set
// and updating it is an addition. The text a scrape gets is prom-client's, byte for
// byte (test/unit/telemetry/hot-metrics.test.ts compares the two on random traffic);
// only that text is made (registry.metrics()), not prom-client's JSON form.

/** Label values; a histogram's `le` is its bound as a number, as prom-client has it. */
type Labels = Record<string, string | number>

/** A value as prom-client's registry prints it (`labels` shared by a histogram's lines). */
interface PrintedValue {
  readonly value: number
  readonly labels: Labels
  readonly sharedLabels?: Labels
  readonly metricName?: string
}

interface Printed {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'histogram'
  readonly values: PrintedValue[]
  readonly aggregator: 'sum'
}

/** The series of one metric, one per label set, in the order they first appeared. */
class HotMetric<Series> {
  readonly aggregator = 'sum' as const
  private readonly series = new Map<string, { readonly labels: Labels; readonly series: Series }>()

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: Printed['type'],
    private readonly labelNames: readonly string[],
    private readonly create: () => Series,
    private readonly print: (labels: Labels, s: Series, into: PrintedValue[]) => void,
  ) {
    // Like prom-client, a metric without labels is printed (as zero) before its first update.
    if (labelNames.length === 0) this.child()
  }

  /** The series for these label values (in labelNames' order), created on first use. */
  child(...values: string[]): Series {
    const key = values.join('\u0000')
    let found = this.series.get(key)
    if (found === undefined) {
      if (values.length !== this.labelNames.length) throw new Error(`${this.name}: ${this.labelNames.length} label values expected`)
      const labels: Labels = {}
      this.labelNames.forEach((n, i) => (labels[n] = values[i] as string))
      found = { labels, series: this.create() }
      this.series.set(key, found)
    }
    return found.series
  }

  /** What the registry prints (registry.metrics()). */
  getForPromString(): Promise<Printed> {
    const values: PrintedValue[] = []
    for (const { labels, series } of this.series.values()) this.print(labels, series, values)
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator })
  }
}

export class CounterSeries {
  value = 0
  inc(): void {
    this.value++
  }
}

export type HotCounter = HotMetric<CounterSeries>

export function hotCounter(name: string, help: string, labelNames: readonly string[]): HotCounter {
  return new HotMetric(name, help, 'counter', labelNames, () => new CounterSeries(), (labels, s, into) => into.push({ value: s.value, labels }))
}

export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last one is above every bound. */
  readonly counts: Float64Array
  sum = 0
  count = 0
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1)
  }
  observe(value: number): void {
    if (!Number.isFinite(value)) return
    let i = 0
    while (i < this.bounds.length && value > (this.bounds[i] as number)) i++
    this.counts[i] = (this.counts[i] as number) + 1
    this.sum += value
    this.count++
  }
}

export type HotHistogram = HotMetric<HistogramSeries>

export function hotHistogram(name: string, help: string, labelNames: readonly string[], bounds: readonly number[]): HotHistogram {
  const bucket = `${name}_bucket`
  return new HotMetric(name, help, 'histogram', labelNames, () => new HistogramSeries(bounds), (labels, s, into) => {
    let acc = 0
    bounds.forEach((le, i) => {
      acc += s.counts[i] as number
      into.push({ value: acc, labels: { le }, sharedLabels: labels, metricName: bucket })
    })
    into.push({ value: s.count, labels: { le: '+Inf' }, sharedLabels: labels, metricName: bucket })
    into.push({ value: s.sum, labels: {}, sharedLabels: labels, metricName: `${name}_sum` })
    into.push({ value: s.count, labels: {}, sharedLabels: labels, metricName: `${name}_count` })
  })
}
