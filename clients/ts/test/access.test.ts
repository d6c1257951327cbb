// IP allowlists, unused-scope hints and organisation usage through the SDK against a real server, over gRPC and
// Connect: create/update with allowedCidrs, validate with clientIp (IP_NOT_ALLOWED as InvalidKeyError), getUsage's
// unusedScopes, and flux.organizations.getUsage.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError, InvalidKeyError } from "../src/node.js";
import { newOrg, PROTOCOLS, rejection, type SdkServer, startSdkServer } from "./helpers.js";

let s: SdkServer;
beforeAll(async () => {
  s = await startSdkServer("access", ["acc:read", "acc:write"]);
});
afterAll(() => s?.stop());

describe.each(PROTOCOLS)("over %s", (protocol) => {
  const flux = () => s.flux(protocol);

  it("takes allowed CIDRs on create and update, and validate refuses other addresses with IP_NOT_ALLOWED", async () => {
    const key = await flux().apiKeys.create({ orgId: newOrg(), name: "office only", allowedCidrs: ["203.0.113.0/24", "2001:db8::1"] });
    expect(key.allowedCidrs).toEqual(["203.0.113.0/24", "2001:db8::1/128"]);
    const info = await flux().apiKeys.validate(key.secret, { clientIp: "203.0.113.9" });
    expect(info.id).toBe(key.id);
    const refused = await rejection(flux().apiKeys.validate(key.secret, { clientIp: "198.51.100.1" }));
    expect(refused).toBeInstanceOf(InvalidKeyError);
    expect((refused as InvalidKeyError).outcome).toBe("IP_NOT_ALLOWED");
    expect((await flux().apiKeys.check(key.secret)).outcome).toBe("IP_NOT_ALLOWED");
    const updated = await flux().apiKeys.update(key.id, { allowedCidrs: [] });
    expect(updated.allowedCidrs).toEqual([]);
    expect((await flux().apiKeys.check(key.secret)).outcome).toBe("VALID");
    expect(await rejection(flux().apiKeys.update(key.id, { allowedCidrs: ["10.0.0.0/33"] }))).toBeInstanceOf(InvalidArgumentError);
    expect(await rejection(flux().apiKeys.validate(key.secret, { clientIp: "not-an-ip" }))).toBeInstanceOf(InvalidArgumentError);
  });

  it("lists the scopes no validation required as unusedScopes, with each scope's last use", async () => {
    const key = await flux().apiKeys.create({ orgId: newOrg(), name: "hinted", scopes: ["acc:read", "acc:write"] });
    await flux().apiKeys.validate(key.secret, { requiredScopes: ["acc:read"] });
    const usage = await flux().apiKeys.getUsage(key.id, { unusedScopeDays: 7 });
    expect(usage.unusedScopes).toEqual(["acc:write"]);
    expect(usage.scopeUses.find((u) => u.scope === "acc:read")!.lastRequiredAt).toBeInstanceOf(Date);
    expect(usage.scopeUses.find((u) => u.scope === "acc:write")!.lastRequiredAt).toBeUndefined();
  });

  it("rolls usage up per organisation with its top keys", async () => {
    const orgId = newOrg();
    const a = await flux().apiKeys.create({ orgId, name: "a", allowedCidrs: ["192.0.2.0/24"] });
    const b = await flux().apiKeys.create({ orgId, name: "b" });
    for (let i = 0; i < 3; i++) await flux().apiKeys.check(a.secret, { clientIp: "192.0.2.1" });
    await flux().apiKeys.check(a.secret, { clientIp: "198.51.100.1" });
    await flux().apiKeys.check(b.secret);
    const u = await flux().organizations.getUsage(orgId, { granularity: "HOUR", topKeys: 5 });
    expect(u).toMatchObject({ orgId, requests: 5, errors: 1, errorRate: 0.2, outcomes: { VALID: 4, IP_NOT_ALLOWED: 1 } });
    expect(u.topKeysByRequests.map((k) => [k.name, k.requests])).toEqual([["a", 4], ["b", 1]]);
    expect(u.series.at(-1)!.requests).toBe(5);
    expect(await rejection(flux().organizations.getUsage(orgId, { topKeys: 101 }))).toBeInstanceOf(InvalidArgumentError);
  });
});
