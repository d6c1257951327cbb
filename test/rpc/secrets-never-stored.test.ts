// Secrets leave the server only in Create/Rotate responses: never in a stored document, a log line or an error.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import type { MongoStores } from "../../src/store/mongo/mongo-stores.js";
import { failure } from "../support/callers.js";
import { createKey, defineScopes, validate } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import type { StoreKind } from "../support/stores.js";

describe.each(["mongodb", "embedded"] as StoreKind[])("on the %s store", (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, "secrets");
  });
  afterAll(() => t?.stop());

  it("stores, logs and echoes no secret after create, validate, rotate, errors and usage", async () => {
    const secrets: string[] = [ADMIN_KEY];
    for (const c of t.callers) {
      await defineScopes(c, "data:read");
      const { key, secret } = await createKey(c, { scopes: ["data:read"], rateLimit: { requests: 1, windowSeconds: 60 } });
      secrets.push(secret);
      await validate(c, secret);
      await validate(c, secret); // rate limited
      await validate(c, secret, ["data:write"]);
      const rotated = await c.call(ApiKeyService, "rotateApiKey", { id: key.id, gracePeriodSeconds: 60 }, ADMIN_KEY);
      secrets.push(rotated.secret);
      await validate(c, rotated.secret);
      const adm = await c.call(AdminKeyService, "createAdminKey", { name: "x" }, ADMIN_KEY);
      secrets.push(adm.secret);
      const err = await failure(c.call(ApiKeyService, "getApiKey", { id: secret }, ADMIN_KEY));
      expect(err.message).toContain("not found");
      expect(err.message).not.toContain(secret.slice(5));
      await c.call(ApiKeyService, "getApiKeyUsage", { id: key.id }, ADMIN_KEY);
    }
    await t.deps.services.recorder.flush();
    const stored = await dumpStore(t, kind);
    const logs = t.logs.join("\n");
    for (const s of secrets) {
      // The random body of each secret: any copy of it, whole or inside a longer string, is a leak.
      const body = s.startsWith("flux") ? s.slice(s.indexOf("_") + 1) : s;
      expect(stored.includes(body), "secret in a stored document").toBe(false);
      expect(logs.includes(body), "secret in a log line").toBe(false);
    }
    expect(logs.length).toBeGreaterThan(0);
  });
});

async function dumpStore(t: TestServer, kind: StoreKind): Promise<string> {
  if (kind === "mongodb") {
    const db = (t.deps.stores as MongoStores).db;
    const out: unknown[] = [];
    for (const { name } of await db.listCollections().toArray()) out.push(await db.collection(name).find({}).toArray());
    return JSON.stringify(out);
  }
  // The SQLite file and its WAL, as raw bytes.
  const dir = (t.deps.stores as unknown as { dir?: string }).dir;
  if (!dir) throw new Error("embedded store does not expose its directory");
  return readdirSync(dir)
    .map((f) => readFileSync(join(dir, f)).toString("latin1"))
    .join("\n");
}
