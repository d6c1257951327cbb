// FLUX_WORKERS=2 on one embedded data directory: the replica rules over SQLite. Each worker runs on ports of its own
// (the primary's code path for a worker, see test/support/worker-processes.ts), so every call is aimed at one worker:
// limits and balances are global, a change made through one worker holds on the other when the RPC returns (also
// while the other one is SIGKILLed), usage is counted once, the audit log is complete, webhooks arrive once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { AuditAction, AuditService } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { WebhookService } from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";
import { EVENT_OF_ACTION } from "../../src/domain/webhooks.js";
import { type Caller, retryUnavailable } from "../support/callers.js";
import { startReceiver, type Receiver } from "../support/webhook-receiver.js";
import { type AimedWorkers, startAimed } from "../support/worker-processes.js";

let pool: AimedWorkers;
let rx: Receiver;
let org = 0;
const newOrg = () => `wk${process.pid}-${++org}`;
/** Worker i's gRPC (0) or Connect (1) caller. */
const on = (i: number, t = 0): Caller => pool.workers[i]!.callers[t]!;
const validate = (i: number, key: string, t = 0, extra: Record<string, unknown> = {}) =>
  retryUnavailable(() => on(i, t).call(ApiKeyService, "validateApiKey", { key, ...extra }, pool.admin));

beforeAll(async () => {
  pool = await startAimed(2, { FLUX_WEBHOOK_ALLOW_PRIVATE: "true", FLUX_WEBHOOK_RETRY_SCHEDULE_MS: "50,50,50,50,50", FLUX_USAGE_FLUSH_MS: "200" });
  rx = await startReceiver();
}, 60_000);
afterAll(async () => {
  await rx?.close();
  await pool?.stop();
});

describe("two workers on one embedded store", () => {
  // L = 20 leases one point at a time (exact); L = 60 leases chunks of 3 (at most L, under-admitting at most 2).
  it.each([20, 60])("admit at most L = %i of 2 × 10·L concurrent validations over both workers and transports", { timeout: 60_000 }, async (L) => {
    const { secret } = await on(0).call(ApiKeyService, "createApiKey", { orgId: newOrg(), name: `limit ${L}`, rateLimit: { requests: L, windowSeconds: 600 } }, pool.admin);
    const calls = [0, 1].flatMap((w) => Array.from({ length: 10 * L }, (_, i) => validate(w, secret, i % 2)));
    const outcomes = (await Promise.all(calls)).map((r) => r.outcome);
    const admitted = outcomes.filter((o) => o === Outcome.VALID).length;
    console.log(`[workers] rate limit L=${L}: admitted ${admitted} of ${outcomes.length} on 2 workers`);
    expect(admitted).toBeLessThanOrEqual(L);
    expect(admitted).toBeGreaterThanOrEqual(L - 2);
    if (L === 20) expect(admitted).toBe(L);
    expect(outcomes.filter((o) => o !== Outcome.VALID && o !== Outcome.RATE_LIMITED)).toEqual([]);
  });

  it("never spend more credits than the balance (R = 30, 3·R concurrent calls over both workers)", { timeout: 60_000 }, async () => {
    const R = 30;
    const { secret } = await on(1).call(ApiKeyService, "createApiKey", { orgId: newOrg(), name: "metered", credits: { remaining: BigInt(R) } }, pool.admin);
    const calls = [0, 1].flatMap((w) => Array.from({ length: (3 * R) / 2 }, (_, i) => validate(w, secret, i % 2)));
    const outcomes = (await Promise.all(calls)).map((r) => r.outcome);
    const admitted = outcomes.filter((o) => o === Outcome.VALID).length;
    console.log(`[workers] credits R=${R}: admitted ${admitted} of ${outcomes.length} on 2 workers`);
    expect(admitted).toBe(R); // chunks of 1 credit: exact
    expect(outcomes.filter((o) => o !== Outcome.VALID && o !== Outcome.USAGE_EXCEEDED)).toEqual([]);
  });

  it("see a revocation, a rotation and a disable made through one worker on the other before the RPC returns", async () => {
    const orgId = newOrg();
    const make = async () => (await on(0).call(ApiKeyService, "createApiKey", { orgId, name: "cached" }, pool.admin));
    const [a, b, c] = [await make(), await make(), await make()];
    // Cached on both workers first, so only an invalidation can make them answer differently.
    for (const k of [a, b, c]) for (const w of [0, 1]) expect((await validate(w, k.secret)).outcome).toBe(Outcome.VALID);
    await on(0).call(ApiKeyService, "revokeApiKey", { id: a.apiKey!.id }, pool.admin);
    expect((await validate(1, a.secret)).outcome).toBe(Outcome.REVOKED);
    const rotated = await on(1, 1).call(ApiKeyService, "rotateApiKey", { id: b.apiKey!.id }, pool.admin);
    expect((await validate(0, b.secret)).valid).toBe(false);
    expect((await validate(0, rotated.secret)).outcome).toBe(Outcome.VALID);
    await on(0, 1).call(ApiKeyService, "updateApiKey", { apiKey: { id: c.apiKey!.id, enabled: false }, updateMask: { paths: ["enabled"] } }, pool.admin);
    expect((await validate(1, c.secret)).outcome).toBe(Outcome.DISABLED);
  });

  it("count usage exactly once over both workers, and keep an audit event for every change made through either", { timeout: 60_000 }, async () => {
    const orgId = newOrg();
    const k = await on(0).call(ApiKeyService, "createApiKey", { orgId, name: "counted" }, pool.admin);
    const id = k.apiKey!.id;
    let changes = 1;
    await Promise.all(
      [0, 1].map(async (w) => {
        for (let i = 0; i < 25; i++) await validate(w, k.secret, i % 2);
        for (let i = 0; i < 6; i++) {
          await on(w, i % 2).call(ApiKeyService, "updateApiKey", { apiKey: { id, name: `w${w} n${i}` }, updateMask: { paths: ["name"] } }, pool.admin).then(
            () => changes++,
            () => {}, // a concurrent change through the other worker won this round: it leaves no event
          );
        }
      }),
    );
    // GetApiKeyUsage flushes the worker it reaches; the other's counts are written within FLUX_USAGE_FLUSH_MS.
    await expect.poll(async () => (await on(1).call(ApiKeyService, "getApiKeyUsage", { id }, pool.admin)).requestsCurrentPeriod, { timeout: 10_000 }).toBe(50n);
    await new Promise((r) => setTimeout(r, 600)); // three more flush intervals of both workers: nothing is added twice
    expect((await on(0).call(ApiKeyService, "getApiKeyUsage", { id }, pool.admin)).requestsCurrentPeriod).toBe(50n);
    const events = await on(1).call(AuditService, "listAuditEvents", { targetId: id, pageSize: 1000 }, pool.admin);
    expect(events.events.length).toBe(changes);
    expect(changes).toBeGreaterThan(6);
  });

  it("deliver every key event of the audit log once, with changes made through both workers", { timeout: 120_000 }, async () => {
    const orgId = newOrg();
    const types = ["key.created", "key.rotated", "key.disabled", "key.enabled", "key.revoked"];
    await on(0).call(WebhookService, "createWebhookEndpoint", { endpoint: { orgId, url: rx.url, eventTypes: types } }, pool.admin);
    await Promise.all(
      [0, 1, 0, 1].map(async (w, n) => {
        const { apiKey } = await on(w).call(ApiKeyService, "createApiKey", { orgId, name: `k${n}` }, pool.admin);
        const other = 1 - w;
        await on(other).call(ApiKeyService, "updateApiKey", { apiKey: { id: apiKey!.id, enabled: false }, updateMask: { paths: ["enabled"] } }, pool.admin);
        await on(w).call(ApiKeyService, "rotateApiKey", { id: apiKey!.id }, pool.admin);
        await on(other).call(ApiKeyService, "revokeApiKey", { id: apiKey!.id }, pool.admin);
      }),
    );
    const page = await on(1).call(AuditService, "listAuditEvents", { orgId, pageSize: 1000 }, pool.admin);
    const keyEvents = page.events.filter((e) => AuditAction[e.action] in EVENT_OF_ACTION).map((e) => e.id);
    expect(keyEvents).toHaveLength(16);
    const delivered = () => new Set(rx.accepted().filter((r) => keyEvents.includes(r.id)).map((r) => r.id));
    await rx.until(() => delivered().size === keyEvents.length, 60_000);
    expect([...delivered()].sort()).toEqual([...keyEvents].sort());
    expect(rx.accepted().filter((r) => keyEvents.includes(r.id))).toHaveLength(keyEvents.length); // none twice
  });

  it("let revocations return while the other worker is SIGKILLed amid them, and the restarted worker sees every one", { timeout: 60_000 }, async () => {
    const orgId = newOrg();
    const keys = await Promise.all(Array.from({ length: 10 }, (_, i) => on(0).call(ApiKeyService, "createApiKey", { orgId, name: `survivor ${i}` }, pool.admin)));
    for (const k of keys) for (const w of [0, 1]) expect((await validate(w, k.secret)).outcome).toBe(Outcome.VALID);
    const started = performance.now();
    // The dead worker stops being waited for once its heartbeat has not moved for aliveMs (3 s): no error, no hang.
    await Promise.all([pool.workers[1]!.kill("SIGKILL"), ...keys.map((k, i) => on(0, i % 2).call(ApiKeyService, "revokeApiKey", { id: k.apiKey!.id }, pool.admin))]);
    console.log(`[workers] 10 revocations with a worker SIGKILLed amid them returned within ${Math.round(performance.now() - started)} ms`);
    for (const k of keys) expect((await validate(0, k.secret)).outcome).toBe(Outcome.REVOKED);
    await pool.restart(1);
    for (const k of keys) expect((await validate(1, k.secret)).outcome).toBe(Outcome.REVOKED);
  });
  it("never admit past a limit or a balance when a worker is SIGKILLed amid the traffic and restarted", { timeout: 60_000 }, async () => {
    const orgId = newOrg();
    const L = 40;
    const R = 60;
    const limited = await on(0).call(ApiKeyService, "createApiKey", { orgId, name: "limited", rateLimit: { requests: L, windowSeconds: 600 } }, pool.admin);
    const metered = await on(0).call(ApiKeyService, "createApiKey", { orgId, name: "metered", credits: { remaining: BigInt(R) } }, pool.admin);
    const valid = { limited: 0, metered: 0 };
    const burst = (workers: number[], n: number) =>
      Promise.all(
        workers.flatMap((w) =>
          (["limited", "metered"] as const).flatMap((which) =>
            Array.from({ length: n }, (_, i) =>
              on(w, i % 2)
                .call(ApiKeyService, "validateApiKey", { key: (which === "limited" ? limited : metered).secret }, pool.admin)
                .then((r) => void (r.outcome === Outcome.VALID && valid[which]++), () => {}), // calls cut by the kill: not counted
            ),
          ),
        ),
      );
    const first = burst([0, 1], 60);
    await new Promise((r) => setTimeout(r, 30));
    await pool.workers[1]!.kill("SIGKILL");
    await first;
    await pool.restart(1);
    await burst([0, 1], 60);
    console.log(`[workers] with a SIGKILL amid the traffic: admitted ${valid.limited} of L=${L}, ${valid.metered} of R=${R}`);
    expect(valid.limited).toBeLessThanOrEqual(L);
    expect(valid.metered).toBeLessThanOrEqual(R);
  });
});
