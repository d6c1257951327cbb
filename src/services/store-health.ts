// Whether this replica can reach its store. While it knows it cannot, calls that need the store answer
// UNAVAILABLE at once instead of each waiting out the driver's server-selection timeout (5 s); one background
// probe at a time notices the store's return, and calls go through again from that moment.
import { storeUnavailable } from "../domain/errors.js";
import type { Stores } from "../store/types.js";
import type { KeyRateLimiter } from "./rate-limiter.js";

export interface StoreHealthOptions {
  /** Longest a read on the validate path waits; a slower one answers UNAVAILABLE and counts as an outage. */
  readDeadlineMs: number;
  /** Pause between failed probes while the store is down. */
  probeIntervalMs: number;
}

/** 500 ms keeps every validate under 1 s, with room for a loaded host, even before the replica knows its store is
 * down; a healthy lookup by _id takes milliseconds, so a slower one is shed (UNAVAILABLE with a retry hint). */
export const DEFAULT_HEALTH: StoreHealthOptions = { readDeadlineMs: 500, probeIntervalMs: 50 };

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
  private probing = false;
  private closed = false;

  constructor(private readonly hooks: StoreHealthHooks, private readonly opts: StoreHealthOptions = DEFAULT_HEALTH) {}

  get up(): boolean {
    return this.downSinceMs === undefined;
  }

  /**
   * Runs a store call. While the store is known to be down it is not attempted (unless failFast is false);
   * an outage error, or no answer within deadlineMs, marks the store down and answers STORE_UNAVAILABLE.
   */
  async run<T>(op: () => Promise<T>, o: { deadlineMs?: number; failFast?: boolean } = {}): Promise<T> {
    if (!this.up && o.failFast !== false) throw storeUnavailable(new Error("the store is unreachable"));
    try {
      return o.deadlineMs === undefined ? await op() : await withDeadline(op(), o.deadlineMs);
    } catch (err) {
      if (!(err instanceof DeadlineExceeded) && !this.isOutage(err)) throw err;
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

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(ms)), ms);
  });
  p.catch(() => {}); // a read abandoned at its deadline may still fail later
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** Methods not guarded at all: usage writes come from the background flush, which may as well wait for the store. */
const UNGUARDED = new Set<PropertyKey>(["apply"]);

/** Wraps a store so that every call goes through `health`; the named methods also get the read deadline. */
function guard<T extends object>(target: T, health: StoreHealth, deadlineMs: number, withDeadlineFor: string[] = []): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const v = Reflect.get(t, prop, receiver);
      if (typeof v !== "function" || UNGUARDED.has(prop)) return v;
      const o = withDeadlineFor.includes(prop as string) ? { deadlineMs } : {};
      return (...args: unknown[]) => health.run(() => v.apply(t, args), o);
    },
  });
}

/** The stores as the services should see them: failing at once while the store is known to be down. */
export function guardStores<S extends Stores>(stores: S, health: StoreHealth, opts: StoreHealthOptions = DEFAULT_HEALTH): S {
  const d = opts.readDeadlineMs;
  return {
    ...stores,
    keys: guard(stores.keys, health, d, ["findByDigest"]),
    adminKeys: guard(stores.adminKeys, health, d, ["findByDigest"]),
    scopes: guard(stores.scopes, health, d),
    usage: guard(stores.usage, health, d),
  };
}

/**
 * The shared rate limiter, with the read deadline but no fail-fast: a key with a local lease is still admitted while
 * the store is down (within the cache's stale window); one that needs a new lease answers UNAVAILABLE by the deadline.
 */
export function guardLimiter(limiter: KeyRateLimiter, health: StoreHealth, opts: StoreHealthOptions = DEFAULT_HEALTH): KeyRateLimiter {
  return { consume: (keyId, limit) => health.run(() => limiter.consume(keyId, limit), { deadlineMs: opts.readDeadlineMs, failFast: false }) };
}
