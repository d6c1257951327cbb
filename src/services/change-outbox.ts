// A key change and its invalidation as one durable step. Before the key is written, an outbox entry records the
// digests the change invalidates; after the write the change log gets them (the publish that counts must follow the
// write: one before it would let a concurrent cache fill reread the old record), then the entry is removed. Any
// replica republishes entries left behind by a failed publish or a crash (invalidations are idempotent), so a lost
// publish heals within about republishAfterMs + 2 × sweepMs. The embedded store is one process: no log, no outbox.
import type { Logger } from "pino";
import { FluxError } from "../domain/errors.js";
import type { ChangeOutboxStore } from "../store/types.js";
import { type Invalidator, REAL_TIME, type ReplicaSync, type SyncTime } from "./replica-sync.js";

/** Tokens the feed carries beside digests, for local validators' sessions (validator-hub.ts): the key and admin key
 * a change is about. Caches look entries up by digest only, so they ignore them. */
export const KEY_TOKEN = "key:";
export const ADMIN_KEY_TOKEN = "adm:";
export const keyToken = (id: string) => KEY_TOKEN + id;
export const adminKeyToken = (id: string) => ADMIN_KEY_TOKEN + id;

/** This process's local validators: a change is told to their sessions and waits for them (validator-hub.ts). */
export interface ChangeListener {
  /** Undefined when there is nothing to wait for; the promise never rejects. */
  deliver(tokens: string[]): Promise<void> | undefined;
  resetAll(why: string): Promise<void>;
}

export interface ChangeReport {
  /** False when the change log refused the invalidation (the outbox keeps it; a sweep republishes it). */
  published: boolean;
  /** Replicas not known to have applied the change when the wait ended (0: every live replica has). */
  unconfirmedReplicas: number;
}

export interface PendingChange {
  /** After the write: publishes the invalidation and waits for the replicas. Never throws. */
  publish(): Promise<ChangeReport>;
  /** The write did not happen (a concurrent change won): nothing to invalidate. */
  cancel(): Promise<void>;
}

export interface ChangeFeed {
  /** Before the write: records where no crash can lose it that these digests are about to change. */
  prepare(digests: string[]): Promise<PendingChange>;
  /** A new key: no other replica can have cached its fresh random digest, so only this replica's entry is dropped. */
  created(digests: string[]): void;
}

/** The RPC error for a change that is saved but not known to hold everywhere: a retry publishes it again. */
export function unconfirmed(r: ChangeReport): FluxError {
  const why = r.published ? `${r.unconfirmedReplicas} replica(s) did not confirm it in time` : "its invalidation could not be published yet";
  return new FluxError("STORE_UNAVAILABLE", `the change is saved but ${why}; retry to publish it again`, { replicas: String(r.unconfirmedReplicas) }, 1000);
}

/** One process (the embedded store): dropping this process's entries after the write, and waiting for this
 * process's local validators (when `validators` is given), is the whole job. */
export function localChangeFeed(cache: Invalidator, validators?: ChangeListener): ChangeFeed {
  const done: ChangeReport = { published: true, unconfirmedReplicas: 0 };
  return {
    prepare: async (digests) => ({
      publish: async () => {
        cache.invalidate(digests);
        await validators?.deliver(digests);
        return done;
      },
      cancel: async () => {},
    }),
    created: (digests) => {
      cache.invalidate(digests);
      void validators?.deliver(digests); // nobody waits: a validator sends a key it does not know to the network
    },
  };
}

export interface OutboxOptions {
  sweepMs: number;
  /** An entry a sweep has seen for this long is republished (normal entries live for one write and one publish). */
  republishAfterMs: number;
  /** ...and once more at this age, then removed: covers a write still in flight at the first republish. */
  removeAfterMs: number;
}

export const DEFAULT_OUTBOX: OutboxOptions = { sweepMs: 1000, republishAfterMs: 2000, removeAfterMs: 10_000 };

export class OutboxChangeFeed implements ChangeFeed {
  /** When this replica first saw each entry, on its own monotonic clock (entries carry no writer's time). */
  private readonly seen = new Map<string, { firstSeenAt: number; publishes: number }>();
  private timer?: NodeJS.Timeout;
  private sweeping = false;

  constructor(
    private readonly outbox: ChangeOutboxStore,
    private readonly sync: ReplicaSync,
    private readonly cache: Invalidator,
    private readonly logger: Logger,
    private readonly opts: OutboxOptions = DEFAULT_OUTBOX,
    private readonly time: SyncTime = REAL_TIME,
  ) {}

  async prepare(digests: string[]): Promise<PendingChange> {
    const id = await this.outbox.add(digests);
    return {
      publish: async () => {
        let seq: number;
        try {
          seq = await this.sync.publish(digests);
        } catch (err) {
          this.logger.error({ cause: (err as Error)?.message }, "change log publish failed; the outbox sweep will republish it");
          return { published: false, unconfirmedReplicas: Math.max(1, this.sync.knownReplicas() - 1) };
        }
        await this.outbox.remove(id).catch(() => {}); // left behind, it is only republished once more
        return { published: true, unconfirmedReplicas: (await this.sync.waitFor(seq)).length };
      },
      cancel: () => this.outbox.remove(id).catch(() => {}),
    };
  }

  /** Also told to every replica's validators through the change log, in the background: CreateApiKey does not wait
   * (a validator sends a key it does not know yet to the network), and a lost publish costs only that. */
  created(digests: string[]): void {
    this.cache.invalidate(digests);
    void this.sync.publish(digests).catch((err) => this.logger.warn({ cause: (err as Error)?.name }, "change log publish of a created key failed; validators validate it over the network"));
  }

  start(): void {
    this.timer = setInterval(() => void this.sweep().catch(() => {}), this.opts.sweepMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Republishes what a failed publish or a crashed replica left in the outbox. The timer calls it every sweepMs. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const now = this.time.now();
      const entries = await this.outbox.list(100);
      const ids = new Set(entries.map((e) => e.id));
      for (const id of this.seen.keys()) if (!ids.has(id)) this.seen.delete(id);
      for (const e of entries) {
        const s = this.seen.get(e.id) ?? { firstSeenAt: now, publishes: 0 };
        this.seen.set(e.id, s);
        const age = now - s.firstSeenAt;
        const due = s.publishes === 0 ? age >= this.opts.republishAfterMs : age >= this.opts.removeAfterMs;
        if (!due) continue;
        await this.sync.publish(e.digests);
        s.publishes++;
        this.logger.warn({ entry: e.id, publishes: s.publishes }, "republished an invalidation left in the change outbox");
        if (s.publishes >= 2) await this.outbox.remove(e.id);
      }
    } finally {
      this.sweeping = false;
    }
  }
}
