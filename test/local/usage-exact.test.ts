// Usage stays exact with a local validator: once it has closed (its final report), GetApiKeyUsage counts exactly
// the validator's answers plus the network's, outcome by outcome.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { Agent, AGENT_SDKS, localAdminKey, prepareAgent } from "../support/local-agents.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";

describe.each(AGENT_SDKS)("%s local validator usage", (sdk) => {
  let t: TestServer;
  beforeAll(async () => {
    await prepareAgent(sdk);
    t = await startTestServer("embedded", `local-usage-${sdk}`);
    for (const name of ["data:read", "data:write"]) await t.callers[0]!.call(ApiKeyService, "defineScope", { scope: { name } }, ADMIN_KEY);
  }, 900_000);
  afterAll(() => t?.stop());

  it("counts exactly the validator's answers plus the network's in GetApiKeyUsage after close", async () => {
    const c = t.callers[0]!;
    const adminKey = await localAdminKey(c, ADMIN_KEY);
    const key = await c.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "metered", scopes: ["data:read"] }, ADMIN_KEY);
    const agent = await Agent.start(sdk, { url: `http://127.0.0.1:${t.server.grpcPort}`, adminKey });
    let localValid = 0;
    let localScope = 0;
    try {
      for (let i = 0; i < 30; i++) {
        const a = await agent.validate(key.secret, { scopes: ["data:read"] });
        expect(a).toMatchObject({ valid: true, local: true });
        localValid++;
      }
      for (let i = 0; i < 7; i++) {
        const a = await agent.validate(key.secret, { scopes: ["data:write"] });
        expect(a).toMatchObject({ valid: false, outcome: "INSUFFICIENT_SCOPE", local: true });
        localScope++;
      }
      expect(await agent.validate("flux_not-a-key")).toMatchObject({ valid: false, outcome: "MALFORMED" });
    } finally {
      await agent.close();
    }
    for (let i = 0; i < 5; i++) expect((await c.call(ApiKeyService, "validateApiKey", { key: key.secret }, ADMIN_KEY)).valid).toBe(true);

    const expected = { valid: localValid + 5, scope: localScope };
    let usage = await c.call(ApiKeyService, "getApiKeyUsage", { id: key.apiKey!.id }, ADMIN_KEY);
    const count = (o: Outcome) => Number(usage.outcomes.find((x) => x.outcome === o)?.count ?? 0n);
    // Usage is written by the server's flush (every second here): wait for it, then compare exactly.
    for (let i = 0; i < 100 && count(Outcome.VALID) + count(Outcome.INSUFFICIENT_SCOPE) < expected.valid + expected.scope; i++) {
      await new Promise((r) => setTimeout(r, 100));
      usage = await c.call(ApiKeyService, "getApiKeyUsage", { id: key.apiKey!.id }, ADMIN_KEY);
    }
    expect({ valid: count(Outcome.VALID), scope: count(Outcome.INSUFFICIENT_SCOPE), requests: Number(usage.requestsCurrentPeriod) }).toEqual({
      ...expected,
      requests: expected.valid + expected.scope,
    });
  });
});
