// HotHistogram (the validate path's latency histogram) prints on /metrics exactly what prom-client's Histogram with
// the same name, buckets and label prints for the same observations, as text and as JSON.
import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { HotHistogram } from "../../src/hot-histogram.js";

const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5];

describe("HotHistogram = prom-client Histogram", () => {
  it("prints the same series, buckets, sums and counts for the same observations", async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const h = new Histogram({ name: "x_seconds", help: "h", labelNames: ["method"], buckets: BUCKETS, registers: [theirs] });
    const hot = new HotHistogram("x_seconds", "h", "method", BUCKETS, ours);
    let seed = 11;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const methods = ["/a.B/C", "/a.B/D", '/odd"\\name'];
    const values = [0, 0.0001, 0.00025, 0.5, 0.50001, 3, ...BUCKETS.map((b) => b * 1.0001)];
    for (let i = 0; i < 5000; i++) {
      const method = methods[Math.floor(rnd() * methods.length)]!;
      const v = rnd() < 0.3 ? values[Math.floor(rnd() * values.length)]! : rnd() * rnd() * 0.7;
      h.observe({ method }, v);
      hot.seriesOf(method).observe(v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(JSON.stringify(await ours.getMetricsAsJSON())).toBe(JSON.stringify(await theirs.getMetricsAsJSON()));
  });
});
