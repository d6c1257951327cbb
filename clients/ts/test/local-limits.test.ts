// The local validator's rate limits and credits against a live server, over gRPC and Connect: it admits exactly
// the limit from leases, refuses with the network's error classes (RateLimitedError, UsageExceededError) and
// states, and what it did not spend goes back to the key when it closes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Flux, RateLimitedError, UsageExceededError } from "../src/node.js";
import { PROTOCOLS, rejection, startSdkServer, type SdkServer } from "./helpers.js";

describe.each(PROTOCOLS)("local validator limits over %s", (protocol) => {
  let s: SdkServer;
  let admin: Flux;
  let validator: Flux;

  beforeAll(async () => {
    s = await startSdkServer(`local-limits-${protocol}`);
    admin = s.flux(protocol);
    validator = s.flux(protocol, (await admin.raw.adminKeys.createAdminKey({ name: "v", localValidation: true, validateOnly: true })).secret);
  });
  afterAll(() => s?.stop());

  it("admits at most the rate limit from leases, refusing with RateLimitedError like the network, and exactly it after close", async () => {
    const key = await admin.apiKeys.create({ orgId: "o", name: "limited", rateLimit: { requests: 30, windowSeconds: 3600 } });
    const v = await validator.apiKeys.localValidator();
    try {
      let valid = 0;
      let last: RateLimitedError | undefined;
      for (let i = 0; i < 40; i++) {
        try {
          const info = await v.validate(key.secret);
          expect(info.rateLimit).toMatchObject({ limit: 30, retryAfterMs: 0 });
          expect(info.rateLimit!.resetAt).toBeInstanceOf(Date);
          valid++;
        } catch (err) {
          expect(err).toBeInstanceOf(RateLimitedError);
          last = err as RateLimitedError;
        }
      }
      expect(valid).toBeLessThanOrEqual(30);
      expect(valid).toBeGreaterThan(20);
      expect(last!.retryAfterMs).toBeGreaterThan(0);
      expect(last!.rateLimit).toMatchObject({ limit: 30, remaining: 0 });
      expect(v.stats().networkAnswers).toBe(0);
      await v.close();
      // Points it leased and did not use (the only slack: under-admission) went back to the window.
      let more = 0;
      while ((await admin.apiKeys.check(key.secret)).valid) more++;
      expect(valid + more).toBe(30);
    } finally {
      await v.close();
    }
  });

  it("spends credits from leases, refuses a cost it cannot pay with UsageExceededError, and returns the rest on close", async () => {
    const key = await admin.apiKeys.create({ orgId: "o", name: "metered", credits: { remaining: 10 } });
    const v = await validator.apiKeys.localValidator();
    let spent = 0;
    try {
      for (let i = 0; i < 3; i++) {
        expect((await v.validate(key.secret, { cost: 3 })).credits!.remaining).toBeGreaterThanOrEqual(0);
        spent += 3;
      }
      const err = await rejection(v.validate(key.secret, { cost: 3 }));
      expect(err).toBeInstanceOf(UsageExceededError);
      expect((err as UsageExceededError).credits?.remaining).toBe(1);
      expect((err as UsageExceededError).refusedBy).toBe("KEY");
      expect(v.stats().networkAnswers).toBe(0);
    } finally {
      await v.close();
    }
    // The credit the validator held went back to the key's balance.
    let more = 0;
    while ((await admin.apiKeys.check(key.secret, { cost: 1 })).valid) more++;
    expect(spent + more).toBe(10);
  });

  it("closes cleanly with a lease asked ahead still in flight (it is returned with the rest)", async () => {
    const key = await admin.apiKeys.create({ orgId: "o", name: "busy", rateLimit: { requests: 1_000_000_000, windowSeconds: 3600 } });
    const v = await validator.apiKeys.localValidator();
    // A grant is 10,000 points; once half is spent the next is asked ahead: close right after that.
    for (let i = 0; i < 5_001; i++) await v.validate(key.secret);
    expect(v.stats().networkAnswers).toBe(0);
    await v.close();
    expect(v.state).toBe("closed");
  });
});
