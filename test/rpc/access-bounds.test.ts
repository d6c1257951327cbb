// The bounds of IP allowlists, unused-scope hints and organisation usage (src/domain/limits.ts), at the limit
// (accepted) and one past it (INVALID_ARGUMENT, nothing written), on both stores and both transports.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { OrganizationService } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import { Granularity } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import { LIMITS } from "../../src/domain/limits.js";
import { type BoundsRequest as Req, type BoundsRow, expectBoundHeld, outcome } from "../support/bounds.js";
import { createKey, newOrg } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

interface Ctx {
  orgId: string;
  keyId: string;
  secret: string;
  nowSeconds: bigint;
}
type Row = BoundsRow<Ctx>;

const cidrs = (n: number) => Array.from({ length: n }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
/** The longest IPv6 CIDR (49 characters), padded with spaces (trimmed when read) to `len` characters. */
const longCidr = (len: number) => "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128".padStart(len, " ");
const create = (c: Ctx, over: Record<string, unknown>): Req => [ApiKeyService, "createApiKey", { orgId: c.orgId, name: "bounds", ...over }];
const update = (c: Ctx, apiKey: Record<string, unknown>, paths: string[]): Req => [ApiKeyService, "updateApiKey", { apiKey: { id: c.keyId, ...apiKey }, updateMask: { paths } }];
const orgUsage = (c: Ctx, over: Record<string, unknown>): Req => [OrganizationService, "getOrganizationUsage", { orgId: c.orgId, ...over }];

const ROWS: Row[] = [
  { field: "allowed_cidrs entries (create)", limit: LIMITS.allowedCidrs, at: (c) => create(c, { allowedCidrs: cidrs(LIMITS.allowedCidrs) }), past: (c) => create(c, { allowedCidrs: cidrs(LIMITS.allowedCidrs + 1) }) },
  { field: "allowed_cidrs entries (update)", limit: LIMITS.allowedCidrs, at: (c) => update(c, { allowedCidrs: cidrs(LIMITS.allowedCidrs) }, ["allowed_cidrs"]), past: (c) => update(c, { allowedCidrs: cidrs(LIMITS.allowedCidrs + 1) }, ["allowed_cidrs"]) },
  { field: "allowed_cidrs entry length", limit: LIMITS.cidrLength, at: (c) => create(c, { allowedCidrs: [longCidr(LIMITS.cidrLength)] }), past: (c) => create(c, { allowedCidrs: [longCidr(LIMITS.cidrLength + 1)] }) },
  { field: "client_ip length", limit: LIMITS.clientIpLength, at: (c) => [ApiKeyService, "validateApiKey", { key: c.secret, clientIp: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" }], past: (c) => [ApiKeyService, "validateApiKey", { key: c.secret, clientIp: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555" }] },
  { field: "unused_scope_days maximum", limit: LIMITS.unusedScopeDaysMax, at: (c) => [ApiKeyService, "getApiKeyUsage", { id: c.keyId, unusedScopeDays: LIMITS.unusedScopeDaysMax }], past: (c) => [ApiKeyService, "getApiKeyUsage", { id: c.keyId, unusedScopeDays: LIMITS.unusedScopeDaysMax + 1 }] },
  { field: "top_keys maximum", limit: LIMITS.topKeysMax, at: (c) => orgUsage(c, { topKeys: LIMITS.topKeysMax }), past: (c) => orgUsage(c, { topKeys: LIMITS.topKeysMax + 1 }) },
  {
    field: "organisation usage series_start (hours back)",
    limit: LIMITS.usageSeriesBuckets,
    at: (c) => orgUsage(c, { granularity: Granularity.HOUR, seriesStart: { seconds: c.nowSeconds - BigInt(LIMITS.usageSeriesBuckets * 3600) + 3600n, nanos: 0 } }),
    past: (c) => orgUsage(c, { granularity: Granularity.HOUR, seriesStart: { seconds: c.nowSeconds - BigInt(LIMITS.usageSeriesBuckets * 3600) - 3600n, nanos: 0 } }),
  },
  { field: "organisation usage org_id length", limit: LIMITS.orgIdLength, at: () => [OrganizationService, "getOrganizationUsage", { orgId: "o".repeat(LIMITS.orgIdLength) }], past: () => [OrganizationService, "getOrganizationUsage", { orgId: "o".repeat(LIMITS.orgIdLength + 1) }] },
];

describe.each(STORE_KINDS)("on the %s store", (kind) => {
  let t: TestServer;
  const ctx = {} as Ctx;
  beforeAll(async () => {
    t = await startTestServer(kind, "access-bounds");
    ctx.orgId = newOrg();
    const { key, secret } = await createKey(t.callers[0]!, { orgId: ctx.orgId });
    Object.assign(ctx, { keyId: key.id, secret, nowSeconds: BigInt(Math.floor(t.clock.nowMs() / 1000)) });
  });
  afterAll(() => t?.stop());

  it.each(ROWS)("$field: accepted at $limit, INVALID_ARGUMENT one past it with nothing written", (row) => expectBoundHeld(t, row, ctx));

  it("takes 0 for unused_scope_days and top_keys as their defaults", async () => {
    for (const caller of t.callers) {
      expect((await outcome(caller.call(ApiKeyService, "getApiKeyUsage", { id: ctx.keyId, unusedScopeDays: 0 }, ADMIN_KEY))).code).toBe(0);
      expect((await outcome(caller.call(OrganizationService, "getOrganizationUsage", { orgId: ctx.orgId, topKeys: 0 }, ADMIN_KEY))).code).toBe(0);
    }
  });
});
