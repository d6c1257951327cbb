// `flux.organizations`: the facade over OrganizationService — an organisation's usage rolled up over all its keys.
import type { Client } from "@connectrpc/connect";
import type { OrganizationService } from "./gen/flux/apikeys/v1/organization_pb.js";
import { toOrganizationUsage } from "./convert.js";
import { organizationUsageRequest, type OrganizationUsageOptions } from "./requests.js";
import type { OrganizationUsage } from "./types.js";

export class Organizations {
  constructor(private readonly raw: Client<typeof OrganizationService>) {}

  /** Validations of all the organisation's keys since `seriesStart`: totals, outcomes, a series and the top keys. */
  async getUsage(orgId: string, options: OrganizationUsageOptions = {}): Promise<OrganizationUsage> {
    return toOrganizationUsage(await this.raw.getOrganizationUsage(organizationUsageRequest(orgId, options)));
  }
}
