// OrganizationService's policy methods (Get/UpdateOrganizationPolicy): thin, like handlers.ts. The policy answered
// shows the shared balance as the ledger has it now.
import type { Deps } from "../deps.js";
import { invalidArgument } from "../domain/errors.js";
import { LIMITS } from "../domain/limits.js";
import type { OrgPolicy, Principal } from "../domain/types.js";
import { orgSubject } from "../services/validation-service.js";
import type { OrganizationService } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import type { CallContext, ServiceHandlers } from "./handlers.js";
import { creditsFromWire, orgPolicyToWire, rateLimitFromWire } from "./mappers.js";

type PolicyHandlers = Pick<ServiceHandlers<typeof OrganizationService>, "getOrganizationPolicy" | "updateOrganizationPolicy">;

export function createOrgPolicyHandlers(
  deps: Deps,
  who: (ctx: CallContext) => Promise<Principal>,
  actor: (ctx: CallContext) => Promise<Principal>,
): PolicyHandlers {
  const { orgPolicies, ledger } = deps.services;
  const withBalance = async (p: Pick<OrgPolicy, "orgId" | "credits">) =>
    orgPolicyToWire(p, p.credits && (await ledger.balance(orgSubject(p.orgId), p.credits)));
  return {
    async getOrganizationPolicy(req, ctx) {
      return { policy: await withBalance(await orgPolicies.get(await who(ctx), req.orgId)) };
    },
    async updateOrganizationPolicy(req, ctx) {
      const p = req.policy;
      if (!p) throw invalidArgument("policy is required", "policy");
      if ((req.updateMask?.paths.length ?? 0) > LIMITS.updateMaskPaths) {
        throw invalidArgument(`update_mask names at most ${LIMITS.updateMaskPaths} paths`, "update_mask");
      }
      const policy = await orgPolicies.update(await actor(ctx), p.orgId, req.updateMask?.paths ?? [], {
        rateLimit: rateLimitFromWire(p.rateLimit),
        credits: creditsFromWire(p.credits),
      });
      return { policy: await withBalance(policy) };
    },
  };
}
