// Usage across a replica's end: SIGTERM flushes every count; SIGKILL loses at most the last flush interval of that
// replica's traffic and never counts a validation twice (recorded ≤ answered).
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { type FluxProcess, randomAdminKey, startProcess } from "../support/processes.js";
import { mongoUri } from "../support/stores.js";

const FLUSH_MS = 1000;
const admin = randomAdminKey();
let env: Record<string, string>;
let reader: FluxProcess;

beforeAll(async () => {
  env = { FLUX_MONGODB_URI: mongoUri(), FLUX_MONGODB_DB: `t_usage_${randomBytes(4).toString("hex")}`, FLUX_ADMIN_KEY: admin, FLUX_USAGE_FLUSH_MS: String(FLUSH_MS) };
  reader = await startProcess(env);
});
afterAll(async () => {
  await reader.stop();
});

async function newKey() {
  const r = await reader.callers[0]!.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "metered" }, admin);
  return { id: r.apiKey!.id, secret: r.secret };
}

const usageOf = (id: string) => reader.callers[0]!.call(ApiKeyService, "getApiKeyUsage", { id }, admin);

describe("usage when a replica ends", () => {
  it("is exact after SIGTERM", async () => {
    const key = await newKey();
    const p = await startProcess(env);
    for (let i = 0; i < 37; i++) await p.callers[i % 2]!.call(ApiKeyService, "validateApiKey", { key: key.secret }, admin);
    for (let i = 0; i < 11; i++) await p.callers[i % 2]!.call(ApiKeyService, "validateApiKey", { key: key.secret, requiredScopes: ["not:granted"] }, admin);
    expect(await p.stop()).toBe(0);
    const u = await usageOf(key.id);
    expect(u.requestsCurrentPeriod).toBe(48n);
    expect(u.errorsCurrentPeriod).toBe(11n);
  });

  it("loses at most the last flush interval of traffic after SIGKILL, and never over-counts", { timeout: 60_000 }, async () => {
    const key = await newKey();
    const p = await startProcess(env);
    const answeredAt: number[] = [];
    const until = performance.now() + 2.6 * FLUSH_MS;
    // Four callers at a steady pace; every call has its answer before the kill.
    await Promise.all(
      [0, 1, 2, 3].map(async (w) => {
        while (performance.now() < until) {
          await p.callers[w % 2]!.call(ApiKeyService, "validateApiKey", { key: key.secret }, admin);
          answeredAt.push(performance.now());
          await new Promise((r) => setTimeout(r, 5));
        }
      }),
    );
    const killedAt = performance.now();
    await p.kill("SIGKILL");
    const recorded = Number((await usageOf(key.id)).requestsCurrentPeriod);
    const answered = answeredAt.length;
    // One flush interval, plus the time one flush write takes (a batch in flight when the process dies is lost too).
    const lastInterval = answeredAt.filter((t) => t > killedAt - FLUSH_MS - 100).length;
    console.log(
      `usage on SIGKILL: answered ${answered}, recorded ${recorded}, lost ${answered - recorded} ` +
        `(${(((answered - recorded) / answered) * 2.6 * FLUSH_MS).toFixed(0)} ms of traffic; ${lastInterval} answered in the last ${FLUSH_MS} ms)`,
    );
    expect(recorded).toBeLessThanOrEqual(answered);
    expect(answered - recorded).toBeLessThanOrEqual(lastInterval);
  });
});
