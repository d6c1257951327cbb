// A leak report sends `leak.reported` (and `key.revoked`) to the organisation's webhook endpoints, on both stores:
// the webhook is derived from the report's API_KEY_LEAK_REPORTED audit event and carries where the secret was found,
// never the token, its digest or its hash.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebhookService } from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";
import { createDigester } from "../../src/domain/key-material.js";
import { createKey, newOrg } from "../support/fixtures.js";
import { entry, newReporter, sendReport, tokenHash, writeKeysFile } from "../support/leak-reporter.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";
import { type Receiver, startReceiver } from "../support/webhook-receiver.js";

describe.each(STORE_KINDS)("on %s", (kind) => {
  const reporter = newReporter();
  let t: TestServer;
  let rx: Receiver;
  beforeAll(async () => {
    t = await startTestServer(kind, `leak-webhook-${kind}`, { config: { FLUX_LEAK_REPORTER_KEYS: writeKeysFile(reporter), FLUX_WEBHOOK_ALLOW_PRIVATE: true } });
    rx = await startReceiver();
  });
  afterAll(async () => {
    await rx?.close();
    await t?.stop();
  });

  it("delivers leak.reported, then key.revoked, for a reported live key, without the token", async () => {
    const c = t.callers[0]!;
    const orgId = newOrg();
    await c.call(WebhookService, "createWebhookEndpoint", { endpoint: { orgId, url: rx.url, eventTypes: ["leak.reported", "key.revoked"] } }, ADMIN_KEY);
    const live = await createKey(c, { orgId });
    const res = await sendReport(t.server.httpPort, reporter, [entry(live.secret, 3)]);
    expect(res.json()).toMatchObject([{ label: "true_positive" }]);
    await rx.until(() => rx.accepted().length >= 2);
    const [leak, revoked] = rx.accepted();
    expect([leak!.type, revoked!.type]).toEqual(["leak.reported", "key.revoked"]);
    expect(leak!.data).toMatchObject({
      key_id: live.key.id,
      org_id: orgId,
      actor_admin_key_id: `leak-report:${reporter.keyId}`.slice(0, 64),
      after: { type: "flux_api_key", url: "https://github.com/octo/repo/blob/main/config-3.env", source: "content", action: "revoke" },
    });
    for (const r of rx.accepted()) {
      for (const s of [live.secret, createDigester(undefined)(live.secret), tokenHash(live.secret)]) expect(r.body).not.toContain(s);
    }
  });
});
