// key.expiring: a periodic scan (at start, then hourly) for live keys whose expiry lies within the next N days
// (FLUX_WEBHOOK_EXPIRING_DAYS). Each (key, expiry) gets one event id, so repeated scans and several replicas
// queue it once per endpoint; a key given a new expiry is announced again. The scan also prunes the delivery log.
import type { Logger } from "pino";
import type { Clock } from "../domain/clock.js";
import { derivedEventId } from "../domain/webhooks.js";
import type { KeyStore } from "../store/types.js";
import type { WebhookStore } from "../store/webhook-types.js";
import type { WebhookEmitter } from "./webhook-emitter.js";

/** Delivered and given-up deliveries are kept this long in the log (pending ones until they end). */
export const DELIVERY_LOG_RETENTION_MS = 30 * 86_400_000;

export class ExpiryScan {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly keys: KeyStore,
    private readonly webhooks: WebhookStore,
    private readonly emitter: WebhookEmitter,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: { days: number; everyMs: number },
  ) {}

  /** One scan; returns how many keys it found expiring. Exposed for tests. */
  async scan(): Promise<number> {
    const now = this.clock.nowMs();
    const horizonMs = now + this.opts.days * 86_400_000;
    let found = 0;
    let after: { createdAtMs: number; id: string } | undefined;
    for (;;) {
      // Only keys expiring within the horizon: paging through every key made each hourly scan (on every replica) read
      // the whole collection, page after page.
      const page = await this.keys.list({ includeRevoked: false, limit: 500, after, expiringBetween: { fromMs: now, toMs: horizonMs } });
      for (const k of page) {
        if (k.expiresAtMs === undefined || k.expiresAtMs <= now || k.expiresAtMs > horizonMs || k.revokedAtMs !== undefined) continue;
        // When the key came within the horizon (or was created): fixed by the key, so every scan makes the same id.
        const enteredMs = Math.max(k.createdAtMs, k.expiresAtMs - this.opts.days * 86_400_000);
        this.emitter.push("key.expiring", derivedEventId(enteredMs, "key.expiring", k.id, k.expiresAtMs), now, k.orgId, {
          key_id: k.id,
          org_id: k.orgId,
          name: k.name,
          expires_at: new Date(k.expiresAtMs).toISOString(),
        });
        found++;
      }
      if (page.length < 500) break;
      const last = page[page.length - 1]!;
      after = { createdAtMs: last.createdAtMs, id: last.id };
    }
    await this.emitter.flush();
    await this.webhooks.pruneDeliveries(now - DELIVERY_LOG_RETENTION_MS);
    return found;
  }

  start(): void {
    const run = () => {
      this.running = this.scan().catch((err) => this.log.warn({ cause: (err as Error)?.message }, "expiring-key scan failed; retried at the next"));
    };
    (this.timer = setTimeout(run, 1000)).unref();
    const every = setInterval(run, this.opts.everyMs);
    every.unref();
    this.stopEvery = () => clearInterval(every);
  }

  private stopEvery = () => {};

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.stopEvery();
    await this.running;
  }
}
