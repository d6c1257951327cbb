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
export const orgToken = (orgId: string) => `org:${orgId}`;

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

  cached(orgId: string): { policy: OrgPolicy | undefined } | undefined {
    const hit = this.cache.peek(orgToken(orgId));
    return hit && { policy: usable(hit.value) };
  }

  async load(orgId: string): Promise<OrgPolicy | undefined> {
    return usable(await this.cache.get(orgToken(orgId), () => this.store.get(orgId)));
  }

  /** Tokens of changed policies (other entries of a feed batch are key digests, never cached here). */
  invalidate(tokens: Iterable<string>): void {
    this.cache.invalidate(tokens);
  }

  clear(): void {
    this.cache.clear();
  }
}

/** A policy that limits nothing (both fields cleared) is no policy: validation skips it. */
const usable = (p: OrgPolicy | undefined) => (p && (p.rateLimit || p.credits) ? p : undefined);
