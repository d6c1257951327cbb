// Organisation policies: a rate limit and a credit balance shared by all of an organisation's keys. Changes are
// audited and, like key changes, return only after every live replica dropped its cached copy (the change feed
// carries the policy as the token "org:<id>", see org-policy-cache.ts).
import type { Clock } from "../domain/clock.js";
import { invalidArgument, storeUnavailable } from "../domain/errors.js";
import type { OrgPolicy, Principal, RateLimit } from "../domain/types.js";
import type { OrgPolicyStore } from "../store/types.js";
import { requireManage, requireOrg } from "./access.js";
import { auditEvent } from "./audit-trail.js";
import { type ChangeFeed, unconfirmed } from "./change-outbox.js";
import type { CreditsInput } from "./key-service.js";
import { checkCredits, checkOrgId, checkRateLimit } from "./key-input.js";
import { orgToken } from "./org-policy-cache.js";

export const ORG_POLICY_FIELDS = ["rate_limit", "credits"] as const;

export interface OrgPolicyPatch {
  rateLimit?: RateLimit;
  credits?: CreditsInput;
}

export class OrgPolicyService {
  constructor(
    private readonly store: OrgPolicyStore,
    private readonly clock: Clock,
    private readonly feed: ChangeFeed,
  ) {}

  /** The organisation's policy; one that never had one is empty. Another organisation's is PERMISSION_DENIED for an
   * org-limited key, as for CreateApiKey: organisations are named by the caller, not looked up. */
  async get(p: Principal, orgId: string): Promise<OrgPolicy | { orgId: string; updatedAtMs?: undefined }> {
    requireManage(p);
    checkOrgId(orgId);
    requireOrg(p, orgId);
    return (await this.store.get(orgId)) ?? { orgId };
  }

  async update(p: Principal, orgId: string, mask: string[], patch: OrgPolicyPatch): Promise<OrgPolicy> {
    requireManage(p);
    checkOrgId(orgId);
    requireOrg(p, orgId);
    if (mask.length === 0) throw invalidArgument("update_mask must name at least one field", "update_mask");
    const unknown = mask.filter((f) => !(ORG_POLICY_FIELDS as readonly string[]).includes(f));
    if (unknown.length) {
      throw invalidArgument(`update_mask has fields that cannot be updated: ${unknown.join(", ")} (allowed: ${ORG_POLICY_FIELDS.join(", ")})`, "update_mask");
    }
    const fields = new Set(mask);
    if (fields.has("rate_limit")) checkRateLimit(patch.rateLimit, "policy.rate_limit");
    if (fields.has("credits")) checkCredits(patch.credits, "policy.credits");
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = await this.store.get(orgId);
      const now = Math.max(this.clock.nowMs(), (before?.updatedAtMs ?? 0) + 1);
      const after: OrgPolicy = { orgId, updatedAtMs: now };
      const rateLimit = fields.has("rate_limit") ? patch.rateLimit : before?.rateLimit;
      // Setting credits starts a new epoch: the shared balance becomes this one on its next use (credit-ledger.ts).
      const credits = fields.has("credits") ? patch.credits && { ...patch.credits, setAtMs: now } : before?.credits;
      if (rateLimit) after.rateLimit = rateLimit;
      if (credits) after.credits = credits;
      const event = auditEvent(p, {
        action: "ORGANIZATION_POLICY_UPDATED",
        targetType: "ORGANIZATION",
        targetId: orgId,
        orgId,
        atMs: now,
        before,
        after,
        updateMask: mask,
      });
      const pending = await this.feed.prepare([orgToken(orgId)]);
      if (await this.store.replace(before, after, event)) {
        const report = await pending.publish();
        if (!report.published || report.unconfirmedReplicas > 0) throw unconfirmed(report);
        return after;
      }
      await pending.cancel();
    }
    throw storeUnavailable(new Error(`policy of ${orgId} kept changing under concurrent updates`));
  }
}
