// Credits and organisation policies through the SDK against a real server, over gRPC and Connect: create/update
// with credits, validate with cost (the balance on the answer, UsageExceededError with refusedBy), refill dates,
// and flux.organizations.getPolicy / updatePolicy with the shared limits refusing as "ORGANIZATION".
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError, RateLimitedError, UsageExceededError } from "../src/node.js";
import { newOrg, PROTOCOLS, rejection, type SdkServer, startSdkServer } from "./helpers.js";

let s: SdkServer;
beforeAll(async () => {
  s = await startSdkServer("credits");
});
afterAll(() => s?.stop());

describe.each(PROTOCOLS)("over %s", (protocol) => {
  const flux = () => s.flux(protocol);

  it("creates a metered key, spends its credits by cost and refuses with UsageExceededError refused by the key", async () => {
    const key = await flux().apiKeys.create({ orgId: newOrg(), name: "metered", credits: { remaining: 5, refill: { amount: 100, dayOfMonth: 1 } } });
    expect(key.credits).toMatchObject({ remaining: 5, refill: { amount: 100, dayOfMonth: 1 } });
    const info = await flux().apiKeys.validate(key.secret, { cost: 3 });
    expect(info.credits?.remaining).toBe(2);
    expect(info.credits?.nextRefillAt).toBeInstanceOf(Date);
    expect((await flux().apiKeys.check(key.secret, { cost: 0 })).credits?.remaining).toBe(2);
    const refused = await rejection(flux().apiKeys.validate(key.secret, { cost: 3 }));
    expect(refused).toBeInstanceOf(UsageExceededError);
    expect(refused).toMatchObject({ outcome: "USAGE_EXCEEDED", refusedBy: "KEY", credits: { remaining: 2 } });
    const checked = await flux().apiKeys.check(key.secret, { cost: 3 });
    expect(checked).toMatchObject({ valid: false, outcome: "USAGE_EXCEEDED", refusedBy: "KEY" });
    expect((await flux().apiKeys.get(key.id)).credits?.remaining).toBe(2);
    const usage = await flux().apiKeys.getUsage(key.id, { granularity: "HOUR" });
    expect(usage.outcomes.USAGE_EXCEEDED).toBe(2);
    expect(usage.series.reduce((n, b) => n + b.usageExceeded, 0)).toBe(2);
  });

  it("sets a new balance with update, and null makes the key unmetered", async () => {
    const key = await flux().apiKeys.create({ orgId: newOrg(), name: "metered", credits: { remaining: 1 } });
    await flux().apiKeys.validate(key.secret);
    const updated = await flux().apiKeys.update(key.id, { credits: { remaining: 10, refill: { amount: 10, intervalSeconds: 3600 } } });
    expect(updated.credits).toMatchObject({ remaining: 10, refill: { amount: 10, intervalSeconds: 3600 } });
    expect((await flux().apiKeys.validate(key.secret)).credits?.remaining).toBe(9);
    expect((await flux().apiKeys.update(key.id, { credits: null })).credits).toBeUndefined();
    expect((await flux().apiKeys.validate(key.secret, { cost: 1_000_000 })).credits).toBeUndefined();
    expect(await rejection(flux().apiKeys.validate(key.secret, { cost: 1_000_001 }))).toBeInstanceOf(InvalidArgumentError);
    expect(await rejection(flux().apiKeys.create({ orgId: newOrg(), name: "x", credits: { remaining: 1e15 + 1 } }))).toBeInstanceOf(InvalidArgumentError);
  });

  it("reads and changes the organisation's shared policy, whose limits refuse as ORGANIZATION", async () => {
    const orgId = newOrg();
    expect(await flux().organizations.getPolicy(orgId)).toEqual({ orgId, rateLimit: undefined, credits: undefined, updatedAt: undefined });
    const a = await flux().apiKeys.create({ orgId, name: "a" });
    const b = await flux().apiKeys.create({ orgId, name: "b" });
    const policy = await flux().organizations.updatePolicy(orgId, { credits: { remaining: 3 }, rateLimit: { requests: 100, windowSeconds: 60 } });
    expect(policy).toMatchObject({ orgId, credits: { remaining: 3 }, rateLimit: { requests: 100, windowSeconds: 60 } });
    expect(policy.updatedAt).toBeInstanceOf(Date);
    const info = await flux().apiKeys.validate(a.secret, { cost: 2 });
    expect(info.organization).toMatchObject({ credits: { remaining: 1 }, rateLimit: { limit: 100, remaining: 99 } });
    const refused = await rejection(flux().apiKeys.validate(b.secret, { cost: 2 }));
    expect(refused).toBeInstanceOf(UsageExceededError);
    expect(refused).toMatchObject({ refusedBy: "ORGANIZATION", credits: { remaining: 1 } });
    // One point of the 60 s window is spent (a's call; b's refused call was given back): 2 leaves room for one more.
    await flux().organizations.updatePolicy(orgId, { credits: null, rateLimit: { requests: 2, windowSeconds: 60 } });
    expect((await flux().organizations.getPolicy(orgId)).credits).toBeUndefined();
    await flux().apiKeys.validate(b.secret);
    const limited = await rejection(flux().apiKeys.validate(a.secret));
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect(limited).toMatchObject({ refusedBy: "ORGANIZATION", rateLimit: { limit: 2, remaining: 0 } });
    expect((limited as RateLimitedError).retryAfterMs).toBeGreaterThan(0);
  });
});
