// The bound on webhook endpoints per organisation (LIMITS.webhookEndpointsPerOrg) under concurrent creates, on both
// stores: never more endpoints (or creation events) than the bound, every refusal INVALID_ARGUMENT naming the field
// with nothing written, and a deleted endpoint's place usable again.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditAction, AuditService } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { WebhookService } from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";
import { LIMITS } from "../../src/domain/limits.js";
import { RpcFailure } from "../support/callers.js";
import { newOrg } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

const PUBLIC_IP = "http://93.184.216.34/"; // a literal public address: checked without DNS, never called here

describe.each(STORE_KINDS)("webhook endpoints per organisation on the %s store", (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, `wh-bound-${kind}`);
  });
  afterAll(() => t?.stop());

  it("never exceeds the bound under concurrent creates, and a deleted endpoint's place can be taken again", async () => {
    const max = LIMITS.webhookEndpointsPerOrg;
    const orgId = newOrg();
    const c = (i: number) => t.callers[i % 2]!;
    const create = (i: number) => c(i).call(WebhookService, "createWebhookEndpoint", { endpoint: { orgId, url: PUBLIC_IP, eventTypes: ["key.revoked"] } }, ADMIN_KEY);
    const results = await Promise.allSettled(Array.from({ length: max + 10 }, (_, i) => create(i)));
    const created = results.filter((r) => r.status === "fulfilled").length;
    for (const r of results) {
      if (r.status === "rejected") {
        expect(r.reason).toBeInstanceOf(RpcFailure);
        expect((r.reason as RpcFailure).code).toBe(Code.InvalidArgument);
        expect((r.reason as RpcFailure).metadata.field).toBe("endpoint.org_id");
      }
    }
    const listed = (await c(0).call(WebhookService, "listWebhookEndpoints", { orgId, pageSize: 1000 }, ADMIN_KEY)).endpoints;
    console.log(`webhook endpoints (${kind}): ${created} of ${max + 10} concurrent creates succeeded, ${listed.length} stored (bound ${max})`);
    expect(listed.length).toBe(created);
    expect(created).toBeLessThanOrEqual(max);
    expect(created).toBeGreaterThan(0);
    const events = (await c(0).call(AuditService, "listAuditEvents", { orgId, pageSize: 1000 }, ADMIN_KEY)).events;
    expect(events.filter((e) => e.action === AuditAction.WEBHOOK_ENDPOINT_CREATED)).toHaveLength(created);
    // Fill up to the bound one at a time, then one more is refused; after a deletion, one fits again.
    for (let n = created; n < max; n++) await create(n);
    await expect(create(0)).rejects.toMatchObject({ code: Code.InvalidArgument });
    await c(0).call(WebhookService, "deleteWebhookEndpoint", { id: listed[0]!.id }, ADMIN_KEY);
    await create(1);
    expect((await c(0).call(WebhookService, "listWebhookEndpoints", { orgId, pageSize: 1000 }, ADMIN_KEY)).endpoints).toHaveLength(max);
  });
});
