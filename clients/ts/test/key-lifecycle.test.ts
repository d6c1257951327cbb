// The product page's flow through the SDK against a real server, over gRPC and over Connect: create → validate →
// hasScope → rotate → rate limit → usage, then update, get, list, revoke and scopes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ApiKey,
  CreatedApiKey,
  FailedPreconditionError,
  InsufficientScopeError,
  InvalidKeyError,
  KeyInfo,
  NotFoundError,
  RateLimitedError,
  RotatedApiKey,
} from "../src/node.js";
import { newOrg, PROTOCOLS, rejection, type SdkServer, startSdkServer } from "./helpers.js";

let s: SdkServer;
beforeAll(async () => {
  s = await startSdkServer("lifecycle", ["data:read", "data:write", "webhooks:write"]);
});
afterAll(() => s?.stop());

describe.each(PROTOCOLS)("over %s", (protocol) => {
  const flux = () => s.flux(protocol);

  it("returns the secret once on create, with Dates for timestamps and the key's settings", async () => {
    const orgId = newOrg();
    const expiresAt = new Date(s.t.clock.nowMs() + 86_400_000);
    const key = await flux().apiKeys.create({
      orgId,
      name: "CI pipeline",
      scopes: ["data:read", "webhooks:write"],
      rateLimit: { requests: 1000, windowSeconds: 60 },
      expiresAt,
      metadata: { team: "ci" },
    });
    expect(key).toBeInstanceOf(CreatedApiKey);
    expect(key.secret).toMatch(/^flux_[0-9A-Za-z]{28,}$/);
    expect(key).toMatchObject({ orgId, name: "CI pipeline", enabled: true, state: "ACTIVE", metadata: { team: "ci" } });
    expect(key.rateLimit).toEqual({ requests: 1000, windowSeconds: 60 });
    expect(key.expiresAt).toEqual(expiresAt);
    expect(key.createdAt).toBeInstanceOf(Date);
    expect(key.displayHint.endsWith(key.secret.slice(-4))).toBe(true);
    expect(key.hasScope("webhooks:write")).toBe(true);
    const got = await flux().apiKeys.get(key.id);
    expect(got).toBeInstanceOf(ApiKey);
    expect(JSON.stringify(got)).not.toContain(key.secret.slice(5));
  });

  it("validates a fresh key to key info whose hasScope answers from the key's scopes", async () => {
    const key = await flux().apiKeys.create({ orgId: newOrg(), name: "k", scopes: ["data:read"], expiresAt: null });
    const info = await flux().apiKeys.validate(key.secret);
    expect(info).toBeInstanceOf(KeyInfo);
    expect(info).toMatchObject({ id: key.id, orgId: key.orgId, name: "k", scopes: ["data:read"], expiresAt: undefined });
    expect(info.hasScope("data:read")).toBe(true);
    expect(info.hasScope("webhooks:write")).toBe(false);
    expect(info.rateLimit).toBeUndefined();
  });

  it("rejects the old secret with InvalidKeyError NOT_FOUND as soon as rotate resolves, and accepts the new one", async () => {
    const key = await flux().apiKeys.create({ orgId: newOrg(), name: "k", scopes: ["data:read"], metadata: { a: "b" } });
    const rotated = await flux().apiKeys.rotate(key.id);
    expect(rotated.secret).not.toBe(key.secret);
    expect(rotated).toMatchObject({ id: key.id, name: key.name, orgId: key.orgId, scopes: key.scopes, metadata: { a: "b" } });
    expect(rotated.rotatedAt).toBeInstanceOf(Date);
    const err = await rejection(flux().apiKeys.validate(key.secret));
    expect(err).toBeInstanceOf(InvalidKeyError);
    expect(err).toMatchObject({ outcome: "NOT_FOUND", reason: "NOT_FOUND", code: undefined });
    expect((await flux().apiKeys.validate(rotated.secret)).id).toBe(key.id);
  });

  it("says from rotate how many replicas had not confirmed it: unconfirmedReplicas 0 on a single server", async () => {
    const key = await flux().apiKeys.create({ orgId: newOrg(), name: "k" });
    const rotated = await flux().apiKeys.rotate(key.id);
    expect(rotated).toBeInstanceOf(RotatedApiKey);
    expect(rotated).toBeInstanceOf(CreatedApiKey);
    expect(rotated.unconfirmedReplicas).toBe(0);
  });

  it("keeps the old secret working for the grace period asked for", async () => {
    const key = await flux().apiKeys.create({ orgId: newOrg(), name: "k" });
    const rotated = await flux().apiKeys.rotate(key.id, { gracePeriodSeconds: 60 });
    expect((await flux().apiKeys.validate(key.secret)).id).toBe(key.id);
    expect((await flux().apiKeys.validate(rotated.secret)).id).toBe(key.id);
  });

  it("rejects with RateLimitedError (retryAfterMs > 0, resetAt) once the limit is reached, then counts it in getUsage", async () => {
    const key = await flux().apiKeys.create({ orgId: newOrg(), name: "k", rateLimit: { requests: 2, windowSeconds: 60 } });
    const first = await flux().apiKeys.validate(key.secret);
    expect(first.rateLimit).toMatchObject({ limit: 2, remaining: 1, retryAfterMs: 0 });
    await flux().apiKeys.validate(key.secret);
    const err = await rejection(flux().apiKeys.validate(key.secret));
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err).toBeInstanceOf(InvalidKeyError);
    const limited = err as RateLimitedError;
    expect(limited.outcome).toBe("RATE_LIMITED");
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    expect(limited.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(limited.resetAt).toBeInstanceOf(Date);
    expect(limited.resetAt!.getTime()).toBeGreaterThan(s.t.clock.nowMs());
    expect(limited.keyInfo?.id).toBe(key.id);

    const usage = await flux().apiKeys.getUsage(key.id);
    expect(usage).toMatchObject({ id: key.id, requestsCurrentPeriod: 3, errorsCurrentPeriod: 1, outcomes: { VALID: 2, RATE_LIMITED: 1 } });
    expect(typeof usage.requestsCurrentPeriod).toBe("number");
    expect(usage.errorRate).toBeCloseTo(1 / 3, 5);
    expect(usage.lastUsedAt).toBeInstanceOf(Date);
    expect(usage.periodStart).toBeInstanceOf(Date);
    const total = usage.series.reduce((n, b) => n + b.requests, 0);
    expect(total).toBe(3);
    const hourly = await flux().apiKeys.getUsage(key.id, { granularity: "HOUR" });
    expect(hourly.series.reduce((n, b) => n + b.rateLimited, 0)).toBe(1);
  });

  it("check() answers the outcome instead of rejecting", async () => {
    const key = await flux().apiKeys.create({ orgId: newOrg(), name: "k", scopes: ["data:read"] });
    expect(await flux().apiKeys.check(key.secret)).toMatchObject({ valid: true, outcome: "VALID", missingScopes: [] });
    const res = await flux().apiKeys.check(key.secret, { requiredScopes: ["data:read", "data:write"] });
    expect(res).toMatchObject({ valid: false, outcome: "INSUFFICIENT_SCOPE", missingScopes: ["data:write"] });
    expect(res.key?.id).toBe(key.id);
  });

  it("rejects a key lacking required scopes with InsufficientScopeError naming them", async () => {
    const key = await flux().apiKeys.create({ orgId: newOrg(), name: "k", scopes: ["data:read"] });
    expect((await flux().apiKeys.validate(key.secret, { requiredScopes: ["data:read"] })).id).toBe(key.id);
    const err = await rejection(flux().apiKeys.validate(key.secret, { requiredScopes: ["data:write", "webhooks:write"] }));
    expect(err).toBeInstanceOf(InsufficientScopeError);
    expect(err).toMatchObject({ outcome: "INSUFFICIENT_SCOPE", missingScopes: ["data:write", "webhooks:write"] });
  });

  it("updates only the fields given, clears with null, and disabling makes validate reject DISABLED", async () => {
    const key = await flux().apiKeys.create({ orgId: newOrg(), name: "k", scopes: ["data:read"], rateLimit: { requests: 5, windowSeconds: 60 }, metadata: { keep: "me" } });
    const renamed = await flux().apiKeys.update(key.id, { name: "renamed", scopes: ["data:write"] });
    expect(renamed).toMatchObject({ name: "renamed", scopes: ["data:write"], metadata: { keep: "me" }, rateLimit: { requests: 5, windowSeconds: 60 } });
    const cleared = await flux().apiKeys.update(key.id, { rateLimit: null, enabled: false });
    expect(cleared).toMatchObject({ rateLimit: undefined, enabled: false, state: "DISABLED" });
    expect(await rejection(flux().apiKeys.validate(key.secret))).toMatchObject({ outcome: "DISABLED" });
    await flux().apiKeys.update(key.id, { enabled: true });
    expect((await flux().apiKeys.validate(key.secret)).name).toBe("renamed");
  });

  it("lists an organisation's keys newest first, page by page, and hides revoked ones unless asked", async () => {
    const orgId = newOrg();
    // The server's clock is manual: move it so creation times differ.
    const created = async (name: string) => {
      s.t.clock.advance(1000);
      return flux().apiKeys.create({ orgId, name });
    };
    const a = await created("a");
    const b = await created("b");
    const c = await created("c");
    const page = await flux().apiKeys.list({ orgId, pageSize: 2 });
    expect(page.apiKeys.map((k) => k.name)).toEqual(["c", "b"]);
    expect(page.nextPageToken).not.toBe("");
    const all: string[] = [];
    for await (const k of flux().apiKeys.listAll({ orgId, pageSize: 1 })) all.push(k.id);
    expect(all).toEqual([c.id, b.id, a.id]);

    const revoked = await flux().apiKeys.revoke(b.id);
    expect(revoked).toMatchObject({ id: b.id, state: "REVOKED" });
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    expect((await flux().apiKeys.list({ orgId })).apiKeys.map((k) => k.id)).toEqual([c.id, a.id]);
    expect((await flux().apiKeys.list({ orgId, includeRevoked: true })).apiKeys).toHaveLength(3);
    expect(await rejection(flux().apiKeys.validate(b.secret))).toMatchObject({ outcome: "REVOKED", keyInfo: { id: b.id } });
  });

  it("defines, lists and deletes scopes; a scope a live key carries cannot be deleted", async () => {
    const name = `reports:${protocol}`;
    const scope = await flux().apiKeys.defineScope(name, "Read reports");
    expect(scope).toMatchObject({ name, description: "Read reports" });
    expect(scope.createdAt).toBeInstanceOf(Date);
    expect((await flux().apiKeys.listScopes()).map((x) => x.name)).toContain(name);
    const key = await flux().apiKeys.create({ orgId: newOrg(), name: "k", scopes: [name] });
    expect(await rejection(flux().apiKeys.deleteScope(name))).toBeInstanceOf(FailedPreconditionError);
    await flux().apiKeys.revoke(key.id);
    await flux().apiKeys.deleteScope(name);
    expect((await flux().apiKeys.listScopes()).map((x) => x.name)).not.toContain(name);
    expect(await rejection(flux().apiKeys.deleteScope(name))).toMatchObject({ reason: "SCOPE_NOT_FOUND" });
  });

  it("reaches the generated client through flux.raw, authorised and with the same typed errors", async () => {
    const key = await flux().apiKeys.create({ orgId: newOrg(), name: "raw" });
    const res = await flux().raw.apiKeys.getApiKey({ id: key.id });
    expect(res.apiKey?.name).toBe("raw");
    const err = await rejection(flux().raw.apiKeys.getApiKey({ id: "key_does_not_exist" }));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({ reason: "KEY_NOT_FOUND" });
    await flux().ping();
  });
});
