// Wires the webhook parts together: the endpoint service (RPCs), the feed (audit log → queue), the dispatcher
// (queue → signed POSTs) and their metrics; started and stopped with the server.
import type { Logger } from "pino";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Config } from "../config.js";
import type { Clock } from "../domain/clock.js";
import { createSecretBox } from "../domain/secret-box.js";
import type { Stores } from "../store/types.js";
import { DEFAULT_RETRY_SCHEDULE_MS, WebhookDispatcher } from "./webhook-dispatcher.js";
import { DEFAULT_FEED, type FeedOptions, WebhookFeed } from "./webhook-feed.js";
import { WebhookEmitter } from "./webhook-emitter.js";
import { ExpiryScan } from "./webhook-expiry-scan.js";
import { WebhookService } from "./webhook-service.js";

export type WebhookSettings = Partial<Pick<Config, "FLUX_KEY_PEPPER" | "FLUX_WEBHOOK_ALLOW_PRIVATE" | "FLUX_WEBHOOK_RETRY_SCHEDULE_MS" | "FLUX_WEBHOOK_TIMEOUT_MS" | "FLUX_WEBHOOK_POLL_MS" | "FLUX_WEBHOOK_EXPIRING_DAYS">> & {
  /** Tests: a shorter look-back for the feed. */
  feed?: Partial<FeedOptions>;
};

export interface Webhooks {
  service: WebhookService;
  feed: WebhookFeed;
  dispatcher: WebhookDispatcher;
  /** The validate path's side: key.rate_limited, credits.low, credits.exhausted. */
  emitter: WebhookEmitter;
  expiry: ExpiryScan;
  start(): void;
  stop(): Promise<void>;
}

export function createWebhooks(stores: Stores, clock: Clock, log: Logger, registry: Registry, s: WebhookSettings = {}): Webhooks {
  const allowPrivate = s.FLUX_WEBHOOK_ALLOW_PRIVATE ?? false;
  const pollMs = s.FLUX_WEBHOOK_POLL_MS ?? 100;
  const timeoutMs = s.FLUX_WEBHOOK_TIMEOUT_MS ?? 10_000;
  const deliveries = new Counter({ name: "flux_webhook_deliveries_total", help: "Webhook attempts by result (delivered, retry, failed: given up)", labelNames: ["result"], registers: [registry] });
  const latency = new Histogram({
    name: "flux_webhook_delivery_latency_seconds",
    help: "From the event to its successful delivery",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 300, 3600, 86400],
    registers: [registry],
  });
  const store = stores.webhooks;
  const box = createSecretBox(s.FLUX_KEY_PEPPER);
  new Gauge({
    name: "flux_webhook_queue_depth",
    help: "Webhook deliveries waiting (pending) in the store",
    registers: [registry],
    async collect() {
      this.set(await store.pendingCount().catch(() => NaN));
    },
  });
  const dispatcher = new WebhookDispatcher(
    store,
    clock,
    log,
    {
      retryScheduleMs: s.FLUX_WEBHOOK_RETRY_SCHEDULE_MS ?? DEFAULT_RETRY_SCHEDULE_MS,
      timeoutMs,
      allowPrivate,
      pollMs,
      // Renewed after every attempt, so it only has to outlast one; a dead replica's queue resumes this long after.
      leaseMs: timeoutMs + 5_000,
      concurrency: 8,
    },
    {
      onAttempt(result, d, nowMs) {
        deliveries.inc({ result });
        if (result === "delivered") latency.observe(Math.max(0, nowMs - d.eventAtMs) / 1000);
      },
    },
    box,
  );
  const feed = new WebhookFeed(stores.audit, store, clock, log, { pollMs, ...DEFAULT_FEED, ...s.feed }, () => dispatcher.wake());
  const emitter = new WebhookEmitter(store, clock, log, pollMs, () => dispatcher.wake());
  const expiry = new ExpiryScan(stores.keys, store, emitter, clock, log, { days: s.FLUX_WEBHOOK_EXPIRING_DAYS ?? 7, everyMs: 3_600_000 });
  return {
    service: new WebhookService(store, clock, allowPrivate, box),
    feed,
    dispatcher,
    emitter,
    expiry,
    start() {
      feed.start();
      emitter.start();
      expiry.start();
      dispatcher.start();
    },
    async stop() {
      await expiry.stop();
      await feed.stop();
      await emitter.stop();
      await dispatcher.stop();
    },
  };
}
