// Three server processes over one database while replicas are SIGKILLed and restarted in the middle of rotations
// and revocations: once each RPC returns, no live replica accepts the old secret, over 10,000 validations.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Code } from "@connectrpc/connect";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { RpcFailure, retryUnavailable } from "../support/callers.js";
import { type FluxProcess, randomAdminKey, startProcess } from "../support/processes.js";
import { mongoUri } from "../support/stores.js";

const VALIDATIONS = process.env.FLUX_FAULTS_LONG === "1" ? 50_000 : 10_000;
const PER_REPLICA_PER_ROUND = 60;
/** Round → replica SIGKILLed while that round's RPC runs (on another replica), then restarted in the background. */
const KILLS = new Map([
  [6, 2],
  [24, 1],
]);

const admin = randomAdminKey();
let env: Record<string, string>;
/** Slot per replica; undefined while a replica is dead or starting again. */
const slots: (FluxProcess | undefined)[] = [];
const restarts: Promise<void>[] = [];

beforeAll(async () => {
  env = { FLUX_MONGODB_URI: mongoUri(), FLUX_MONGODB_DB: `t_crash_${randomBytes(4).toString("hex")}`, FLUX_ADMIN_KEY: admin };
  slots.push(...(await Promise.all([startProcess(env), startProcess(env), startProcess(env)])));
});
afterAll(async () => {
  await Promise.allSettled(restarts);
  await Promise.all(slots.map((p) => p?.stop()));
});

const live = () => slots.filter((p): p is FluxProcess => p !== undefined);
const validate = (p: FluxProcess, key: string, i = 0) => p.callers[i % 2]!.call(ApiKeyService, "validateApiKey", { key }, admin);

async function createKey() {
  const r = await live()[0]!.callers[0]!.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "churned" }, admin);
  return { id: r.apiKey!.id, secret: r.secret };
}

function crash(slot: number) {
  const p = slots[slot]!;
  slots[slot] = undefined;
  restarts.push(
    p.kill("SIGKILL").then(async () => {
      slots[slot] = await startProcess(env);
    }),
  );
}

describe("replicas crashing during rotations and revocations", () => {
  it("never accept an old secret on a live replica once the RPC returns", { timeout: 120_000 }, async () => {
    const keys = await Promise.all([createKey(), createKey(), createKey(), createKey()]);
    let validations = 0;
    let accepted = 0;
    let unconfirmed = 0;
    let unavailable = 0;
    const started = performance.now();
    for (let round = 0; validations < VALIDATIONS; round++) {
      const k = round % keys.length;
      const key = keys[k]!;
      for (const p of live()) expect((await retryUnavailable(() => validate(p, key.secret))).outcome).toBe(Outcome.VALID); // warm caches
      const victim = KILLS.get(round);
      const callers = live().filter((p) => victim === undefined || p !== slots[victim]);
      const caller = callers[round % callers.length]!.callers[round % 2]!;
      const revoke = round % 4 === 3;
      // A retried Revoke publishes again; a Rotate answers UNAVAILABLE only before anything is saved.
      const rpc = revoke
        ? retryUnavailable(() => caller.call(ApiKeyService, "revokeApiKey", { id: key.id }, admin)).then(() => undefined)
        : retryUnavailable(() => caller.call(ApiKeyService, "rotateApiKey", { id: key.id }, admin));
      if (victim !== undefined) crash(victim);
      const rotated = await rpc;
      unconfirmed += rotated?.unconfirmedReplicas ?? 0;
      // The RPC has returned: every live replica refuses the old secret, every time.
      // UNAVAILABLE ("retry shortly") is not an accept: counted apart, never as VALID.
      const checks = live().flatMap((p) =>
        Array.from({ length: PER_REPLICA_PER_ROUND }, (_, i) =>
          validate(p, key.secret, i).then(
            (r) => r.outcome,
            (err) => {
              if (err instanceof RpcFailure && err.code === Code.Unavailable) return "UNAVAILABLE" as const;
              throw err;
            },
          ),
        ),
      );
      const all = await Promise.all(checks);
      unavailable += all.filter((o) => o === "UNAVAILABLE").length;
      const outcomes = all.filter((o): o is Outcome => o !== "UNAVAILABLE");
      validations += outcomes.length;
      accepted += outcomes.filter((o) => o === Outcome.VALID).length;
      expect(outcomes.every((o) => o === (revoke ? Outcome.REVOKED : Outcome.NOT_FOUND)), `round ${round}`).toBe(true);
      keys[k] = revoke ? await createKey() : { id: key.id, secret: rotated!.secret };
    }
    await Promise.all(restarts);
    console.log(
      `replica crashes: ${validations} old-secret validations after ${KILLS.size} SIGKILLs and restarts, ${accepted} accepted, ${unavailable} answered UNAVAILABLE, ` +
        `${unconfirmed} unconfirmed replicas reported, ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(accepted).toBe(0);
    expect(unconfirmed).toBe(0);
    expect(live()).toHaveLength(3);
  });
});
