// Three replicas on one database, each with a warm key cache: once RotateApiKey, RevokeApiKey or a disabling
// UpdateApiKey returns on any one of them, all three refuse the old state, every time, without sleeping.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import type { Caller } from "../support/callers.js";
import { type FluxProcess, randomAdminKey, startProcess } from "../support/processes.js";
import { mongoUri } from "../support/stores.js";

const admin = randomAdminKey();
let procs: FluxProcess[] = [];
let grpc: Caller[];

beforeAll(async () => {
  const env = { FLUX_MONGODB_URI: mongoUri(), FLUX_MONGODB_DB: `t_consistency_${randomBytes(4).toString("hex")}`, FLUX_ADMIN_KEY: admin };
  procs = await Promise.all([startProcess(env), startProcess(env), startProcess(env)]);
  grpc = procs.map((p) => p.callers[0]!);
});
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
});

const outcomeOn = async (c: Caller, key: string) => (await c.call(ApiKeyService, "validateApiKey", { key }, admin)).outcome;
const outcomesEverywhere = (key: string) => Promise.all(grpc.map((c) => outcomeOn(c, key)));

describe("three replicas with warm caches", () => {
  it("reject the old secret on every replica as soon as RotateApiKey returns, over 15 rotations", async () => {
    const created = await grpc[0]!.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "rotating" }, admin);
    let secret = created.secret;
    for (let i = 0; i < 15; i++) {
      expect(await outcomesEverywhere(secret)).toEqual([Outcome.VALID, Outcome.VALID, Outcome.VALID]); // warms each cache
      const rotated = await grpc[i % 3]!.call(ApiKeyService, "rotateApiKey", { id: created.apiKey!.id }, admin);
      expect(await outcomesEverywhere(secret), `rotation ${i}`).toEqual([Outcome.NOT_FOUND, Outcome.NOT_FOUND, Outcome.NOT_FOUND]);
      secret = rotated.secret;
    }
  });

  it("refuse a revoked key on every replica as soon as RevokeApiKey returns", async () => {
    for (let i = 0; i < 6; i++) {
      const { apiKey, secret } = await grpc[0]!.call(ApiKeyService, "createApiKey", { orgId: "acme", name: `revoked ${i}` }, admin);
      expect(await outcomesEverywhere(secret)).toEqual([Outcome.VALID, Outcome.VALID, Outcome.VALID]);
      await grpc[i % 3]!.call(ApiKeyService, "revokeApiKey", { id: apiKey!.id }, admin);
      expect(await outcomesEverywhere(secret)).toEqual([Outcome.REVOKED, Outcome.REVOKED, Outcome.REVOKED]);
    }
  });

  it("refuse a disabled key everywhere once UpdateApiKey returns, and accept it again once enabled", async () => {
    const { apiKey, secret } = await grpc[0]!.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "toggled" }, admin);
    for (let i = 0; i < 6; i++) {
      const enabled = i % 2 === 1;
      expect(await outcomesEverywhere(secret)).toEqual(Array(3).fill(enabled ? Outcome.DISABLED : Outcome.VALID));
      await grpc[i % 3]!.call(ApiKeyService, "updateApiKey", { apiKey: { id: apiKey!.id, enabled }, updateMask: { paths: ["enabled"] } }, admin);
      expect(await outcomesEverywhere(secret)).toEqual(Array(3).fill(enabled ? Outcome.VALID : Outcome.DISABLED));
    }
  });

  it("refuse a revoked admin key on every replica as soon as RevokeAdminKey returns", async () => {
    const { AdminKeyService } = await import("../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js");
    const created = await grpc[0]!.call(AdminKeyService, "createAdminKey", { name: "short-lived" }, admin);
    for (const c of grpc) await c.call(ApiKeyService, "listScopes", {}, created.secret); // cached as valid everywhere
    await grpc[1]!.call(AdminKeyService, "revokeAdminKey", { id: created.adminKey!.id }, admin);
    for (const c of grpc) {
      await expect(c.call(ApiKeyService, "listScopes", {}, created.secret)).rejects.toMatchObject({ reason: "ADMIN_KEY_INVALID" });
    }
  });

  it("hold one key's rate limit across the three replicas", async () => {
    const L = 30;
    const { secret } = await grpc[1]!.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "limited", rateLimit: { requests: L, windowSeconds: 300 } }, admin);
    const results = await Promise.all(Array.from({ length: 120 }, (_, i) => outcomeOn(grpc[i % 3]!, secret)));
    const admitted = results.filter((o) => o === Outcome.VALID).length;
    console.log(`three replicas: admitted ${admitted} of 120 concurrent validations with L=${L}`);
    expect(admitted).toBe(L);
  });
});
