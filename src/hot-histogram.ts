// A Prometheus histogram for the per-call latency, cheap enough for the hot path: prom-client's Histogram hashes
// and validates the label set on every observe, even through a bound child (labels()), which costs a validate call
// more than the rest of its metrics. Here each label value gets its series once (series()), and an observation is a
// bucket search and three additions. Registered on a prom-client Registry, it prints exactly as prom-client's
// Histogram with the same name, buckets and label does (test/unit/hot-histogram.test.ts).
import type { Registry } from "prom-client";

export interface HotSeries {
  observe(value: number): void;
}

interface Series extends HotSeries {
  labelValue: string;
  /** Per bucket (not cumulative), then +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class HotHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly upperBounds: number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** The series of one label value, created on first use. */
  seriesOf(labelValue: string): HotSeries {
    let s = this.series.get(labelValue);
    if (!s) {
      const bounds = this.upperBounds;
      const counts = new Float64Array(bounds.length + 1);
      s = {
        labelValue,
        counts,
        sum: 0,
        count: 0,
        observe(value: number) {
          let i = 0;
          while (i < bounds.length && value > bounds[i]!) i++;
          counts[i]!++;
          this.sum += value;
          this.count++;
        },
      };
      this.series.set(labelValue, s);
    }
    return s;
  }

  /** prom-client's shape (Histogram.getForPromString): cumulative buckets, +Inf, sum and count per series. */
  getForPromString() {
    const name = this.name;
    const values = [];
    for (const s of this.series.values()) {
      const sharedLabels = { [this.labelName]: s.labelValue };
      let acc = 0;
      this.upperBounds.forEach((le, i) => {
        acc += s.counts[i]!;
        values.push({ labels: { le }, sharedLabels, value: acc, metricName: `${name}_bucket`, exemplar: null });
      });
      values.push({ labels: { le: "+Inf" }, sharedLabels, value: s.count, metricName: `${name}_bucket`, exemplar: null });
      values.push({ labels: {}, sharedLabels, value: s.sum, metricName: `${name}_sum`, exemplar: undefined });
      values.push({ labels: {}, sharedLabels, value: s.count, metricName: `${name}_count`, exemplar: undefined });
    }
    return { name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** As prom-client's get(): the shared labels spread into each value's labels. */
  get() {
    const data = this.getForPromString();
    return { ...data, values: data.values.map((v) => ({ value: v.value, metricName: v.metricName, exemplar: v.exemplar, labels: { ...v.labels, ...v.sharedLabels } })) };
  }

  reset(): void {
    this.series.clear();
  }
}
