// A key's rate-limit count belongs to that key: nothing an organisation does to its own keys (here: cycling one
// key through thousands of limit values, validating after each) gives another organisation's key its budget back.
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { ManualClock } from "../../src/domain/clock.js";
import type { Principal } from "../../src/domain/types.js";
import { createDeps, type Deps } from "../../src/deps.js";
import { createKey, newOrg, validate } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { openTestStores, STORE_KINDS } from "../support/stores.js";

const T0 = Date.UTC(2026, 5, 1, 10, 0, 0);
const HOUR = { requests: 2, windowSeconds: 3600 };

describe("at the service level on the embedded store", () => {
  let deps: Deps;
  let dispose: () => Promise<void>;
  const clock = new ManualClock(T0);
  beforeAll(async () => {
    const t = await openTestStores("embedded", "rl-isolation");
    dispose = t.dispose;
    const config = { FLUX_ADMIN_KEY: ADMIN_KEY, FLUX_KEY_PEPPER: undefined, FLUX_USAGE_FLUSH_MS: 60_000, FLUX_KEY_CACHE_SIZE: 10_000, FLUX_MONGODB_DB: "unused" };
    deps = await createDeps(config, t.stores, pino({ level: "silent" }), clock);
  });
  afterAll(async () => {
    await deps?.close();
    await dispose?.();
  });

  it("keeps org B's spent budget while org A cycles its own key through 10,050 limit values", async () => {
    const adminOf = (orgId: string): Principal => ({ adminKeyId: `adm_${orgId}`, orgId, validateOnly: false });
    const { keys, validation } = deps.services;
    const b = adminOf("org_b");
    const keyB = await keys.create(b, { orgId: "org_b", name: "victim", scopes: [], rateLimit: HOUR, metadata: {} });
    for (let i = 0; i < 2; i++) expect((await validation.validate(b, keyB.secret, [])).outcome).toBe("VALID");
    expect((await validation.validate(b, keyB.secret, [])).outcome).toBe("RATE_LIMITED");

    const a = adminOf("org_a");
    const keyA = await keys.create(a, { orgId: "org_a", name: "attacker", scopes: [], rateLimit: { requests: 1, windowSeconds: 1 }, metadata: {} });
    for (let i = 0; i < 10_050; i++) {
      clock.advance(1); // UpdateApiKey needs a fresh updatedAtMs; 10 s in all, well inside B's hour
      await keys.update(a, keyA.key.id, ["rate_limit"], { rateLimit: { requests: 1 + (i % 100), windowSeconds: 60 + Math.floor(i / 100) } });
      await validation.validate(a, keyA.secret, []);
    }
    const after = await validation.validate(b, keyB.secret, []);
    expect(after.outcome).toBe("RATE_LIMITED");
    expect(after.rateLimit).toMatchObject({ limit: 2, remaining: 0 });
  }, 120_000);
});

describe.each(STORE_KINDS)("over the wire on the %s store", (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, "rl-isolation-wire", { clock: new ManualClock(T0) });
  });
  afterAll(() => t?.stop());

  it.each(["grpc", "connect"] as const)("over %s: org A changing its own key's limit never restores org B's budget", async (name) => {
    const c = t.callers.find((x) => x.name === name)!;
    const orgA = newOrg();
    const adminA = (await c.call(AdminKeyService, "createAdminKey", { name: "org A admin", orgId: orgA }, ADMIN_KEY)).secret;
    const { secret: secretB } = await createKey(c, { rateLimit: HOUR });
    await validate(c, secretB);
    await validate(c, secretB);
    expect((await validate(c, secretB)).outcome).toBe(Outcome.RATE_LIMITED);

    const { key: keyA, secret: secretA } = await createKey(c, { orgId: orgA, rateLimit: { requests: 1, windowSeconds: 1 } });
    for (let i = 0; i < 40; i++) {
      t.clock.advance(1);
      const rateLimit = { requests: 1 + (i % 7), windowSeconds: i % 2 ? 3600 : 60 + i };
      await c.call(ApiKeyService, "updateApiKey", { apiKey: { id: keyA.id, rateLimit }, updateMask: { paths: ["rate_limit"] } }, adminA);
      await validate(c, secretA, [], adminA);
    }
    expect(await validate(c, secretB)).toMatchObject({ outcome: Outcome.RATE_LIMITED, rateLimit: { limit: 2, remaining: 0 } });
  });
});
