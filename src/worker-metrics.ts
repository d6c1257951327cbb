// GET /metrics under FLUX_WORKERS ≥ 2: whichever worker a scrape reaches answers for all of them, so counters never
// jump between two processes' values. The worker asks the primary, which gathers every worker's registry through
// prom-client's cluster aggregation (counters and histograms summed) and sends the text back.
import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry, type PrometheusContentType, type Registry } from "prom-client";

type Ask = { type: "flux-metrics-req"; id: number };
type Answer = { type: "flux-metrics-res"; id: number; text?: string; error?: string };

/** In the primary: answers workers' requests for the aggregated text. */
export function serveClusterMetrics(w: Worker, aggregator: AggregatorRegistry<PrometheusContentType>): void {
  w.on("message", (m: Ask) => {
    if (m?.type !== "flux-metrics-req") return;
    aggregator.clusterMetrics().then(
      (text: string) => w.isConnected() && w.send({ type: "flux-metrics-res", id: m.id, text } satisfies Answer),
      (err: Error) => w.isConnected() && w.send({ type: "flux-metrics-res", id: m.id, error: err.message } satisfies Answer),
    );
  });
}

export function primaryAggregator(): AggregatorRegistry<PrometheusContentType> {
  return new AggregatorRegistry<PrometheusContentType>();
}

/** In a worker under the primary: its registry joins the aggregation; returns what GET /metrics answers. */
export function clusterMetricsText(registry: Registry): (() => Promise<string>) | undefined {
  if (!cluster.isWorker || !process.send) return undefined;
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry<PrometheusContentType>(); // registers the worker's side of prom-client's cluster protocol
  const pending = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  let next = 0;
  process.on("message", (m: Answer) => {
    if (m?.type !== "flux-metrics-res") return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error !== undefined) p?.reject(new Error(m.error));
    else p?.resolve(m.text ?? "");
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      process.send!({ type: "flux-metrics-req", id } satisfies Ask);
    });
}
