// Create, get, list, update, rotate and revoke through both transports, and the error code of every bad request.
import { Code } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyState } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { failure } from "../support/callers.js";
import { createKey, defineScopes, newOrg, validate } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer("mongodb", "key-lifecycle");
  await defineScopes(t.callers[0]!, "data:read", "data:write", "webhooks:write");
});
afterAll(() => t?.stop());

describe.each(["grpc", "connect"] as const)("over %s", (name) => {
  const c = () => t.callers.find((x) => x.name === name)!;

  it("returns the secret once, and never in GetApiKey or ListApiKeys", async () => {
    const orgId = newOrg();
    const { key, secret } = await createKey(c(), { orgId, scopes: ["data:read"], rateLimit: { requests: 10, windowSeconds: 60 } });
    expect(secret).toMatch(/^flux_[0-9A-Za-z]{36}$/);
    expect(key).toMatchObject({ orgId, enabled: true, state: KeyState.ACTIVE, rateLimit: { requests: 10, windowSeconds: 60 } });
    expect(key.displayHint).toBe(`flux_…${secret.slice(-4)}`);
    const got = await c().call(ApiKeyService, "getApiKey", { id: key.id }, ADMIN_KEY);
    const listed = await c().call(ApiKeyService, "listApiKeys", { orgId }, ADMIN_KEY);
    expect(JSON.stringify([got, listed], (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain(secret.slice(5));
  });

  it("rejects unknown scopes with INVALID_ARGUMENT naming each one", async () => {
    const err = await failure(createKey(c(), { scopes: ["data:read", "nope:one", "nope:two"] }));
    expect(err).toMatchObject({ code: Code.InvalidArgument, reason: "UNKNOWN_SCOPE" });
    expect(err.metadata.scopes).toBe("nope:one,nope:two");
    expect(err.message).toContain("nope:one");
  });

  it.each([
    ["an empty org_id", { orgId: "" }],
    ["an empty name", { name: " " }],
    ["a zero-request rate limit", { rateLimit: { requests: 0, windowSeconds: 60 } }],
    ["an expiry in the past", { expiresAt: timestampFromMs(Date.now() - 86_400_000) }],
  ])("rejects %s with INVALID_ARGUMENT", async (_label, patch) => {
    const err = await failure(c().call(ApiKeyService, "createApiKey", { orgId: newOrg(), name: "k", ...patch }, ADMIN_KEY));
    expect(err).toMatchObject({ code: Code.InvalidArgument, reason: "INVALID_ARGUMENT" });
  });

  it("rejects the old secret as soon as RotateApiKey returns, keeping id, scopes, limits and metadata", async () => {
    const { key, secret } = await createKey(c(), { scopes: ["data:read"], rateLimit: { requests: 100, windowSeconds: 60 }, metadata: { a: "b" } });
    const rotated = await c().call(ApiKeyService, "rotateApiKey", { id: key.id }, ADMIN_KEY);
    expect(rotated.secret).not.toBe(secret);
    expect(rotated.apiKey).toMatchObject({ id: key.id, name: key.name, orgId: key.orgId, scopes: key.scopes, rateLimit: key.rateLimit, metadata: { a: "b" } });
    expect((await validate(c(), secret)).outcome).toBe(Outcome.NOT_FOUND);
    expect((await validate(c(), rotated.secret)).outcome).toBe(Outcome.VALID);
  });

  it("keeps the old secret valid for the grace period only", async () => {
    const { key, secret } = await createKey(c());
    const rotated = await c().call(ApiKeyService, "rotateApiKey", { id: key.id, gracePeriodSeconds: 30 }, ADMIN_KEY);
    expect((await validate(c(), secret)).outcome).toBe(Outcome.VALID);
    expect((await validate(c(), rotated.secret)).outcome).toBe(Outcome.VALID);
    t.clock.advance(30_001);
    expect((await validate(c(), secret)).outcome).toBe(Outcome.NOT_FOUND);
    expect((await validate(c(), rotated.secret)).outcome).toBe(Outcome.VALID);
  });

  it("updates only the fields named in the mask", async () => {
    const { key } = await createKey(c(), { scopes: ["data:read"], metadata: { keep: "me" } });
    const res = await c().call(
      ApiKeyService,
      "updateApiKey",
      { apiKey: { id: key.id, name: "renamed", scopes: ["data:write"], metadata: { ignored: "x" } }, updateMask: { paths: ["name", "scopes"] } },
      ADMIN_KEY,
    );
    expect(res.apiKey).toMatchObject({ name: "renamed", scopes: ["data:write"], metadata: { keep: "me" } });
    const cleared = await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id }, updateMask: { paths: ["rate_limit", "expires_at"] } }, ADMIN_KEY);
    expect(cleared.apiKey!.rateLimit).toBeUndefined();
    const bad = await failure(c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id }, updateMask: { paths: ["org_id"] } }, ADMIN_KEY));
    expect(bad).toMatchObject({ code: Code.InvalidArgument });
    expect(bad.message).toContain("org_id");
  });

  it("refuses to change a revoked key with FAILED_PRECONDITION, and revoking twice is harmless", async () => {
    const { key } = await createKey(c());
    const revoked = await c().call(ApiKeyService, "revokeApiKey", { id: key.id }, ADMIN_KEY);
    expect(revoked.apiKey!.state).toBe(KeyState.REVOKED);
    await c().call(ApiKeyService, "revokeApiKey", { id: key.id }, ADMIN_KEY);
    const err = await failure(c().call(ApiKeyService, "rotateApiKey", { id: key.id }, ADMIN_KEY));
    expect(err).toMatchObject({ code: Code.FailedPrecondition, reason: "KEY_REVOKED" });
  });

  it("answers NOT_FOUND for unknown ids and INVALID_ARGUMENT for empty ones", async () => {
    expect(await failure(c().call(ApiKeyService, "getApiKey", { id: "key_missing" }, ADMIN_KEY))).toMatchObject({ code: Code.NotFound, reason: "KEY_NOT_FOUND" });
    expect(await failure(c().call(ApiKeyService, "revokeApiKey", { id: "key_missing" }, ADMIN_KEY))).toMatchObject({ code: Code.NotFound });
    expect(await failure(c().call(ApiKeyService, "getApiKey", { id: "" }, ADMIN_KEY))).toMatchObject({ code: Code.InvalidArgument });
  });

  it("lists an org's keys newest first in pages, hiding revoked ones unless asked", async () => {
    const orgId = newOrg();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await createKey(c(), { orgId })).key.id);
      t.clock.advance(1);
    }
    await c().call(ApiKeyService, "revokeApiKey", { id: ids[0]! }, ADMIN_KEY);
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await c().call(ApiKeyService, "listApiKeys", { orgId, pageSize: 2, pageToken }, ADMIN_KEY);
      expect(page.apiKeys.length).toBeLessThanOrEqual(2);
      seen.push(...page.apiKeys.map((k) => k.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual(ids.slice(1).reverse());
    const all = await c().call(ApiKeyService, "listApiKeys", { orgId, includeRevoked: true }, ADMIN_KEY);
    expect(all.apiKeys.map((k) => k.id)).toEqual([...ids].reverse());
    expect(await failure(c().call(ApiKeyService, "listApiKeys", { orgId, pageToken: "garbage" }, ADMIN_KEY))).toMatchObject({ code: Code.InvalidArgument });
  });

  it("defines, lists and deletes scopes, refusing to delete one a live key carries", async () => {
    const scope = `tmp:${name}:${Date.now()}`;
    await defineScopes(c(), scope);
    const listed = await c().call(ApiKeyService, "listScopes", {}, ADMIN_KEY);
    expect(listed.scopes.map((s) => s.name)).toContain(scope);
    const { key } = await createKey(c(), { scopes: [scope] });
    expect(await failure(c().call(ApiKeyService, "deleteScope", { name: scope }, ADMIN_KEY))).toMatchObject({ code: Code.FailedPrecondition, reason: "SCOPE_IN_USE" });
    await c().call(ApiKeyService, "revokeApiKey", { id: key.id }, ADMIN_KEY);
    await c().call(ApiKeyService, "deleteScope", { name: scope }, ADMIN_KEY);
    expect(await failure(c().call(ApiKeyService, "deleteScope", { name: scope }, ADMIN_KEY))).toMatchObject({ code: Code.NotFound, reason: "SCOPE_NOT_FOUND" });
  });
});
