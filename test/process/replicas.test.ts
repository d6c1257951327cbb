// Several server processes on one MongoDB-compatible database share each key's rate limit and add up usage;
// SIGTERM flushes every pending count.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { type FluxProcess, randomAdminKey, startProcess } from "../support/processes.js";
import { mongoUri } from "../support/stores.js";

const admin = randomAdminKey();
let env: Record<string, string>;
let procs: FluxProcess[] = [];

beforeAll(async () => {
  env = { FLUX_MONGODB_URI: mongoUri(), FLUX_MONGODB_DB: `t_replicas_${randomBytes(4).toString("hex")}`, FLUX_ADMIN_KEY: admin };
  procs = await Promise.all([startProcess(env), startProcess(env)]);
});
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
});

describe("two replicas on one database", () => {
  it("share one key's limit: concurrent validations on both admit exactly L per window", async () => {
    const L = 25;
    const [a, b] = procs.map((p) => p.callers[0]!);
    const { secret } = await a!.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "shared", rateLimit: { requests: L, windowSeconds: 300 } }, admin);
    const calls = Array.from({ length: 100 }, (_, i) => (i % 2 ? a! : b!).call(ApiKeyService, "validateApiKey", { key: secret }, admin));
    const results = await Promise.all(calls);
    const admitted = results.filter((r) => r.outcome === Outcome.VALID).length;
    const limited = results.filter((r) => r.outcome === Outcome.RATE_LIMITED).length;
    console.log(`shared limit: admitted ${admitted} of 100 concurrent validations across 2 processes with L=${L}`);
    expect(admitted).toBe(L);
    expect(limited).toBe(100 - L);
  });

  it("admit at most L and lose at most one lease chunk per other process when limits are leased in chunks", async () => {
    const L = 400; // leases of 5% = 20 points
    const [a, b] = procs.map((p) => p.callers[0]!);
    const { secret } = await a!.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "chunked", rateLimit: { requests: L, windowSeconds: 300 } }, admin);
    let admitted = 0;
    // Batches of 10: concurrency enough to race leases without queueing reads past the store's deadline on 2 cores.
    for (let round = 0; round < 60; round++) {
      const batch = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a! : b!).call(ApiKeyService, "validateApiKey", { key: secret }, admin)));
      admitted += batch.filter((r) => r.outcome === Outcome.VALID).length;
    }
    console.log(`leased limit: admitted ${admitted} of 600 validations across 2 processes with L=${L} (chunk 20)`);
    expect(admitted).toBeLessThanOrEqual(L);
    expect(admitted).toBeGreaterThanOrEqual(L - 19);
  });

  it("add up usage from both processes, exact after SIGTERM", async () => {
    const [a, b] = procs.map((p) => p.callers[1]!);
    const { apiKey, secret } = await a!.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "counted" }, admin);
    for (let i = 0; i < 13; i++) await a!.call(ApiKeyService, "validateApiKey", { key: secret }, admin);
    for (let i = 0; i < 8; i++) await b!.call(ApiKeyService, "validateApiKey", { key: secret, requiredScopes: ["not:granted"] }, admin);
    // Stop both: SIGTERM must flush what each still holds in memory.
    const codes = await Promise.all(procs.map((p) => p.stop()));
    expect(codes).toEqual([0, 0]);
    procs = [await startProcess(env)];
    const u = await procs[0]!.callers[0]!.call(ApiKeyService, "getApiKeyUsage", { id: apiKey!.id }, admin);
    expect(u.requestsCurrentPeriod).toBe(21n);
    expect(u.errorsCurrentPeriod).toBe(8n);
  });
});
