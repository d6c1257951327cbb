// The dashboard's only link to the server: Connect over the page's own origin, with the admin key held in this
// module's memory for the life of the tab. It is never written to storage, cookies or the URL.
import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import type { ApiKey, Scope } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import { Granularity, type GetApiKeyUsageResponse } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import { AuditService, type ListAuditEventsResponse } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { type GetOrganizationUsageResponse, OrganizationService } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import { WebhookService } from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";

let adminKey: string | undefined;
let onSessionLost: (reason: unknown) => void = () => {};

export const session = {
  get signedIn(): boolean {
    return adminKey !== undefined;
  },
  /** Tries the key with a harmless call first; keeps it only when the server accepts it. */
  async signIn(key: string): Promise<void> {
    const candidate = key.trim();
    if (!candidate) throw new Error("Paste an admin key to sign in.");
    await api.listScopes({}, { headers: { authorization: `Bearer ${candidate}` } });
    adminKey = candidate;
  },
  signOut(): void {
    adminKey = undefined;
  },
  /** Called when the server stops accepting the key mid-session (revoked, or the server was reset). */
  onLost(fn: (reason: unknown) => void): void {
    onSessionLost = fn;
  },
};

const authorize: Interceptor = (next) => async (req) => {
  if (adminKey !== undefined && !req.header.has("authorization")) req.header.set("authorization", `Bearer ${adminKey}`);
  const signedInAs = adminKey;
  try {
    return await next(req);
  } catch (err) {
    if (signedInAs !== undefined && ConnectError.from(err).code === Code.Unauthenticated) {
      adminKey = undefined;
      onSessionLost(err);
    }
    throw err;
  }
};

const transport = createConnectTransport({
  baseUrl: location.origin,
  useBinaryFormat: true,
  interceptors: [authorize],
  // No cookies exist for this origin, and none should ever be sent along.
  fetch: (input, init) => globalThis.fetch(input, { ...init, credentials: "omit", cache: "no-store" }),
});

export const api: Client<typeof ApiKeyService> = createClient(ApiKeyService, transport);
const audit: Client<typeof AuditService> = createClient(AuditService, transport);
export const organizations: Client<typeof OrganizationService> = createClient(OrganizationService, transport);
export const webhooks: Client<typeof WebhookService> = createClient(WebhookService, transport);

/** An organisation's usage rolled up: totals, outcomes, a series and its top keys (10 each). */
export function getOrgUsage(orgId: string, granularity: "HOUR" | "DAY"): Promise<GetOrganizationUsageResponse> {
  return organizations.getOrganizationUsage({ orgId, granularity: granularity === "HOUR" ? Granularity.HOUR : Granularity.DAY });
}

/** One page of the audit log for a key (targetId) or an organisation (orgId). */
export function listAudit(q: { orgId?: string; targetId?: string; pageSize: number; pageToken: string }): Promise<ListAuditEventsResponse> {
  return audit.listAuditEvents(q);
}

export interface OrgSummary {
  orgId: string;
  keys: number;
}

/** Every organisation the admin key can see keys of, from ListApiKeys without org_id (up to 5,000 keys). */
export async function listOrgs(): Promise<OrgSummary[]> {
  const counts = new Map<string, number>();
  let pageToken = "";
  for (let page = 0; page < 5; page++) {
    const res = await api.listApiKeys({ pageSize: 1000, pageToken, includeRevoked: true });
    for (const k of res.apiKeys) counts.set(k.orgId, (counts.get(k.orgId) ?? 0) + 1);
    pageToken = res.nextPageToken;
    if (!pageToken) break;
  }
  return [...counts].map(([orgId, keys]) => ({ orgId, keys })).sort((a, b) => a.orgId.localeCompare(b.orgId));
}

export async function listScopes(): Promise<Scope[]> {
  return (await api.listScopes({})).scopes;
}

export interface KeyPage {
  keys: ApiKey[];
  nextPageToken: string;
}

export async function listKeys(orgId: string, pageToken: string, includeRevoked: boolean, pageSize = 25): Promise<KeyPage> {
  const res = await api.listApiKeys({ orgId, pageSize, pageToken, includeRevoked });
  return { keys: res.apiKeys, nextPageToken: res.nextPageToken };
}

export function getUsage(id: string, granularity: "HOUR" | "DAY" = "DAY"): Promise<GetApiKeyUsageResponse> {
  return api.getApiKeyUsage({ id, granularity: granularity === "HOUR" ? Granularity.HOUR : Granularity.DAY });
}

/** Usage for each key of a page, at most four requests in flight; a failure for one key is kept, not thrown. */
export async function usageForKeys(ids: string[]): Promise<Map<string, GetApiKeyUsageResponse | Error>> {
  const out = new Map<string, GetApiKeyUsageResponse | Error>();
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      try {
        out.set(id, await getUsage(id, "DAY"));
      } catch (err) {
        out.set(id, err instanceof Error ? err : new Error(String(err)));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, ids.length) }, worker));
  return out;
}
