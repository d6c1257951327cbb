// Organisation policies on the validate path: cached per replica with a size bound and a maximum age, dropped
// through the change feed like keys (the token "org:<id>" travels with the digests). An organisation without a
// policy is cached as such for as long as one with a policy (its creation is a change on the feed too), so keys of
// organisations without policies cost one synchronous map lookup per call.
import type { Clock } from "../domain/clock.js";
import type { OrgPolicy } from "../domain/types.js";
import type { OrgPolicyStore } from "../store/types.js";
import { AgedCache } from "./aged-cache.js";
import type { OrgPolicyLookup } from "./validation-service.js";

/** What the change feed carries for a policy change (never a digest: digests are hex). */
const ORG_PREFIX = "org:";
export const orgToken = (orgId: string) => ORG_PREFIX + orgId;

export interface OrgPolicyCacheOptions {
  maxEntries: number;
  maxAgeMs: number;
  isFresh?: () => boolean;
}

export class OrgPolicyCache implements OrgPolicyLookup {
  private readonly cache: AgedCache<OrgPolicy>;

  constructor(private readonly store: OrgPolicyStore, clock: Clock, o: OrgPolicyCacheOptions) {
    this.cache = new AgedCache(clock, { maxEntries: o.maxEntries, negativeMaxEntries: o.maxEntries, maxAgeMs: o.maxAgeMs, negativeTtlMs: o.maxAgeMs, isFresh: o.isFresh });
  }

  // Entries are keyed by the org id itself: the validate path builds no string per call.
  cached(orgId: string): OrgPolicy | null | undefined {
    const hit = this.cache.peek(orgId);
    return hit === undefined ? undefined : (usable(hit ?? undefined) ?? null);
  }

  async load(orgId: string): Promise<OrgPolicy | undefined> {
    return usable(await this.cache.get(orgId, () => this.store.get(orgId)));
  }

  /** A feed batch: the "org:<id>" tokens among it name changed policies (the rest are key digests). */
  invalidate(tokens: Iterable<string>): void {
    const orgIds: string[] = [];
    for (const t of tokens) if (t.startsWith(ORG_PREFIX)) orgIds.push(t.slice(ORG_PREFIX.length));
    if (orgIds.length) this.cache.invalidate(orgIds);
  }

  clear(): void {
    this.cache.clear();
  }
}

/** A policy that limits nothing (both fields cleared) is no policy: validation skips it. */
const usable = (p: OrgPolicy | undefined) => (p && (p.rateLimit || p.credits) ? p : undefined);
