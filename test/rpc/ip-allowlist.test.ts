// IP allowlists on keys: ValidateApiKey's client_ip must fall in the key's allowed_cidrs (IPv4, IPv6, IPv4-mapped
// IPv6); a key with a list validated without an address is IP_NOT_ALLOWED; an empty list allows any address; a
// refused address spends no rate-limit budget; malformed CIDRs are refused at create and update with nothing written.
import { Code } from "@connectrpc/connect";
import { AuditService } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { failure } from "../support/callers.js";
import { newOrg } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

describe.each(STORE_KINDS)("on the %s store", (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, "ip-allowlist");
  });
  afterAll(() => t?.stop());

  describe.each(["grpc", "connect"] as const)("over %s", (name) => {
    const c = () => t.callers.find((x) => x.name === name)!;
    const create = async (allowedCidrs: string[], extra: Record<string, unknown> = {}) => {
      const res = await c().call(ApiKeyService, "createApiKey", { orgId: newOrg(), name: "allowlisted", allowedCidrs, ...extra }, ADMIN_KEY);
      return { key: res.apiKey!, secret: res.secret };
    };
    const check = async (secret: string, clientIp: string) => Outcome[(await c().call(ApiKeyService, "validateApiKey", { key: secret, clientIp }, ADMIN_KEY)).outcome];

    it("admits IPv4 addresses inside the list and refuses the rest with IP_NOT_ALLOWED", async () => {
      const { key, secret } = await create(["203.0.113.0/24", "198.51.100.7"]);
      expect(key.allowedCidrs).toEqual(["203.0.113.0/24", "198.51.100.7/32"]);
      expect(await check(secret, "203.0.113.1")).toBe("VALID");
      expect(await check(secret, "203.0.113.255")).toBe("VALID");
      expect(await check(secret, "198.51.100.7")).toBe("VALID");
      expect(await check(secret, "198.51.100.8")).toBe("IP_NOT_ALLOWED");
      expect(await check(secret, "203.0.114.1")).toBe("IP_NOT_ALLOWED");
    });

    it("admits IPv6 addresses inside the list, normalised, and refuses the rest", async () => {
      const { key, secret } = await create(["2001:DB8:0:0::1/32", "::1"]);
      expect(key.allowedCidrs).toEqual(["2001:db8::/32", "::1/128"]);
      expect(await check(secret, "2001:db8:ffff::42")).toBe("VALID");
      expect(await check(secret, "::1")).toBe("VALID");
      expect(await check(secret, "2001:db9::1")).toBe("IP_NOT_ALLOWED");
      expect(await check(secret, "203.0.113.1")).toBe("IP_NOT_ALLOWED");
    });

    it("matches IPv4-mapped IPv6 client addresses against IPv4 lists, and mapped networks as IPv4", async () => {
      const { secret } = await create(["10.0.0.0/8"]);
      expect(await check(secret, "::ffff:10.1.2.3")).toBe("VALID");
      expect(await check(secret, "::ffff:11.1.2.3")).toBe("IP_NOT_ALLOWED");
      const mapped = await create(["::ffff:192.0.2.0/120"]);
      expect(mapped.key.allowedCidrs).toEqual(["192.0.2.0/24"]);
      expect(await check(mapped.secret, "192.0.2.9")).toBe("VALID");
    });

    it("refuses a key with a list validated without client_ip, the same way", async () => {
      const { secret } = await create(["0.0.0.0/0", "::/0"]);
      expect(await check(secret, "")).toBe("IP_NOT_ALLOWED");
      expect(await check(secret, "192.0.2.1")).toBe("VALID");
    });

    it("lets any address (or none) use a key with an empty list", async () => {
      const { key, secret } = await create([]);
      expect(key.allowedCidrs).toEqual([]);
      expect(await check(secret, "")).toBe("VALID");
      expect(await check(secret, "192.0.2.1")).toBe("VALID");
      expect(await check(secret, "2001:db8::1")).toBe("VALID");
    });

    it("spends no rate-limit budget on a refused address, and decides the address before the scopes", async () => {
      const { secret } = await create(["192.0.2.0/24"], { rateLimit: { requests: 2, windowSeconds: 3600 } });
      for (let i = 0; i < 5; i++) expect(await check(secret, "198.51.100.1")).toBe("IP_NOT_ALLOWED");
      const scoped = await c().call(ApiKeyService, "validateApiKey", { key: secret, clientIp: "198.51.100.1", requiredScopes: ["nope:x"] }, ADMIN_KEY);
      expect(Outcome[scoped.outcome]).toBe("IP_NOT_ALLOWED");
      const ok = await c().call(ApiKeyService, "validateApiKey", { key: secret, clientIp: "192.0.2.5" }, ADMIN_KEY);
      expect(Outcome[ok.outcome]).toBe("VALID");
      expect(ok.rateLimit?.remaining).toBe(1);
    });

    it("answers a malformed client_ip with INVALID_ARGUMENT, whether or not the key has a list", async () => {
      const listed = await create(["192.0.2.0/24"]);
      const open = await create([]);
      for (const secret of [listed.secret, open.secret]) {
        for (const bad of ["192.0.2", "192.0.2.1/32", "fe80::1%eth0", " 192.0.2.1", "example.com"]) {
          const err = await failure(c().call(ApiKeyService, "validateApiKey", { key: secret, clientIp: bad }, ADMIN_KEY));
          expect(err.code, bad).toBe(Code.InvalidArgument);
          expect(err.metadata.field).toBe("client_ip");
        }
      }
    });

    it("takes effect on update at once, and an empty list on update removes the restriction", async () => {
      const { key, secret } = await create([]);
      expect(await check(secret, "198.51.100.1")).toBe("VALID");
      const up = await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, allowedCidrs: ["192.0.2.0/24"] }, updateMask: { paths: ["allowed_cidrs"] } }, ADMIN_KEY);
      expect(up.apiKey!.allowedCidrs).toEqual(["192.0.2.0/24"]);
      expect(await check(secret, "198.51.100.1")).toBe("IP_NOT_ALLOWED");
      await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, allowedCidrs: [] }, updateMask: { paths: ["allowed_cidrs"] } }, ADMIN_KEY);
      expect(await check(secret, "198.51.100.1")).toBe("VALID");
      // Each change is audited with its mask and the list before and after.
      const events = (await c().call(AuditService, "listAuditEvents", { targetId: key.id }, ADMIN_KEY)).events.filter((e) => e.updateMask.includes("allowed_cidrs"));
      expect(events.map((e) => [e.before?.allowed_cidrs ?? null, e.after?.allowed_cidrs ?? null])).toEqual([
        [["192.0.2.0/24"], null],
        [null, ["192.0.2.0/24"]],
      ]);
    });

    it("refuses malformed CIDRs at create, naming at most five, with nothing written", async () => {
      const orgId = newOrg();
      const bad = ["10.0.0.0/33", "::/129", "300.1.1.1", "10.0.0.0/-1", "10.0.0.0/8/8", "zz::1", "1.2.3.4/ 8"];
      const err = await failure(c().call(ApiKeyService, "createApiKey", { orgId, name: "bad", allowedCidrs: ["192.0.2.0/24", ...bad] }, ADMIN_KEY));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.metadata.field).toBe("allowed_cidrs");
      expect(err.message).toContain('"10.0.0.0/33"');
      expect(err.message).toContain("and 2 more");
      expect(err.message).not.toContain("1.2.3.4/ 8");
      const listed = await c().call(ApiKeyService, "listApiKeys", { orgId, includeRevoked: true }, ADMIN_KEY);
      expect(listed.apiKeys).toEqual([]);
    });

    it("refuses malformed CIDRs at update, leaving the key as it was", async () => {
      const { key, secret } = await create(["192.0.2.0/24"]);
      const err = await failure(
        c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, name: "renamed", allowedCidrs: ["192.0.2.0/24", "not-a-cidr"] }, updateMask: { paths: ["name", "allowed_cidrs"] } }, ADMIN_KEY),
      );
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.message).toContain('"not-a-cidr"');
      const after = (await c().call(ApiKeyService, "getApiKey", { id: key.id }, ADMIN_KEY)).apiKey!;
      expect(after).toEqual(key);
      expect(await check(secret, "192.0.2.1")).toBe("VALID");
    });

    it("counts IP_NOT_ALLOWED in the key's usage and in /metrics", async () => {
      const { key, secret } = await create(["192.0.2.0/24"]);
      await check(secret, "198.51.100.1");
      await check(secret, "");
      await check(secret, "192.0.2.1");
      const u = await c().call(ApiKeyService, "getApiKeyUsage", { id: key.id }, ADMIN_KEY);
      expect(u.outcomes.map((o) => [Outcome[o.outcome], Number(o.count)])).toEqual([
        ["VALID", 1],
        ["IP_NOT_ALLOWED", 2],
      ]);
      expect(Number(u.series.at(-1)!.otherErrors)).toBe(2);
      const metrics = await (await fetch(`http://127.0.0.1:${t.server.httpPort}/metrics`)).text();
      expect(metrics).toMatch(/outcome="IP_NOT_ALLOWED"\} [1-9]/);
    });
  });
});
