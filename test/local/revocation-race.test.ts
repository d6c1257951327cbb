// Issue 16's first proof, for every SDK's validator: a revocation or rotation is seen locally before its RPC
// returns. An agent validates one key in a tight loop while this test calls RevokeApiKey (RotateApiKey on a second
// key); no call that started after the RPC returned may accept the key. Times are the wall clock of one machine:
// Date.now() here is whole milliseconds (rounded down), so an accept is counted as late only when it started more
// than 1 ms after the return was seen.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Agent, AGENT_SDKS, localAdminKey, prepareAgent, type RaceAnswer } from "../support/local-agents.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";

const ROUNDING_MS = 1;

/** Waits until the agent answers `secret` locally (a key created a moment ago reaches the stream at once). */
async function untilLocal(agent: Agent, secret: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const a = await agent.validate(secret);
    if (a.local && a.valid) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${agent.sdk} never answered the key locally`);
}

function expectNoLateAccepts(r: RaceAnswer, returnedAtMs: number): void {
  if (process.env.DEBUG_RACE) console.log({ count: r.count, local: r.local, accepts: r.accept_starts_ms.length, lastAccept: r.accept_starts_ms.at(-1)! - returnedAtMs, firstRefusal: r.first_refusal_start_ms! - returnedAtMs, last: r.last_start_ms - returnedAtMs });
  const late = r.accept_starts_ms.filter((s) => s > returnedAtMs + ROUNDING_MS);
  expect(late, `accepts that started after the RPC returned at ${returnedAtMs}`).toEqual([]);
  // Not vacuous: the loop accepted before the change and was refused after the RPC returned.
  expect(r.accept_starts_ms.length).toBeGreaterThan(0);
  expect(r.first_refusal_start_ms).not.toBeNull();
  expect(r.last_start_ms).toBeGreaterThan(returnedAtMs);
  expect(r.count).toBeGreaterThanOrEqual(10_000);
}

describe.each(AGENT_SDKS)("%s local validator: changes seen before their RPC returns", (sdk) => {
  let t: TestServer;
  let agent: Agent;

  beforeAll(async () => {
    await prepareAgent(sdk);
    t = await startTestServer("embedded", `local-race-${sdk}`);
    const adminKey = await localAdminKey(t.callers[0]!, ADMIN_KEY);
    agent = await Agent.start(sdk, { url: `http://127.0.0.1:${t.server.grpcPort}`, adminKey });
  }, 900_000);

  afterAll(async () => {
    await agent?.close().catch(() => agent.kill());
    await t?.stop();
  });

  const create = (name: string) => t.callers[0]!.call(ApiKeyService, "createApiKey", { orgId: "acme", name }, ADMIN_KEY);

  it("accepts a revoked key in no call that starts after RevokeApiKey returned (≥ 10,000 local validations racing it)", async () => {
    const key = await create("revoked under load");
    await untilLocal(agent, key.secret);
    const racing = agent.race(key.secret, { minN: 10_000, refusedMs: 200, maxMs: 20_000 });
    await new Promise((r) => setTimeout(r, 300)); // let the loop run before the change
    await t.callers[0]!.call(ApiKeyService, "revokeApiKey", { id: key.apiKey!.id }, ADMIN_KEY);
    const returnedAtMs = Date.now();
    const r = await racing;
    expectNoLateAccepts(r, returnedAtMs);
    expect(r.local).toBeGreaterThanOrEqual(10_000);
    expect(await agent.validate(key.secret)).toMatchObject({ valid: false, outcome: "REVOKED", local: true });
  });

  it("accepts a rotated key's old secret in no call that starts after RotateApiKey returned", async () => {
    const key = await create("rotated under load");
    await untilLocal(agent, key.secret);
    const racing = agent.race(key.secret, { minN: 10_000, refusedMs: 200, maxMs: 20_000 });
    await new Promise((r) => setTimeout(r, 500)); // ≥ 10,000 local accepts before the change in every SDK
    const rotated = await t.callers[0]!.call(ApiKeyService, "rotateApiKey", { id: key.apiKey!.id }, ADMIN_KEY);
    const returnedAtMs = Date.now();
    const r = await racing;
    expectNoLateAccepts(r, returnedAtMs);
    expect(await agent.validate(key.secret)).toMatchObject({ valid: false, outcome: "NOT_FOUND" });
    await untilLocal(agent, rotated.secret);
  });
});
