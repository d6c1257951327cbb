// `flux.organizations`: the facade over OrganizationService — an organisation's usage rolled up over all its keys,
// and its shared policy (one rate limit and one credit balance for all its keys).
import type { Client } from "@connectrpc/connect";
import type { OrganizationService } from "./gen/flux/apikeys/v1/organization_pb.js";
import { toOrganizationPolicy, toOrganizationUsage } from "./convert.js";
import { type OrganizationPolicyInput, organizationPolicyRequest, organizationUsageRequest, type OrganizationUsageOptions } from "./requests.js";
import type { OrganizationPolicy, OrganizationUsage } from "./types.js";

export class Organizations {
  constructor(private readonly raw: Client<typeof OrganizationService>) {}

  /** Validations of all the organisation's keys since `seriesStart`: totals, outcomes, a series and the top keys. */
  async getUsage(orgId: string, options: OrganizationUsageOptions = {}): Promise<OrganizationUsage> {
    return toOrganizationUsage(await this.raw.getOrganizationUsage(organizationUsageRequest(orgId, options)));
  }

  /** The organisation's shared policy, with the shared balance as it is now (fields undefined when not set). */
  async getPolicy(orgId: string): Promise<OrganizationPolicy> {
    return toOrganizationPolicy((await this.raw.getOrganizationPolicy({ orgId })).policy);
  }

  /** Sets the shared limits given (null clears one, an absent one stays); every replica applies it before this resolves. */
  async updatePolicy(orgId: string, input: OrganizationPolicyInput): Promise<OrganizationPolicy> {
    return toOrganizationPolicy((await this.raw.updateOrganizationPolicy(organizationPolicyRequest(orgId, input))).policy);
  }
}
