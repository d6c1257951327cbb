// A bounded in-process cache of key records by secret digest, in front of the store on the validate path.
// Unknown digests are cached too (briefly, and apart from real keys), so a flood of made-up keys costs one lookup
// each per negativeTtlMs and never evicts a real key. Entries are dropped on every change (here, or on another
// replica through the change feed), and every entry is read again after maxAgeMs, so a lost invalidation heals by
// itself. A fill that raced with a change is not kept; while the change feed is stale the cache is bypassed.
import type { Clock } from "../domain/clock.js";
import { type ApiKeyRecord, keyDigests } from "../domain/types.js";
import { AgedCache, type AgedCacheOptions, type AgedCacheStats } from "./aged-cache.js";
import type { KeyLookup } from "./validation-service.js";

export interface KeyCacheOptions extends Omit<AgedCacheOptions, "negativeMaxEntries"> {
  /** Default: a tenth of maxEntries, at least 1,000. */
  negativeMaxEntries?: number;
}

export type KeyCacheStats = AgedCacheStats;

export class KeyCache implements KeyLookup {
  private readonly cache: AgedCache<ApiKeyRecord>;

  constructor(private readonly store: KeyLookup, clock: Clock, opts: KeyCacheOptions) {
    const negativeMaxEntries = opts.negativeMaxEntries ?? Math.max(1000, Math.floor(opts.maxEntries / 10));
    this.cache = new AgedCache(clock, { ...opts, negativeMaxEntries: opts.maxEntries > 0 ? negativeMaxEntries : 0 });
  }

  get stats(): KeyCacheStats {
    return this.cache.stats;
  }

  findByDigest(digest: string): Promise<ApiKeyRecord | undefined> {
    return this.cache.get(digest, () => this.store.findByDigest(digest));
  }

  /** The cached record without waiting: null for a digest cached as unknown, undefined when the store must be asked.
   * Not counted: the caller counts a hit (countHit) only when it answers from it, else findByDigest counts the call. */
  peek(digest: string): ApiKeyRecord | null | undefined {
    return this.cache.peek(digest);
  }

  countHit(): void {
    this.cache.stats.hits++;
  }

  /** Drops every entry of these digests (a key's current and previous ones, before and after a change). */
  invalidate(digests: Iterable<string>): void {
    this.cache.invalidate(digests);
  }

  clear(): void {
    this.cache.clear();
  }
}

/** Every digest under which a key could be cached, before and after a change. */
export function digestsOf(...keys: (ApiKeyRecord | undefined)[]): string[] {
  return keys.flatMap((k) => (k ? keyDigests(k) : []));
}
