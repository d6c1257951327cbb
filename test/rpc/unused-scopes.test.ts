// Unused-scope hints: GetApiKeyUsage lists the key's scopes no validation required in the last unused_scope_days
// (default 30) and, per scope, when one last did. Hints appear and disappear as validations require scopes, on a
// controllable clock; a scope the key lacks is never recorded; a refused address records nothing.
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { ManualClock } from "../../src/domain/clock.js";
import { createKey, defineScopes } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);

describe.each(STORE_KINDS)("on the %s store", (kind) => {
  let t: TestServer;
  const clock = new ManualClock(T0);
  beforeAll(async () => {
    t = await startTestServer(kind, "unused-scopes", { clock });
    await defineScopes(t.callers[0]!, "hint:read", "hint:write", "hint:admin");
  });
  afterAll(() => t?.stop());

  describe.each(["grpc", "connect"] as const)("over %s", (name) => {
    const c = () => t.callers.find((x) => x.name === name)!;
    const usage = (id: string, unusedScopeDays = 0) => c().call(ApiKeyService, "getApiKeyUsage", { id, unusedScopeDays }, ADMIN_KEY);
    const validate = (key: string, requiredScopes: string[], clientIp = "") => c().call(ApiKeyService, "validateApiKey", { key, requiredScopes, clientIp }, ADMIN_KEY);

    it("lists every scope as unused on a fresh key, with no last use", async () => {
      clock.set(T0);
      const { key } = await createKey(c(), { scopes: ["hint:read", "hint:write"] });
      const u = await usage(key.id);
      expect(u.unusedScopes).toEqual(["hint:read", "hint:write"]);
      expect(u.scopeUses.map((s) => [s.scope, s.lastRequiredAt])).toEqual([
        ["hint:read", undefined],
        ["hint:write", undefined],
      ]);
    });

    it("drops a scope from the hint once a validation requires it, and brings it back after the window", async () => {
      clock.set(T0);
      const { key, secret } = await createKey(c(), { scopes: ["hint:read", "hint:write", "hint:admin"] });
      await validate(secret, ["hint:read"]);
      const usedAt = clock.nowMs();
      let u = await usage(key.id);
      expect(u.unusedScopes).toEqual(["hint:write", "hint:admin"]);
      expect(timestampMs(u.scopeUses.find((s) => s.scope === "hint:read")!.lastRequiredAt!)).toBe(usedAt);

      clock.advance(30 * DAY); // exactly 30 days: still inside the default window
      expect((await usage(key.id)).unusedScopes).toEqual(["hint:write", "hint:admin"]);
      clock.advance(1);
      expect((await usage(key.id)).unusedScopes).toEqual(["hint:read", "hint:write", "hint:admin"]);
      expect((await usage(key.id, 31)).unusedScopes).toEqual(["hint:write", "hint:admin"]);

      await validate(secret, ["hint:read", "hint:write"]);
      u = await usage(key.id);
      expect(u.unusedScopes).toEqual(["hint:admin"]);
      expect(timestampMs(u.scopeUses.find((s) => s.scope === "hint:read")!.lastRequiredAt!)).toBe(clock.nowMs());
    });

    it("records the scopes the key carries when others were missing, and never the ones it lacks", async () => {
      clock.set(T0);
      const { key, secret } = await createKey(c(), { scopes: ["hint:read"] });
      const res = await validate(secret, ["hint:read", "hint:write"]);
      expect(res.missingScopes).toEqual(["hint:write"]);
      const u = await usage(key.id);
      expect(u.unusedScopes).toEqual([]);
      expect(u.scopeUses.map((s) => s.scope)).toEqual(["hint:read"]);
      const stored = await t.deps.stores.usage.scopeUses(key.id);
      expect([...stored.keys()]).toEqual(["hint:read"]);
    });

    it("does not count a validation refused before the scope check (disabled key, address outside the list)", async () => {
      clock.set(T0);
      const { key, secret } = await createKey(c(), { scopes: ["hint:read"] });
      await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, allowedCidrs: ["192.0.2.0/24"] }, updateMask: { paths: ["allowed_cidrs"] } }, ADMIN_KEY);
      await validate(secret, ["hint:read"], "198.51.100.1");
      await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, enabled: false }, updateMask: { paths: ["enabled"] } }, ADMIN_KEY);
      await validate(secret, ["hint:read"], "192.0.2.1");
      expect((await usage(key.id)).unusedScopes).toEqual(["hint:read"]);
    });

    it("removing the unused scopes with UpdateApiKey(scopes) leaves no hint", async () => {
      clock.set(T0);
      const { key, secret } = await createKey(c(), { scopes: ["hint:read", "hint:write"] });
      await validate(secret, ["hint:read"]);
      const { unusedScopes } = await usage(key.id);
      const keep = key.scopes.filter((s) => !unusedScopes.includes(s));
      await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, scopes: keep }, updateMask: { paths: ["scopes"] } }, ADMIN_KEY);
      const u = await usage(key.id);
      expect(u.unusedScopes).toEqual([]);
      expect(u.scopeUses.map((s) => s.scope)).toEqual(["hint:read"]);
    });
  });
});
