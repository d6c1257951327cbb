// Prometheus metrics on GET /metrics: validations by outcome, call latency, cache hit ratio, usage flush lag,
// store errors. The validate path does no label hashing: outcomes are plain counts copied into their Counter at
// scrape time, and call latency goes to a HotHistogram series looked up once per method.
import { PerformanceObserver } from "node:perf_hooks";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Deps } from "./deps.js";
import { OUTCOMES, type Outcome } from "./domain/types.js";
import type { CallObserver } from "./transport/invoke.js";
import { HotHistogram, type HotSeries } from "./hot-histogram.js";

export class Metrics implements CallObserver {
  readonly registry = new Registry();
  /** What GET /metrics answers: this registry, or every worker's under FLUX_WORKERS ≥ 2 (worker-metrics.ts). */
  text: () => Promise<string> = () => this.registry.metrics();
  private readonly outcomeCounts = new Map<Outcome, number>(OUTCOMES.map((o) => [o, 0]));
  private readonly latency: HotHistogram;
  private readonly errors: Counter<"method" | "reason">;
  private readonly latencyByMethod = new Map<string, HotSeries>();
  readonly storeErrors: Counter;
  readonly flushes: Histogram;
  readonly authFailures: Counter;
  readonly authThrottled: Counter;
  readonly leakReports: Counter<"result">;
  readonly leakTokens: Counter<"label">;
  /** Local validators' answers as reported (also counted in flux_validations_total): the share answered locally. */
  readonly localValidations: Counter<"outcome">;
  private readonly validatorSessions: Gauge;
  private readonly validatorCutOffs: Counter<"reason">;
  private readonly validatorWait: Histogram;

  constructor() {
    // Standard names (process_*, nodejs_*), so off-the-shelf Node.js dashboards and alerts work unchanged.
    collectDefaultMetrics({ register: this.registry });
    const counts = this.outcomeCounts;
    new Counter({
      name: "flux_validations_total",
      help: "ValidateApiKey answers by outcome",
      labelNames: ["outcome"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [outcome, n] of counts) if (n > 0) this.inc({ outcome }, n);
      },
    });
    this.latency = new HotHistogram(
      "flux_rpc_duration_seconds",
      "Server time per RPC, both transports",
      "method",
      [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5],
      this.registry,
    );
    this.errors = new Counter({ name: "flux_rpc_errors_total", help: "RPC errors by reason", labelNames: ["method", "reason"], registers: [this.registry] });
    this.storeErrors = new Counter({ name: "flux_store_errors_total", help: "Failed store operations (usage flushes, change feed)", registers: [this.registry] });
    this.authFailures = new Counter({ name: "flux_admin_auth_failures_total", help: "Calls with a wrong, unknown or revoked admin key", registers: [this.registry] });
    this.authThrottled = new Counter({ name: "flux_admin_auth_throttled_total", help: "Calls refused because their address failed too many admin-key attempts", registers: [this.registry] });
    this.leakReports = new Counter({ name: "flux_leak_reports_total", help: "POST /v1/leaks/report answers by result", labelNames: ["result"], registers: [this.registry] });
    this.localValidations = new Counter({ name: "flux_local_validations_total", help: "Answers local validators reported, by outcome (included in flux_validations_total)", labelNames: ["outcome"], registers: [this.registry] });
    this.leakTokens = new Counter({ name: "flux_leak_tokens_total", help: "Reported tokens by label (true_positive: a live key)", labelNames: ["label"], registers: [this.registry] });
    this.validatorSessions = new Gauge({ name: "flux_validator_sessions", help: "Local validators connected to this process (open SubscribeKeys sessions)", registers: [this.registry] });
    this.validatorCutOffs = new Counter({ name: "flux_validator_cutoffs_total", help: "Validator sessions the server ended, by reason", labelNames: ["reason"], registers: [this.registry] });
    this.validatorWait = new Histogram({
      name: "flux_validator_ack_wait_seconds",
      help: "How long a change waited for this process's validator sessions (acknowledged, or cut off and stale)",
      buckets: [0.001, 0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.flushes = new Histogram({ name: "flux_usage_flush_seconds", help: "Duration of usage flushes", buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2], registers: [this.registry] });
    this.watchGcPauses();
  }

  /** The longest GC pause between two scrapes: what a latency spike of this process could owe to the collector. */
  private watchGcPauses(): void {
    let maxMs = 0;
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.duration > maxMs) maxMs = e.duration;
    });
    observer.observe({ entryTypes: ["gc"] });
    new Gauge({
      name: "flux_gc_pause_max_seconds",
      help: "Longest garbage-collection pause since the previous scrape",
      registers: [this.registry],
      collect() {
        this.set(maxMs / 1000);
        maxMs = 0;
      },
    });
  }

  /** Gauges read at scrape time from the live services. */
  watch(deps: Deps): void {
    const { cache, sync, recorder } = deps.services;
    new Gauge({ name: "flux_key_cache_entries", help: "Keys (and unknown digests) in the validate cache", registers: [this.registry], collect() { this.set(cache.stats.size); } });
    new Gauge({ name: "flux_key_cache_hits_total", help: "Validate cache hits", registers: [this.registry], collect() { this.set(cache.stats.hits); } });
    new Gauge({ name: "flux_key_cache_misses_total", help: "Validate cache misses", registers: [this.registry], collect() { this.set(cache.stats.misses); } });
    new Gauge({ name: "flux_usage_flush_lag_seconds", help: "Time since usage counts were last flushed", registers: [this.registry], collect() { this.set(recorder.flushLagMs() / 1000); } });
    if (sync) {
      new Gauge({ name: "flux_change_feed_lag_seconds", help: "Time since this replica last read the change log", registers: [this.registry], collect() { this.set(sync.lagMs() / 1000); } });
    }
  }

  /** What the validator hub reports (validator-hub.ts ValidatorHubHooks). */
  validatorHooks() {
    return {
      onSessions: (n: number) => this.validatorSessions.set(n),
      onCutOff: (reason: string) => this.validatorCutOffs.inc({ reason }),
      onWait: (seconds: number) => this.validatorWait.observe(seconds),
    };
  }

  /** `n`: local validators report many answers at once (services/validator-usage.ts). */
  outcome(o: Outcome, n = 1): void {
    this.outcomeCounts.set(o, this.outcomeCounts.get(o)! + n);
  }

  onCall(method: string, ms: number, code: string): void {
    let h = this.latencyByMethod.get(method);
    if (!h) this.latencyByMethod.set(method, (h = this.latency.seriesOf(method)));
    h.observe(ms / 1000);
    if (code !== "OK") this.errors.inc({ method, reason: code });
  }
}
