// The cache both key lookups use (API keys on the validate path, admin keys on every call). Found records and
// "not found" answers are kept in two maps, each bounded on its own, so a flood of made-up but well-formed keys
// can only evict other made-up keys. Every entry has a maximum age, so an invalidation that never arrives heals by
// itself. A fill that raced with an invalidation is dropped (generation check), and concurrent misses of one digest
// share one store read, but only with reads that started after the last invalidation.
import type { Clock } from "../domain/clock.js";

export interface AgedCacheOptions {
  /** Found records kept at most (0 disables the cache). */
  maxEntries: number;
  /** "Not found" answers kept at most, apart from found records. */
  negativeMaxEntries: number;
  /** A found record is read again from the store this long after it was read. */
  maxAgeMs: number;
  /** A "not found" answer is trusted this long. */
  negativeTtlMs: number;
  /** False while this replica cannot prove it has seen every change: the cache is bypassed, neither read nor filled. */
  isFresh?: () => boolean;
}

export interface AgedCacheStats {
  hits: number;
  misses: number;
  /** Entries of both kinds. */
  size: number;
  negativeSize: number;
}

interface Flight<V> {
  generation: number;
  promise: Promise<V | undefined>;
}

export class AgedCache<V> {
  private readonly found = new Map<string, { value: V; untilMs: number }>();
  private readonly missing = new Map<string, number>();
  private readonly flights = new Map<string, Flight<V>>();
  private generation = 0;
  readonly stats: AgedCacheStats = { hits: 0, misses: 0, size: 0, negativeSize: 0 };

  constructor(private readonly clock: Clock, private readonly opts: AgedCacheOptions) {}

  /** The cached answer for `key`, else `fetch()`'s, kept when no invalidation happened meanwhile. */
  get(key: string, fetch: () => Promise<V | undefined>): Promise<V | undefined> {
    if (!(this.opts.isFresh?.() ?? true)) {
      this.stats.misses++;
      return fetch();
    }
    const now = this.clock.nowMs();
    const hit = this.found.get(key);
    if (hit) {
      if (hit.untilMs > now) {
        this.stats.hits++;
        return Promise.resolve(hit.value);
      }
      this.found.delete(key);
    } else {
      const until = this.missing.get(key);
      if (until !== undefined) {
        if (until > now) {
          this.stats.hits++;
          return Promise.resolve(undefined);
        }
        this.missing.delete(key);
      }
    }
    this.stats.misses++;
    const flight = this.flights.get(key);
    if (flight && flight.generation === this.generation) return flight.promise;
    const generation = this.generation;
    const promise = fetch().then(
      (value) => {
        this.land(key, promise);
        // Read before a change landed (here or through the feed), or while the feed was stale: not kept.
        if (generation === this.generation && (this.opts.isFresh?.() ?? true)) this.put(key, value);
        return value;
      },
      (err: unknown) => {
        this.land(key, promise);
        throw err;
      },
    );
    this.flights.set(key, { generation, promise });
    return promise;
  }

  /** The cached answer without a fetch and without allocating: the value, null for a cached "not found", undefined
   * when nothing usable is cached. Not counted in stats (get counts what it answers). */
  peek(key: string): V | null | undefined {
    if (!(this.opts.isFresh?.() ?? true)) return undefined;
    const now = this.clock.nowMs();
    const hit = this.found.get(key);
    if (hit) return hit.untilMs > now ? hit.value : undefined;
    const until = this.missing.get(key);
    return until !== undefined && until > now ? null : undefined;
  }

  invalidate(keys: Iterable<string>): void {
    this.generation++;
    for (const k of keys) {
      this.found.delete(k);
      this.missing.delete(k);
    }
    this.count();
  }

  clear(): void {
    this.generation++;
    this.found.clear();
    this.missing.clear();
    this.count();
  }

  private land(key: string, promise: Promise<V | undefined>) {
    if (this.flights.get(key)?.promise === promise) this.flights.delete(key);
  }

  private put(key: string, value: V | undefined) {
    if (this.opts.maxEntries <= 0) return;
    const now = this.clock.nowMs();
    // Map keeps insertion order: the first entry is the oldest fill, evicted first (FIFO keeps hits write-free).
    if (value !== undefined) {
      this.missing.delete(key);
      bounded(this.found, key, this.opts.maxEntries).set(key, { value, untilMs: now + this.opts.maxAgeMs });
    } else if (this.opts.negativeMaxEntries > 0) {
      this.found.delete(key);
      bounded(this.missing, key, this.opts.negativeMaxEntries).set(key, now + this.opts.negativeTtlMs);
    }
    this.count();
  }

  private count() {
    this.stats.negativeSize = this.missing.size;
    this.stats.size = this.found.size + this.missing.size;
  }
}

function bounded<T>(map: Map<string, T>, key: string, max: number): Map<string, T> {
  if (map.has(key)) map.delete(key);
  else if (map.size >= max) map.delete(map.keys().next().value!);
  return map;
}
