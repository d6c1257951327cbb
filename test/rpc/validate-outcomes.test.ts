// ValidateApiKey answers every key problem with an outcome (OK, valid=false), identically on gRPC and Connect.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { failure } from "../support/callers.js";
import { createKey, defineScopes, newOrg, validate } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer("mongodb", "validate-outcomes");
  await defineScopes(t.callers[0]!, "data:read", "webhooks:write");
});
afterAll(() => t?.stop());

describe.each(["grpc", "connect"] as const)("over %s", (name) => {
  const c = () => t.callers.find((x) => x.name === name)!;

  it("accepts a fresh key and returns its id, org, name, scopes, metadata and expiry", async () => {
    const orgId = newOrg();
    const expiresAtMs = t.clock.nowMs() + 3_600_000;
    const { key, secret } = await createKey(c(), { orgId, scopes: ["data:read"], metadata: { plan: "pro" }, expiresAtMs });
    const res = await validate(c(), secret, ["data:read"]);
    expect(res.valid).toBe(true);
    expect(res.outcome).toBe(Outcome.VALID);
    expect(res.key).toMatchObject({ id: key.id, orgId, name: "test key", scopes: ["data:read"], metadata: { plan: "pro" } });
    expect(Number(res.key!.expiresAt!.seconds)).toBe(Math.floor(expiresAtMs / 1000));
  });

  it("answers MALFORMED without a lookup for garbage and for a mistyped checksum", async () => {
    const { secret } = await createKey(c());
    for (const bad of ["", "hello", secret.slice(0, -1) + (secret.endsWith("A") ? "B" : "A"), "x".repeat(600)]) {
      const res = await validate(c(), bad);
      expect(res).toMatchObject({ valid: false, outcome: Outcome.MALFORMED });
      expect(res.key).toBeUndefined();
    }
  });

  it("answers NOT_FOUND for a well-formed secret no key has", async () => {
    const { secret } = await createKey(c());
    const rotated = await c().call(ApiKeyService, "rotateApiKey", { id: (await validate(c(), secret)).key!.id }, ADMIN_KEY);
    expect(rotated.secret).not.toBe(secret);
    expect(await validate(c(), secret)).toMatchObject({ valid: false, outcome: Outcome.NOT_FOUND });
  });

  it("answers EXPIRED once expires_at has passed on the clock", async () => {
    const { secret } = await createKey(c(), { expiresAtMs: t.clock.nowMs() + 60_000 });
    expect((await validate(c(), secret)).outcome).toBe(Outcome.VALID);
    t.clock.advance(60_001);
    const res = await validate(c(), secret);
    expect(res).toMatchObject({ valid: false, outcome: Outcome.EXPIRED });
    expect(res.key).toBeDefined();
  });

  it("answers REVOKED after RevokeApiKey returns", async () => {
    const { key, secret } = await createKey(c());
    await c().call(ApiKeyService, "revokeApiKey", { id: key.id }, ADMIN_KEY);
    expect(await validate(c(), secret)).toMatchObject({ valid: false, outcome: Outcome.REVOKED });
  });

  it("answers DISABLED while disabled and VALID again once enabled", async () => {
    const { key, secret } = await createKey(c());
    await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, enabled: false }, updateMask: { paths: ["enabled"] } }, ADMIN_KEY);
    expect(await validate(c(), secret)).toMatchObject({ valid: false, outcome: Outcome.DISABLED });
    await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, enabled: true }, updateMask: { paths: ["enabled"] } }, ADMIN_KEY);
    expect(await validate(c(), secret)).toMatchObject({ valid: true, outcome: Outcome.VALID });
  });

  it("answers INSUFFICIENT_SCOPE naming the missing scopes", async () => {
    const { secret } = await createKey(c(), { scopes: ["data:read"] });
    const res = await validate(c(), secret, ["data:read", "webhooks:write"]);
    expect(res).toMatchObject({ valid: false, outcome: Outcome.INSUFFICIENT_SCOPE, missingScopes: ["webhooks:write"] });
  });

  it("rejects malformed required_scopes as INVALID_ARGUMENT, and a missing admin key as UNAUTHENTICATED", async () => {
    const { secret } = await createKey(c());
    expect((await failure(validate(c(), secret, ["bad scope!"]))).code).toBe(Code.InvalidArgument);
    const unauth = await failure(c().call(ApiKeyService, "validateApiKey", { key: secret }));
    expect(unauth).toMatchObject({ code: Code.Unauthenticated, reason: "ADMIN_KEY_MISSING" });
  });
});
