// With FLUX_KEY_PEPPER set, webhook signing secrets are sealed in the store (AES-256-GCM, key derived from the
// pepper): the stored endpoint never holds the secret in clear, and deliveries are still signed with it (and with
// the previous one during a rotation's grace period), on both stores.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Webhook } from "standardwebhooks";
import { WebhookService } from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";
import { createSecretBox } from "../../src/domain/secret-box.js";
import { createKey, newOrg } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";
import { type Receiver, startReceiver } from "../support/webhook-receiver.js";

const PEPPER = "a-pepper-of-sixteen-or-more-characters";

describe("sealing", () => {
  it("opens what it sealed, refuses a tampered box, and passes through what was stored before a pepper", () => {
    const box = createSecretBox(PEPPER);
    const sealed = box.seal("whsec_abc");
    expect(sealed).toMatch(/^sealed:v1:/);
    expect(sealed).not.toContain("abc");
    expect(box.open(sealed)).toBe("whsec_abc");
    expect(box.seal("whsec_abc")).not.toBe(sealed); // a fresh IV each time
    const tampered = sealed.slice(0, -4) + (sealed.endsWith("AAAA") ? "BBBB" : "AAAA");
    expect(() => box.open(tampered)).toThrow();
    expect(() => createSecretBox("another-pepper-of-sixteen-chars").open(sealed)).toThrow();
    expect(box.open("whsec_plain")).toBe("whsec_plain");
    expect(() => createSecretBox(undefined).open(sealed)).toThrow(/FLUX_KEY_PEPPER/);
  });
});

describe.each(STORE_KINDS)("signing secrets at rest on the %s store", (kind) => {
  let t: TestServer;
  let rx: Receiver;
  beforeAll(async () => {
    t = await startTestServer(kind, `wh-sealed-${kind}`, { config: { FLUX_KEY_PEPPER: PEPPER, FLUX_WEBHOOK_ALLOW_PRIVATE: true } });
  });
  afterAll(() => t?.stop());
  afterEach(() => rx?.close());

  it("stores only a sealed secret and still signs deliveries with the secret it showed", async () => {
    rx = await startReceiver();
    const c = t.callers[0]!;
    const org = newOrg();
    const { endpoint, secret } = await c.call(WebhookService, "createWebhookEndpoint", { endpoint: { orgId: org, url: rx.url, eventTypes: ["key.created"] } }, ADMIN_KEY);
    const rotated = await c.call(WebhookService, "rotateWebhookSecret", { id: endpoint!.id, gracePeriodSeconds: 3600 }, ADMIN_KEY);
    const stored = (await t.deps.stores.webhooks.getEndpoint(endpoint!.id))!;
    for (const s of [stored.secret, stored.previousSecret!]) expect(s).toMatch(/^sealed:v1:/);
    const raw = JSON.stringify(stored);
    for (const s of [secret, rotated.secret]) expect(raw).not.toContain(s.slice(6));
    await createKey(c, { orgId: org });
    await rx.until(() => rx.accepted().length >= 1);
    const r = rx.accepted()[0]!;
    const headers = { "webhook-id": r.id, "webhook-timestamp": r.timestamp, "webhook-signature": r.signature };
    for (const s of [secret, rotated.secret]) new Webhook(s).verify(r.body, headers);
  });
});
