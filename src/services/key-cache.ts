// A bounded in-process cache of key records by secret digest, in front of the store on the validate path.
// Unknown digests are cached too (briefly), so a flood of made-up keys costs one lookup each per negativeTtlMs.
// Entries are dropped on every change (here, or on another replica through the change feed); a fill that raced
// with a change is not kept; and when the change feed is stale the cache is bypassed rather than trusted.
import type { Clock } from "../domain/clock.js";
import { type ApiKeyRecord, keyDigests } from "../domain/types.js";
import type { KeyLookup } from "./validation-service.js";

interface Entry {
  key?: ApiKeyRecord;
  /** Negative entries only: when to look again. */
  untilMs?: number;
}

export interface KeyCacheOptions {
  maxEntries: number;
  negativeTtlMs: number;
  /** False while this replica cannot prove it has seen every change (the change feed is behind). */
  isFresh?: () => boolean;
}

export interface KeyCacheStats {
  hits: number;
  misses: number;
  size: number;
}

export class KeyCache implements KeyLookup {
  private readonly entries = new Map<string, Entry>();
  private generation = 0;
  readonly stats: KeyCacheStats = { hits: 0, misses: 0, size: 0 };

  constructor(private readonly store: KeyLookup, private readonly clock: Clock, private readonly opts: KeyCacheOptions) {}

  async findByDigest(digest: string): Promise<ApiKeyRecord | undefined> {
    const fresh = this.opts.isFresh?.() ?? true;
    const e = fresh ? this.entries.get(digest) : undefined;
    if (e && (e.key || (e.untilMs ?? 0) > this.clock.nowMs())) {
      this.stats.hits++;
      return e.key;
    }
    this.stats.misses++;
    const gen = this.generation;
    const key = await this.store.findByDigest(digest);
    // A change landed while we read: what we read may predate it, so it is not cached.
    if (gen === this.generation && fresh && this.opts.maxEntries > 0) this.put(digest, key ? { key } : { untilMs: this.clock.nowMs() + this.opts.negativeTtlMs });
    return key;
  }

  /** Drops every entry of these digests (a key's current and previous ones, before and after a change). */
  invalidate(digests: Iterable<string>): void {
    this.generation++;
    for (const d of digests) this.entries.delete(d);
    this.stats.size = this.entries.size;
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
    this.stats.size = 0;
  }

  private put(digest: string, e: Entry) {
    // Map keeps insertion order: the first entry is the oldest fill, evicted first (FIFO keeps hits write-free).
    if (this.entries.size >= this.opts.maxEntries && !this.entries.has(digest)) {
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(digest, e);
    this.stats.size = this.entries.size;
  }
}

/** Every digest under which a key could be cached, before and after a change. */
export function digestsOf(...keys: (ApiKeyRecord | undefined)[]): string[] {
  return keys.flatMap((k) => (k ? keyDigests(k) : []));
}
