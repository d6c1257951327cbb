// What a validator's stream may carry: an org-limited admin key's session sees its organisation's keys and changes
// only (snapshot and changes), and no stream ever carries a secret (every byte received is scanned for each secret
// issued during the test). On both stores.
import { hash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { OrganizationService } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import { createKey } from "../support/fixtures.js";
import { RawValidator, type Transport } from "../support/raw-validators.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

describe.each(STORE_KINDS)("local validator isolation on the %s store", (kind) => {
  let t: TestServer;
  const orgA = `org_a_${randomBytes(3).toString("hex")}`;
  const orgB = `org_b_${randomBytes(3).toString("hex")}`;
  const secrets: string[] = [];
  const keysOf = (v: RawValidator) =>
    v.messages.flatMap((m) =>
      m.event.case === "snapshot" ? m.event.value.keys : m.event.case === "change" && m.event.value.change.case === "key" ? [m.event.value.change.value] : [],
    );

  beforeAll(async () => {
    t = await startTestServer(kind, `local-isolation-${kind}`);
  });
  afterAll(() => t?.stop());

  it.each(["grpc", "connect"] as Transport[])("an org-limited session sees only its organisation, and no stream carries a secret (%s)", async (transport) => {
    const c = t.callers[0]!;
    for (const orgId of [orgA, orgB, orgA, orgB]) secrets.push((await createKey(c, { orgId })).secret);
    const limited = (await c.call(AdminKeyService, "createAdminKey", { name: "a-validators", orgId: orgA, localValidation: true }, ADMIN_KEY)).secret;
    const all = (await c.call(AdminKeyService, "createAdminKey", { name: "all-validators", localValidation: true }, ADMIN_KEY)).secret;
    const port = transport === "grpc" ? t.server.grpcPort : t.server.httpPort;
    const a = new RawValidator({ transport, port, adminKey: limited, caller: c, autoAckDelayMs: 0 }).start();
    const every = new RawValidator({ transport, port, adminKey: all, caller: c, autoAckDelayMs: 0 }).start();
    await a.snapshotComplete();
    await every.snapshotComplete();
    const first = a.messages[0]!.event;
    expect(first.case === "session" && first.value.orgId).toBe(orgA);
    expect(keysOf(a).length).toBeGreaterThanOrEqual(2);
    expect(keysOf(a).every((k) => k.info?.orgId === orgA)).toBe(true);
    expect(keysOf(every).some((k) => k.info?.orgId === orgB)).toBe(true);

    // Changes: B's never reach A's session; A's do. Policies too.
    const b = await createKey(c, { orgId: orgB });
    secrets.push(b.secret);
    const rotated = await c.call(ApiKeyService, "rotateApiKey", { id: b.key.id }, ADMIN_KEY);
    secrets.push(rotated.secret);
    await c.call(ApiKeyService, "revokeApiKey", { id: b.key.id }, ADMIN_KEY);
    await c.call(OrganizationService, "updateOrganizationPolicy", { policy: { orgId: orgB, rateLimit: { requests: 5, windowSeconds: 60 } }, updateMask: { paths: ["rate_limit"] } }, ADMIN_KEY);
    const own = await createKey(c, { orgId: orgA });
    secrets.push(own.secret);
    const rotatedOwn = await c.call(ApiKeyService, "rotateApiKey", { id: own.key.id }, ADMIN_KEY);
    secrets.push(rotatedOwn.secret);
    await a.until((m) => m.event.case === "change" && m.event.value.change.case === "key" && m.event.value.change.value.info?.id === own.key.id, "A's own change");
    await every.until((m) => m.event.case === "change" && m.event.value.change.case === "key" && m.event.value.change.value.info?.id === own.key.id, "A's change on the unrestricted session");
    expect(keysOf(a).every((k) => k.info?.orgId === orgA)).toBe(true);
    expect(a.messages.some((m) => m.event.case === "change" && m.event.value.change.case === "organization")).toBe(false);
    expect(keysOf(every).some((k) => k.info?.id === b.key.id)).toBe(true);

    // No secret, in any form a stream could carry it, in any byte received.
    const bytes = Buffer.concat([...a.raw, ...every.raw]);
    expect(bytes.length).toBeGreaterThan(0);
    for (const s of secrets) {
      expect(bytes.includes(Buffer.from(s)), "a secret on the stream").toBe(false);
      expect(bytes.includes(Buffer.from(s.slice(5, 25))), "part of a secret on the stream").toBe(false);
    }
    a.close();
    every.close();
    // Nor do the server's logs: neither a secret nor a digest (the stream's own content).
    await expect.poll(() => t.logs.join("").includes("validator session ended")).toBe(true);
    const logs = t.logs.join("");
    for (const s of secrets) {
      expect(logs.includes(s), "a secret in the logs").toBe(false);
      expect(logs.includes(hash("sha256", s, "base64url")), "a digest in the logs").toBe(false);
    }
  });
});
