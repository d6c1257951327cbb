// Delivers the durable queue: per endpoint, in event-id order, one delivery at a time (the next waits until the
// earlier one succeeded or was given up), retried on the schedule, at least once. Across replicas an endpoint's
// queue is worked by the holder of its lease (an expiry field, compared on each replica's own clock): a lost race
// or a skewed clock can only send an event twice, never skip one, because a delivery leaves PENDING only after a
// 2xx or its last scheduled attempt.
import { pollWarnings } from "./poll-warnings.js";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../domain/clock.js";
import type { DeliveryRecord, WebhookEndpointRecord } from "../domain/webhooks.js";
import { createSecretBox, type SecretBox } from "../domain/secret-box.js";
import type { WebhookStore } from "../store/webhook-types.js";
import { RESPONSE_KEEP_BYTES, type SendOptions, type SendResult, sendWebhook } from "./webhook-sender.js";

export interface DispatcherOptions extends SendOptions {
  /** Waits after the first, second, … failed attempt; after the last one the delivery is given up. */
  retryScheduleMs: number[];
  pollMs: number;
  leaseMs: number;
  /** Endpoints worked at once (each one's queue stays sequential). */
  concurrency: number;
}

const IDLE_RECHECK_MS = 5000;

export const DEFAULT_RETRY_SCHEDULE_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000, 28_800_000];

export interface DispatchObserver {
  onAttempt(result: "delivered" | "retry" | "failed", d: DeliveryRecord, nowMs: number): void;
}

export class WebhookDispatcher {
  private readonly warn: ReturnType<typeof pollWarnings>;
  readonly owner = `dsp_${randomUUID()}`;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private readonly busy = new Set<string>();

  constructor(
    private readonly store: WebhookStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: DispatcherOptions,
    private readonly observer?: DispatchObserver,
    private readonly box: SecretBox = createSecretBox(undefined),
    private readonly send: typeof sendWebhook = sendWebhook,
  ) {
    this.warn = pollWarnings(log);
  }

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** New work may be queued: look now rather than at the next poll. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.kick();
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), this.opts.pollMs);
    this.timer.unref();
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = this.pass()
      .catch((err) => this.warn(err, "webhook delivery pass failed; retried at the next poll"))
      .finally(() => {
        this.running = undefined;
        if (this.again) (this.again = false), this.kick();
        else this.schedule();
      });
  }

  /** One look at the queue: every endpoint with something due, a few at a time. Exposed for tests. */
  async pass(): Promise<void> {
    const due = (await this.store.dueEndpoints(this.clock.nowMs(), 1000)).filter((id) => !this.busy.has(id));
    let next = 0;
    const worker = async () => {
      while (next < due.length && !this.stopped) await this.drain(due[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, due.length) }, worker));
  }

  /**
   * Endpoints not to look at before a time: a head backing off (until its next attempt, on the injected clock, at
   * most IDLE_RECHECK_MS ahead), a disabled or deleted endpoint (for IDLE_RECHECK_MS of real time). Without it, each
   * poll would read (and lease) every endpoint that merely has newer deliveries due behind a waiting head.
   */
  private readonly notBefore = new Map<string, { clockMs?: number; realMs?: number }>();

  /** Works one endpoint's queue while its head is due and the lease is ours. */
  private async drain(endpointId: string): Promise<void> {
    this.busy.add(endpointId);
    try {
      const now = this.clock.nowMs();
      const skip = this.notBefore.get(endpointId);
      if (skip && ((skip.clockMs ?? -Infinity) > now || (skip.realMs ?? -Infinity) > performance.now())) return;
      this.notBefore.delete(endpointId);
      const first = await this.store.head(endpointId);
      if (!first) return;
      if (first.nextAttemptAtMs > now) return void this.notBefore.set(endpointId, { clockMs: Math.min(first.nextAttemptAtMs, now + IDLE_RECHECK_MS) });
      const endpoint = await this.store.getEndpoint(endpointId);
      if (!endpoint?.enabled) return void this.notBefore.set(endpointId, { realMs: performance.now() + IDLE_RECHECK_MS });
      if (!(await this.store.acquireLease(endpointId, this.owner, now, now + this.opts.leaseMs))) return;
      try {
        for (let n = 0; n < 100 && !this.stopped; n++) {
          const head = await this.store.head(endpointId);
          if (!head || head.nextAttemptAtMs > this.clock.nowMs()) return;
          const ep = await this.store.getEndpoint(endpointId);
          if (!ep || !ep.enabled) return; // deleted (its queue goes with it) or paused until enabled again
          await this.attempt(ep, head);
          const t = this.clock.nowMs();
          if (!(await this.store.acquireLease(endpointId, this.owner, t, t + this.opts.leaseMs))) return;
        }
      } finally {
        await this.store.releaseLease(endpointId, this.owner).catch(() => {});
      }
    } finally {
      this.busy.delete(endpointId);
    }
  }

  private async attempt(ep: WebhookEndpointRecord, d: DeliveryRecord): Promise<void> {
    const at = this.clock.nowMs();
    let r: SendResult;
    try {
      const secrets = [this.box.open(ep.secret)];
      if (ep.previousSecret && (ep.previousSecretExpiresAtMs ?? 0) > at) secrets.push(this.box.open(ep.previousSecret));
      r = await this.send(ep.url, secrets, d.eventId, at, d.payload, this.opts);
    } catch (err) {
      r = { status: 0, response: `not sent: ${(err as Error).message}` };
    }
    const attempts = d.attempts + 1;
    const ok = r.status >= 200 && r.status < 300;
    const wait = this.opts.retryScheduleMs[attempts - 1];
    const result = ok ? "delivered" : wait === undefined ? "failed" : "retry";
    const done = this.clock.nowMs();
    const after: DeliveryRecord = {
      ...d,
      attempts,
      lastAttemptAtMs: at,
      lastResponseCode: r.status,
      lastResponse: r.response.slice(0, RESPONSE_KEEP_BYTES),
      status: result === "delivered" ? "DELIVERED" : result === "failed" ? "FAILED" : "PENDING",
      nextAttemptAtMs: result === "retry" ? done + wait! : d.nextAttemptAtMs,
    };
    await this.store.saveAttempt(after);
    if (result === "retry") await this.store.deferQueue(ep.id, after.nextAttemptAtMs);
    this.observer?.onAttempt(result, after, done);
    if (result === "failed") this.log.warn({ endpointId: ep.id, eventId: d.eventId, attempts }, "webhook delivery given up after its last scheduled attempt");
  }
}
