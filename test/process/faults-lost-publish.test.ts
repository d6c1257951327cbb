// Three replicas (in-process servers over one database) validating a key while its revocation's change-log write
// fails and nobody retries: every replica refuses the key again within the documented bound, on its own.
import type { Db } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { DEFAULT_OUTBOX } from "../../src/services/change-outbox.js";
import { failingCollection, type Replica, startReplicaServers } from "../support/replica-servers.js";
import { ADMIN_KEY } from "../support/server.js";

/** The documented bound: the outbox republishes an entry a sweep has seen for republishAfterMs, sweeping every sweepMs. */
const BOUND_MS = DEFAULT_OUTBOX.republishAfterMs + 2 * DEFAULT_OUTBOX.sweepMs;

// The revoking replica's change-log writes can fail: before the sequence number is taken (a clean failure) or
// after it (the number is taken but its change never written: a gap the other replicas must get past).
const counterFailure = (() => {
  let f: ReturnType<typeof failingCollection>;
  return { wrap: (db: Db) => (f = failingCollection(db, "counters", "findOneAndUpdate")).db, arm: () => f.arm() };
})();
const insertFailure = (() => {
  let f: ReturnType<typeof failingCollection>;
  return { wrap: (db: Db) => (f = failingCollection(db, "key_changes", "insertOne")).db, arm: () => f.arm() };
})();

let cluster: Awaited<ReturnType<typeof startReplicaServers>>;

beforeAll(async () => {
  let wrapped = false;
  cluster = await startReplicaServers(3, "lost_publish", (db, i) => {
    if (i !== 0) return db;
    wrapped = true;
    return insertFailure.wrap(counterFailure.wrap(db));
  });
  expect(wrapped).toBe(true);
});
afterAll(async () => {
  await cluster?.stop();
});

const validate = (r: Replica, key: string) => r.callers[0]!.call(ApiKeyService, "validateApiKey", { key }, ADMIN_KEY);

describe("a revocation whose invalidation is lost", () => {
  it.each([
    ["before its sequence number is taken", counterFailure],
    ["after its sequence number is taken (a gap)", insertFailure],
  ])("is refused by every replica within the documented bound when the change-log write fails %s", { timeout: 60_000 }, async (_, failure) => {
    const { replicas } = cluster;
    const created = await replicas[0]!.callers[0]!.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "lost publish" }, ADMIN_KEY);
    for (const r of replicas) expect((await validate(r, created.secret)).outcome).toBe(Outcome.VALID); // cached everywhere

    // Every replica validates the key without pause from before the revocation until it has refused it for 1 s.
    const lastAccepted = replicas.map(() => 0);
    const refusedSince = replicas.map(() => Infinity);
    let running = true;
    const loops = replicas.map(async (r, i) => {
      while (running) {
        const o = (await validate(r, created.secret)).outcome;
        if (o === Outcome.VALID) (lastAccepted[i] = performance.now()), (refusedSince[i] = Infinity);
        else if (refusedSince[i] === Infinity) refusedSince[i] = performance.now();
        await new Promise((res) => setTimeout(res, 2));
      }
    });
    failure.arm();
    const revokedAt = performance.now();
    const answer = await replicas[0]!.callers[0]!.call(ApiKeyService, "revokeApiKey", { id: created.apiKey!.id }, ADMIN_KEY).then(
      () => "OK",
      (e: Error) => e.message,
    );
    const deadline = revokedAt + BOUND_MS + 10_000;
    while (!refusedSince.every((t) => performance.now() - t > 1000) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    running = false;
    await Promise.all(loops);

    const exposureMs = Math.max(0, ...lastAccepted.map((t) => t - revokedAt));
    console.log(`lost publish (${_}): Revoke answered "${answer}"; longest exposure ${exposureMs.toFixed(0)} ms (bound ${BOUND_MS} ms); per replica ${lastAccepted.map((t) => Math.max(0, t - revokedAt).toFixed(0)).join(", ")} ms`);
    expect(answer).not.toBe("OK"); // the failure was injected and reported
    expect(exposureMs).toBeLessThanOrEqual(BOUND_MS);
    for (const r of replicas) expect((await validate(r, created.secret)).outcome).toBe(Outcome.REVOKED);
  });
});
