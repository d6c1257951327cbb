// Admin keys decide who may ask: missing/wrong keys are UNAUTHENTICATED, validate-only keys may only validate,
// and an org-limited key sees other orgs' keys exactly as missing ones.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { failure } from "../support/callers.js";
import { createKey, newOrg, validate } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer("mongodb", "auth-tenancy");
});
afterAll(() => t?.stop());

describe.each(["grpc", "connect"] as const)("over %s", (name) => {
  const c = () => t.callers.find((x) => x.name === name)!;
  const adminKey = async (opts: { orgId?: string; validateOnly?: boolean }) =>
    (await c().call(AdminKeyService, "createAdminKey", { name: "scoped", ...opts }, ADMIN_KEY)).secret;

  it("answers UNAUTHENTICATED for a missing, malformed, unknown or revoked admin key", async () => {
    expect(await failure(c().call(ApiKeyService, "listScopes", {}))).toMatchObject({ code: Code.Unauthenticated, reason: "ADMIN_KEY_MISSING" });
    expect(await failure(c().call(ApiKeyService, "listScopes", {}, "not-a-key"))).toMatchObject({ code: Code.Unauthenticated, reason: "ADMIN_KEY_INVALID" });
    const secret = await adminKey({});
    await c().call(ApiKeyService, "listScopes", {}, secret);
    const forged = secret.slice(0, 10) + (secret[10] === "a" ? "b" : "a") + secret.slice(11);
    expect(await failure(c().call(ApiKeyService, "listScopes", {}, forged))).toMatchObject({ code: Code.Unauthenticated });
    const list = await c().call(AdminKeyService, "listAdminKeys", {}, ADMIN_KEY);
    const id = list.adminKeys.find((k) => k.displayHint.endsWith(secret.slice(-4)))!.id;
    await c().call(AdminKeyService, "revokeAdminKey", { id }, ADMIN_KEY);
    expect(await failure(c().call(ApiKeyService, "listScopes", {}, secret))).toMatchObject({ code: Code.Unauthenticated, reason: "ADMIN_KEY_INVALID" });
  });

  it("lets a validate-only admin key validate and nothing else", async () => {
    const vo = await adminKey({ validateOnly: true });
    const { key, secret } = await createKey(c());
    expect((await validate(c(), secret, [], vo)).outcome).toBe(Outcome.VALID);
    for (const call of [
      () => c().call(ApiKeyService, "createApiKey", { orgId: newOrg(), name: "x" }, vo),
      () => c().call(ApiKeyService, "getApiKey", { id: key.id }, vo),
      () => c().call(ApiKeyService, "rotateApiKey", { id: key.id }, vo),
      () => c().call(ApiKeyService, "listApiKeys", {}, vo),
      () => c().call(AdminKeyService, "listAdminKeys", {}, vo),
    ]) {
      expect(await failure(call())).toMatchObject({ code: Code.PermissionDenied, reason: "PERMISSION_DENIED" });
    }
  });

  it("shows an org-limited admin key another org's key exactly as a missing one", async () => {
    const mine = newOrg();
    const limited = await adminKey({ orgId: mine });
    const { key: theirs, secret: theirSecret } = await createKey(c());
    const { key: own, secret: ownSecret } = await createKey(c(), { orgId: mine });
    const foreign = await failure(c().call(ApiKeyService, "getApiKey", { id: theirs.id }, limited));
    const missing = await failure(c().call(ApiKeyService, "getApiKey", { id: "key_doesnotexist00000000" }, limited));
    expect(foreign.code).toBe(Code.NotFound);
    // Same code, reason and message shape: only the id echoed back differs.
    expect(foreign.message.replace(theirs.id, "ID")).toBe(missing.message.replace("key_doesnotexist00000000", "ID"));
    expect(foreign.reason).toBe(missing.reason);
    expect(await validate(c(), theirSecret, [], limited)).toMatchObject({ valid: false, outcome: Outcome.NOT_FOUND });
    expect((await validate(c(), ownSecret, [], limited)).outcome).toBe(Outcome.VALID);
    expect((await c().call(ApiKeyService, "listApiKeys", { orgId: theirs.orgId }, limited)).apiKeys).toEqual([]);
    expect((await c().call(ApiKeyService, "listApiKeys", {}, limited)).apiKeys.map((k) => k.id)).toEqual([own.id]);
    expect(await failure(c().call(ApiKeyService, "revokeApiKey", { id: theirs.id }, limited))).toMatchObject({ code: Code.NotFound });
    expect(await failure(c().call(ApiKeyService, "createApiKey", { orgId: theirs.orgId, name: "x" }, limited))).toMatchObject({ code: Code.PermissionDenied });
    expect(await failure(c().call(ApiKeyService, "defineScope", { scope: { name: "x:y" } }, limited))).toMatchObject({ code: Code.PermissionDenied });
  });

  it("answers the no-op Ping without an admin key", async () => {
    const { PingService } = await import("../../gen/ts/flux/apikeys/v1/ping_service_pb.js");
    await expect(c().call(PingService, "ping", {})).resolves.toBeDefined();
  });
});
