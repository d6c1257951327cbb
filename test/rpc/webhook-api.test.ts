// WebhookService on both stores and transports: every bound at and one past its limit, targets on private or
// loopback addresses refused (nothing written), changes recorded in the audit log without secrets, update masks,
// paging, and the secret shown only by create and rotate.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditAction, AuditService, AuditTargetType } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { WebhookService } from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";
import { LIMITS } from "../../src/domain/limits.js";
import { WEBHOOK_EVENT_TYPES } from "../../src/domain/webhooks.js";
import { isPrivateAddress } from "../../src/services/webhook-targets.js";
import { failure } from "../support/callers.js";
import { newOrg } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

/** A public address as a literal: checked without DNS, never called (no event of its types happens here). */
const PUBLIC = "http://192.0.2.1.nip.invalid/";
const PUBLIC_IP = "http://93.184.216.34/";

describe("which addresses are private", () => {
  it("refuses loopback, private, link-local, unique-local, metadata and mapped forms; allows public ones", () => {
    for (const a of ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "::", "fe80::1", "fd00:ec2::254", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "224.0.0.1"]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"]) expect(isPrivateAddress(a), a).toBe(false);
  });
});

describe.each(STORE_KINDS)("WebhookService on the %s store", (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, `wh-api-${kind}`);
  });
  afterAll(() => t?.stop());

  describe.each(["grpc", "connect"] as const)("over %s", (transport) => {
    const c = () => t.callers.find((x) => x.name === transport)!;
    const create = (orgId: string, fields: { url?: string; eventTypes?: string[]; description?: string } = {}) =>
      c().call(WebhookService, "createWebhookEndpoint", { endpoint: { orgId, url: fields.url ?? PUBLIC_IP, eventTypes: fields.eventTypes ?? ["key.revoked"], description: fields.description ?? "" } }, ADMIN_KEY);
    const count = async (orgId: string) => (await c().call(WebhookService, "listWebhookEndpoints", { orgId, pageSize: 1000 }, ADMIN_KEY)).endpoints.length;
    const refused = async (p: Promise<unknown>, field: string) => {
      const e = await failure(p);
      expect(e.code).toBe(Code.InvalidArgument);
      expect(e.reason).toBe("INVALID_ARGUMENT");
      expect(e.metadata.field).toBe(field);
      return e;
    };

    it("refuses targets on private, loopback, link-local and metadata addresses, and non-http(s) URLs, writing nothing", async () => {
      const org = newOrg();
      for (const url of ["http://127.0.0.1:8080/x", "http://localhost/x", "https://10.0.0.8/", "http://169.254.169.254/latest/meta-data", "http://[::1]/", "http://[fd00::1]/", "http://0.0.0.0/"]) {
        const e = await refused(create(org, { url }), "endpoint.url");
        expect(e.message, url).toMatch(/private or loopback/);
      }
      for (const url of ["ftp://93.184.216.34/", "file:///etc/passwd", "not a url", "http://user:pw@93.184.216.34/", ""]) await refused(create(org, { url }), "endpoint.url");
      expect(await count(org)).toBe(0);
      const events = await c().call(AuditService, "listAuditEvents", { orgId: org }, ADMIN_KEY);
      expect(events.events).toHaveLength(0);
      // An update to a private target is refused too, and leaves the endpoint as it was.
      const ep = (await create(org)).endpoint!;
      await refused(c().call(WebhookService, "updateWebhookEndpoint", { endpoint: { id: ep.id, url: "http://192.168.0.1/" }, updateMask: { paths: ["url"] } }, ADMIN_KEY), "endpoint.url");
      expect((await c().call(WebhookService, "getWebhookEndpoint", { id: ep.id }, ADMIN_KEY)).endpoint).toEqual(ep);
    });

    it("holds every bound at its limit and refuses one past it", async () => {
      const org = newOrg();
      const long = (n: number) => PUBLIC_IP + "a".repeat(n - PUBLIC_IP.length);
      await create(org, { url: long(LIMITS.webhookUrlLength) });
      await refused(create(org, { url: long(LIMITS.webhookUrlLength + 1) }), "endpoint.url");
      await create(org, { description: "d".repeat(LIMITS.webhookDescriptionLength) });
      await refused(create(org, { description: "d".repeat(LIMITS.webhookDescriptionLength + 1) }), "endpoint.description");
      await create(org, { eventTypes: [...WEBHOOK_EVENT_TYPES] });
      expect(WEBHOOK_EVENT_TYPES).toHaveLength(LIMITS.webhookEventTypes);
      await refused(create(org, { eventTypes: [] }), "endpoint.event_types");
      await refused(create(org, { eventTypes: ["key.created", "key.exploded"] }), "endpoint.event_types");
      while ((await count(org)) < LIMITS.webhookEndpointsPerOrg) await create(org);
      await refused(create(org), "endpoint.org_id");
      expect(await count(org)).toBe(LIMITS.webhookEndpointsPerOrg);
      const id = (await c().call(WebhookService, "listWebhookEndpoints", { orgId: org }, ADMIN_KEY)).endpoints[0]!.id;
      await c().call(WebhookService, "rotateWebhookSecret", { id, gracePeriodSeconds: LIMITS.gracePeriodSecondsMax }, ADMIN_KEY);
      await refused(c().call(WebhookService, "rotateWebhookSecret", { id, gracePeriodSeconds: LIMITS.gracePeriodSecondsMax + 1 }, ADMIN_KEY), "grace_period_seconds");
      await c().call(WebhookService, "listWebhookEndpoints", { orgId: org, pageSize: LIMITS.pageSizeMax }, ADMIN_KEY);
      await refused(c().call(WebhookService, "listWebhookEndpoints", { orgId: org, pageSize: LIMITS.pageSizeMax + 1 }, ADMIN_KEY), "page_size");
      await refused(c().call(WebhookService, "listWebhookDeliveries", { endpointId: id, pageSize: LIMITS.pageSizeMax + 1 }, ADMIN_KEY), "page_size");
      await refused(c().call(WebhookService, "listWebhookEndpoints", { pageToken: "garbage" }, ADMIN_KEY), "page_token");
      await refused(c().call(WebhookService, "updateWebhookEndpoint", { endpoint: { id, orgId: "x" }, updateMask: { paths: ["org_id"] } }, ADMIN_KEY), "update_mask");
      await refused(c().call(WebhookService, "updateWebhookEndpoint", { endpoint: { id }, updateMask: { paths: [] } }, ADMIN_KEY), "update_mask");
      await refused(c().call(WebhookService, "getWebhookEndpoint", { id: "w".repeat(LIMITS.idLength + 1) }, ADMIN_KEY), "id");
    });

    it("records create, update, rotate and delete in the audit log with the fields changed and never a secret", async () => {
      const org = newOrg();
      const { endpoint, secret } = await create(org, { description: "first" });
      const ep = endpoint!;
      const updated = await c().call(
        WebhookService,
        "updateWebhookEndpoint",
        { endpoint: { id: ep.id, description: "second", enabled: false, eventTypes: ["key.created", "key.created", "key.enabled"] }, updateMask: { paths: ["description", "enabled", "event_types"] } },
        ADMIN_KEY,
      );
      expect(updated.endpoint).toMatchObject({ description: "second", enabled: false, eventTypes: ["key.created", "key.enabled"], url: ep.url });
      const rotated = await c().call(WebhookService, "rotateWebhookSecret", { id: ep.id }, ADMIN_KEY);
      expect(rotated.secret).toMatch(/^whsec_/);
      expect(rotated.endpoint!.previousSecretExpireTime).toBeUndefined();
      // Get and list never carry a secret (the message has no field for it).
      const got = await c().call(WebhookService, "getWebhookEndpoint", { id: ep.id }, ADMIN_KEY);
      expect(JSON.stringify(got, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain("whsec_");
      await c().call(WebhookService, "deleteWebhookEndpoint", { id: ep.id }, ADMIN_KEY);
      const gone = await failure(c().call(WebhookService, "getWebhookEndpoint", { id: ep.id }, ADMIN_KEY));
      expect([gone.code, gone.reason]).toEqual([Code.NotFound, "WEBHOOK_ENDPOINT_NOT_FOUND"]);
      const events = (await c().call(AuditService, "listAuditEvents", { targetId: ep.id }, ADMIN_KEY)).events.reverse();
      expect(events.map((e) => AuditAction[e.action])).toEqual(["WEBHOOK_ENDPOINT_CREATED", "WEBHOOK_ENDPOINT_UPDATED", "WEBHOOK_SECRET_ROTATED", "WEBHOOK_ENDPOINT_DELETED"]);
      expect(events.every((e) => e.targetType === AuditTargetType.WEBHOOK_ENDPOINT && e.orgId === org)).toBe(true);
      expect(events[1]!.updateMask).toEqual(["description", "enabled", "event_types"]);
      expect(events[1]!.after).toMatchObject({ description: "second", enabled: false });
      const text = JSON.stringify(events, (_k, v) => (typeof v === "bigint" ? String(v) : v));
      expect(text).not.toContain("whsec_");
      expect(text).not.toContain(secret.slice(6, 20));
      expect(text).not.toMatch(/"secret"|previous_secret"/);
    });

    it("pages endpoints newest first and filters by organisation", async () => {
      const org = newOrg();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await create(org, { description: `n${i}` })).endpoint!.id);
      const seen: string[] = [];
      let pageToken = "";
      do {
        const page = await c().call(WebhookService, "listWebhookEndpoints", { orgId: org, pageSize: 2, pageToken }, ADMIN_KEY);
        seen.push(...page.endpoints.map((e) => e.id));
        pageToken = page.nextPageToken;
      } while (pageToken);
      expect(seen.sort()).toEqual([...ids].sort());
      expect(await count(newOrg())).toBe(0);
    });
  });

  it("refuses a target whose name does not resolve, as INVALID_ARGUMENT naming the field", async () => {
    const e = await failure(t.callers[0]!.call(WebhookService, "createWebhookEndpoint", { endpoint: { orgId: newOrg(), url: PUBLIC, eventTypes: ["key.created"] } }, ADMIN_KEY));
    expect([e.code, e.metadata.field]).toEqual([Code.InvalidArgument, "endpoint.url"]);
  });
});
