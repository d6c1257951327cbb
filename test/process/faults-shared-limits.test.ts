// Three server processes over one database share each key's rate limit: 10·L concurrent validations on each of
// them admit at most L in total, whatever the lease sizes.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { type FluxProcess, randomAdminKey, startProcess } from "../support/processes.js";
import { mongoUri } from "../support/stores.js";
import { retryUnavailable } from "../support/callers.js";

const admin = randomAdminKey();
let procs: FluxProcess[] = [];

beforeAll(async () => {
  const env = { FLUX_MONGODB_URI: mongoUri(), FLUX_MONGODB_DB: `t_limits_${randomBytes(4).toString("hex")}`, FLUX_ADMIN_KEY: admin };
  procs = await Promise.all([startProcess(env), startProcess(env), startProcess(env)]);
});
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
});

describe("one key's limit on three replicas", () => {
  // L = 20 leases one point at a time; L = 60 leases chunks of 3.
  it.each([20, 60])("admits at most L = %i of 3 × 10·L concurrent validations", { timeout: 60_000 }, async (L) => {
    const c = procs[0]!.callers[0]!;
    // UNAVAILABLE ("retry shortly") can answer a busy machine's first calls: retried as a client would, never an accept.
    const { secret } = await retryUnavailable(() => c.call(ApiKeyService, "createApiKey", { orgId: "acme", name: `limit ${L}`, rateLimit: { requests: L, windowSeconds: 600 } }, admin));
    const calls = procs.flatMap((p) => Array.from({ length: 10 * L }, (_, i) => retryUnavailable(() => p.callers[i % 2]!.call(ApiKeyService, "validateApiKey", { key: secret }, admin))));
    const outcomes = (await Promise.all(calls)).map((r) => r.outcome);
    const admitted = outcomes.filter((o) => o === Outcome.VALID).length;
    console.log(`shared limit: admitted ${admitted} of ${outcomes.length} concurrent validations on 3 replicas with L=${L}`);
    expect(admitted).toBeLessThanOrEqual(L);
    expect(outcomes.filter((o) => o !== Outcome.VALID && o !== Outcome.RATE_LIMITED)).toEqual([]);
  });
});
