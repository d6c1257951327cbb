// OrganizationService's handlers: usage rolled up per organisation (GetOrganizationUsage) and the organisation's
// shared policy (Get/UpdateOrganizationPolicy, filled in with issue 14's credits work). Thin, like handlers.ts.
import type { Deps } from "../deps.js";
import type { Principal } from "../domain/types.js";
import { OrganizationService } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import { Granularity } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import type { CallContext, ServiceHandlers } from "./handlers.js";
import { msOf, organizationUsageToWire } from "./mappers.js";
import { createOrgPolicyHandlers } from "./org-policy-handlers.js";

/** The methods served so far: a method left out answers UNIMPLEMENTED on both transports (see the adapters). */
export type OrganizationHandlers = Partial<ServiceHandlers<typeof OrganizationService>>;

export function createOrganizationHandlers(
  deps: Deps,
  who: (ctx: CallContext) => Promise<Principal>,
  actor: (ctx: CallContext) => Promise<Principal>,
): OrganizationHandlers {
  const { organizationUsage } = deps.services;
  return {
    ...createOrgPolicyHandlers(deps, who, actor),
    async getOrganizationUsage(req, ctx) {
      const granularity = req.granularity === Granularity.HOUR ? "HOUR" : "DAY";
      return organizationUsageToWire(await organizationUsage.get(await who(ctx), req.orgId, granularity, msOf(req.seriesStart), req.topKeys));
    },
  };
}

export { OrganizationService };
