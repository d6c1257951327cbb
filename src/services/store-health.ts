// Whether this replica can reach its store. While it knows it cannot, calls that need the store answer
// UNAVAILABLE at once instead of each waiting out the driver's server-selection timeout (5 s); one background
// probe at a time notices the store's return, and calls go through again from that moment.
// "Knows" means evidence, never a timer: an outage error (connection refused or reset, no server to select) or the
// driver's monitor finding the server unreachable. Slowness alone is congestion, not an outage: a burst of cache
// misses may queue for a second on a busy store, and must not be turned away for it.
import { FluxError, storeUnavailable } from "../domain/errors.js";
import type { Stores } from "../store/types.js";

export interface StoreHealthOptions {
  /** Longest a read on the validate path waits (a store that stops answering without refusing): that call answers
   * UNAVAILABLE; the store is not counted as down for it. */
  readDeadlineMs: number;
  /** Pause between failed probes while the store is down. */
  probeIntervalMs: number;
}

export const DEFAULT_HEALTH: StoreHealthOptions = { readDeadlineMs: 2000, probeIntervalMs: 50 };

export interface StoreHealthHooks {
  /** A cheap round trip (MongoDB: ping) that succeeds only when the store answers. */
  probe(): Promise<void>;
  /** True for errors that mean the store is unreachable, as opposed to a failed command. */
  isOutage(err: unknown): boolean;
  onChange?(up: boolean, cause?: unknown): void;
}

class DeadlineExceeded extends Error {
  constructor(ms: number) {
    super(`the store did not answer within ${ms} ms`);
    this.name = "DeadlineExceeded";
  }
}

export class StoreHealth {
  private downSinceMs?: number;
  /** Reads waiting on the store: abandoned (UNAVAILABLE) the moment it is known to be down. */
  private readonly waiting = new Set<(err: unknown) => void>();
  private probing = false;
  private closed = false;

  constructor(private readonly hooks: StoreHealthHooks, private readonly opts: StoreHealthOptions = DEFAULT_HEALTH) {}

  get up(): boolean {
    return this.downSinceMs === undefined;
  }

  /**
   * Runs a store call: not attempted while the store is known to be down; an outage error marks it down. Every such
   * failure is STORE_UNAVAILABLE. A read (`abandonAfterMs` set) is also given up past that deadline, or as soon as
   * the store is known to be down (the driver would otherwise retry it and wait out server selection). Writes are
   * never given up: one the driver retries after we answered could save a rotation whose secret nobody saw.
   */
  async run<T>(op: () => Promise<T>, o: { abandonAfterMs?: number } = {}): Promise<T> {
    if (!this.up) throw storeUnavailable(new Error("the store is unreachable"));
    if (o.abandonAfterMs === undefined) return this.observe(op());
    let abandon!: (err: unknown) => void;
    const abandoned = new Promise<never>((_, reject) => (abandon = reject));
    this.waiting.add(abandon);
    const timer = setTimeout(() => abandon(new DeadlineExceeded(o.abandonAfterMs!)), o.abandonAfterMs);
    try {
      const p = op();
      p.catch(() => {}); // an abandoned read may still fail later
      return await this.observe(Promise.race([p, abandoned]));
    } finally {
      clearTimeout(timer);
      this.waiting.delete(abandon);
    }
  }

  private async observe<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      if (err instanceof DeadlineExceeded) throw storeUnavailable(err);
      if (err instanceof FluxError && err.reason === "STORE_UNAVAILABLE" && !this.up) throw err; // abandoned
      if (!this.isOutage(err)) throw err;
      this.markDown(err);
      throw storeUnavailable(err);
    }
  }

  /** Records that the store is unreachable (also called by the driver's own monitoring) and starts probing. */
  markDown(cause?: unknown): void {
    if (this.closed) return;
    if (this.downSinceMs === undefined) {
      this.downSinceMs = performance.now();
      this.hooks.onChange?.(false, cause);
      const gone = storeUnavailable(cause);
      for (const abandon of this.waiting) abandon(gone);
      this.waiting.clear();
    }
    void this.probeUntilUp();
  }

  close(): void {
    this.closed = true;
  }

  private isOutage(err: unknown): boolean {
    // Services wrap store failures (a FluxError whose cause is the driver's error).
    return this.hooks.isOutage(err) || this.hooks.isOutage((err as { cause?: unknown })?.cause);
  }

  private async probeUntilUp(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      while (!this.up && !this.closed) {
        try {
          await this.hooks.probe();
          const downMs = performance.now() - this.downSinceMs!;
          this.downSinceMs = undefined;
          this.hooks.onChange?.(true, downMs);
        } catch {
          await new Promise((r) => setTimeout(r, this.opts.probeIntervalMs).unref());
        }
      }
    } finally {
      this.probing = false;
    }
  }
}

export interface GuardOptions<T> {
  /** Reads on the validate path: given up at the read deadline or when the store is known to be down. */
  reads?: (keyof T & string)[];
  /** Methods left alone. */
  pass?: (keyof T & string)[];
  deadlineMs?: number;
}

/** Wraps a store so that every call goes through `health`. */
export function guardStore<T extends object>(target: T, health: StoreHealth, o: GuardOptions<T> = {}): T {
  const reads = new Set<PropertyKey>(o.reads ?? []);
  const pass = new Set<PropertyKey>(o.pass ?? []);
  const deadlineMs = o.deadlineMs ?? DEFAULT_HEALTH.readDeadlineMs;
  return new Proxy(target, {
    get(t, prop, receiver) {
      const v = Reflect.get(t, prop, receiver);
      if (typeof v !== "function" || pass.has(prop)) return v;
      const o = reads.has(prop) ? { abandonAfterMs: deadlineMs } : {};
      return (...args: unknown[]) => health.run(() => v.apply(t, args), o);
    },
  });
}

/** The stores as the services should see them: failing at once while the store is known to be down. */
export function guardStores<S extends Stores>(stores: S, health: StoreHealth, opts: StoreHealthOptions = DEFAULT_HEALTH): S {
  const deadlineMs = opts.readDeadlineMs;
  return {
    ...stores,
    keys: guardStore(stores.keys, health, { reads: ["findByDigest"], deadlineMs }),
    adminKeys: guardStore(stores.adminKeys, health, { reads: ["findByDigest"], deadlineMs }),
    scopes: guardStore(stores.scopes, health),
    orgPolicies: guardStore(stores.orgPolicies, health, { reads: ["get"], deadlineMs }),
    // Usage writes come from the background flush, which may as well wait for the store: a failed batch is lost.
    usage: guardStore(stores.usage, health, { pass: ["apply"] }),
  };
}

