// A validator killed mid-stream (SIGKILL: no closing report, no goodbye) holds nothing up: a Revoke made meanwhile
// returns within the acknowledgement bound, and the validator started again resyncs and refuses the revoked key.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Agent, AGENT_SDKS, localAdminKey, prepareAgent } from "../support/local-agents.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";

// The server's defaults (acknowledgement timeout 1 s, stale_after 1.5 s) plus a wide margin for a loaded machine:
// the point is that the RPC returns at all, not how fast.
const REVOKE_BOUND_MS = 10_000;

describe.each(AGENT_SDKS)("%s local validator killed mid-stream", (sdk) => {
  let t: TestServer;
  let adminKey: string;

  beforeAll(async () => {
    await prepareAgent(sdk);
    t = await startTestServer("embedded", `local-crash-${sdk}`);
    adminKey = await localAdminKey(t.callers[0]!, ADMIN_KEY);
  }, 900_000);
  afterAll(() => t?.stop());

  it("does not hold up a Revoke made while it is dead, and refuses the key once restarted", async () => {
    const url = `http://127.0.0.1:${t.server.grpcPort}`;
    const key = await t.callers[0]!.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "k" }, ADMIN_KEY);
    const first = await Agent.start(sdk, { url, adminKey });
    await first.waitFor((s) => s.state === "fresh");
    expect(await first.validate(key.secret)).toMatchObject({ valid: true });
    const burst = first.burst(key.secret, 1_000_000); // mid-stream and mid-work
    await new Promise((r) => setTimeout(r, 100));
    await first.kill();
    await burst.catch(() => {});

    const t0 = Date.now();
    await t.callers[1]!.call(ApiKeyService, "revokeApiKey", { id: key.apiKey!.id }, ADMIN_KEY);
    expect(Date.now() - t0).toBeLessThan(REVOKE_BOUND_MS);

    const second = await Agent.start(sdk, { url, adminKey });
    try {
      expect(await second.validate(key.secret)).toMatchObject({ valid: false, outcome: "REVOKED", local: true });
    } finally {
      await second.close();
    }
  });
});
