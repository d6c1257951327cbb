// Webhook events beyond key changes, on both stores: key.expiring once per key and expiry (N days ahead),
// key.rate_limited on the first refusal of each window, credits.low and credits.exhausted once per balance period,
// and leak.reported when a leak report names a live key.
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { WebhookService } from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";
import { createKey, newOrg, validate } from "../support/fixtures.js";
import { entry, newReporter, sendReport, writeKeysFile } from "../support/leak-reporter.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";
import { type Receiver, startReceiver } from "../support/webhook-receiver.js";

const DAY = 86_400_000;
const settle = () => new Promise((r) => setTimeout(r, 400)); // a few polls: time for a wrong second event to show

describe.each(STORE_KINDS)("noticed webhook events on the %s store", (kind) => {
  const reporter = newReporter();
  let t: TestServer;
  let rx: Receiver;
  beforeAll(async () => {
    t = await startTestServer(kind, `wh-noticed-${kind}`, {
      config: { FLUX_WEBHOOK_ALLOW_PRIVATE: true, FLUX_WEBHOOK_EXPIRING_DAYS: 7, FLUX_LEAK_REPORTER_KEYS: writeKeysFile(reporter), FLUX_LEAK_REPORTS_PER_MINUTE: 0 },
    });
  });
  afterAll(() => t?.stop());
  afterEach(() => rx?.close());

  const c = () => t.callers[1]!;
  async function listen(types: string[]) {
    rx = await startReceiver();
    const orgId = newOrg();
    await c().call(WebhookService, "createWebhookEndpoint", { endpoint: { orgId, url: rx.url, eventTypes: types } }, ADMIN_KEY);
    return orgId;
  }

  it("sends key.expiring once per key and expiry, N days ahead, and again for a new expiry", async () => {
    const org = await listen(["key.expiring"]);
    const now = t.clock.nowMs();
    const soon = (await createKey(c(), { orgId: org, expiresAtMs: now + 3 * DAY })).key;
    const later = (await createKey(c(), { orgId: org, expiresAtMs: now + 10 * DAY })).key;
    await t.deps.services.webhooks.expiry.scan();
    await rx.until(() => rx.accepted().length >= 1);
    await t.deps.services.webhooks.expiry.scan();
    await settle();
    expect(rx.accepted().map((r) => r.data.key_id)).toEqual([soon.id]);
    expect(rx.accepted()[0]!.data).toMatchObject({ org_id: org, expires_at: new Date(now + 3 * DAY).toISOString() });
    t.clock.advance(4 * DAY); // `later` is now 6 days from expiry
    await t.deps.services.webhooks.expiry.scan();
    await rx.until(() => rx.accepted().length >= 2);
    // A new expiry is a new announcement.
    await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: later.id, expiresAt: timestampFromMs(t.clock.nowMs() + 2 * DAY) }, updateMask: { paths: ["expires_at"] } }, ADMIN_KEY);
    await t.deps.services.webhooks.expiry.scan();
    await rx.until(() => rx.accepted().length >= 3);
    await t.deps.services.webhooks.expiry.scan();
    await settle();
    expect(rx.accepted().map((r) => r.data.key_id)).toEqual([soon.id, later.id, later.id]);
  });

  it("sends key.rate_limited on the first refusal of a window only", async () => {
    const org = await listen(["key.rate_limited"]);
    const { key, secret } = await createKey(c(), { orgId: org, rateLimit: { requests: 2, windowSeconds: 60 } });
    for (let i = 0; i < 6; i++) await validate(c(), secret);
    await rx.until(() => rx.accepted().length >= 1);
    await settle();
    expect(rx.accepted()).toHaveLength(1);
    expect(rx.accepted()[0]!.data).toMatchObject({ key_id: key.id, org_id: org, refused_by: "KEY", limit: 2 });
    t.clock.advance(60_000);
    for (let i = 0; i < 4; i++) await validate(c(), secret);
    await rx.until(() => rx.accepted().length >= 2);
    await settle();
    expect(rx.accepted().map((r) => r.type)).toEqual(["key.rate_limited", "key.rate_limited"]);
    expect(rx.accepted()[0]!.id).not.toBe(rx.accepted()[1]!.id);
  });

  it("sends credits.low once when a balance falls to 10% and credits.exhausted once when it runs out", async () => {
    const org = await listen(["credits.low", "credits.exhausted"]);
    const { apiKey, secret } = await c().call(ApiKeyService, "createApiKey", { orgId: org, name: "metered", credits: { remaining: 20n } }, ADMIN_KEY);
    for (let i = 0; i < 17; i++) await validate(c(), secret); // 3 left: not low yet
    await settle();
    expect(rx.accepted()).toHaveLength(0);
    for (let i = 0; i < 6; i++) await validate(c(), secret); // 2, 1, 0 left, then three refusals
    await rx.until(() => rx.accepted().length >= 2);
    await settle();
    expect(rx.accepted().map((r) => r.type)).toEqual(["credits.low", "credits.exhausted"]);
    expect(rx.accepted()[0]!.data).toMatchObject({ key_id: apiKey!.id, remaining: 2, level: "KEY" });
  });

  it("sends leak.reported (and key.revoked) when a leak report names a live key", async () => {
    const org = await listen(["leak.reported", "key.revoked"]);
    const { key, secret } = await createKey(c(), { orgId: org });
    expect((await sendReport(t.server.httpPort, reporter, [entry(secret)])).status).toBe(200);
    await rx.until(() => rx.accepted().length >= 2);
    expect(rx.accepted().map((r) => [r.type, r.data.key_id]).sort()).toEqual([["key.revoked", key.id], ["leak.reported", key.id]]);
    for (const r of rx.accepted()) expect(r.body).not.toContain(secret);
  });
});
