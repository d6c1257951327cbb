// Limits stay exact with local validators: on MongoDB with 2 servers, one validator on each plus ValidateApiKey over
// the network on the first all spend one key's window; together they admit at most its limit, and exactly the limit
// once the validators have closed (returning their unused leases) and the network spends the rest.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Agent, AGENT_SDKS, localAdminKey, prepareAgent } from "../support/local-agents.js";
import { startReplicaServers } from "../support/replica-servers.js";
import { ADMIN_KEY } from "../support/server.js";

const LIMIT = 60;

describe.each(AGENT_SDKS)("%s local validators with a replica", (sdk) => {
  let cluster: Awaited<ReturnType<typeof startReplicaServers>>;
  beforeAll(async () => {
    await prepareAgent(sdk);
    cluster = await startReplicaServers(2, `local-limits-${sdk}`);
  }, 900_000);
  afterAll(() => cluster?.stop());

  it("admits at most the limit across 2 validators and the network, and exactly the limit after they close", async () => {
    const [r0, r1] = cluster.replicas as [(typeof cluster.replicas)[0], (typeof cluster.replicas)[0]];
    const c0 = r0.callers[0]!;
    const c1 = r1.callers[0]!;
    const adminKey = await localAdminKey(c0, ADMIN_KEY);
    const key = await c0.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "limited", rateLimit: { requests: LIMIT, windowSeconds: 3600 } }, ADMIN_KEY);
    const agents = [
      await Agent.start(sdk, { url: `http://127.0.0.1:${r0.grpcPort}`, adminKey }),
      await Agent.start(sdk, { url: `http://127.0.0.1:${r1.grpcPort}`, adminKey }),
    ];
    try {
      const network = async () => {
        let valid = 0;
        for (let i = 0; i < 40; i++) if ((await c0.call(ApiKeyService, "validateApiKey", { key: key.secret }, ADMIN_KEY)).valid) valid++;
        return valid;
      };
      const [b0, b1, net] = await Promise.all([agents[0]!.burst(key.secret, 100), agents[1]!.burst(key.secret, 100), network()]);
      const admitted = b0.valid + b1.valid + net;
      expect(admitted).toBeLessThanOrEqual(LIMIT);
      expect(b0.local + b1.local).toBeGreaterThan(0);

      for (const a of agents) await a.close();
      // What the validators held went back to the window: the network can now spend exactly the rest.
      let more = 0;
      for (let refusedInARow = 0; refusedInARow < 2; ) {
        const c = (more + refusedInARow) % 2 === 0 ? c0 : c1;
        if ((await c.call(ApiKeyService, "validateApiKey", { key: key.secret }, ADMIN_KEY)).valid) {
          more++;
          refusedInARow = 0;
        } else refusedInARow++;
        if (more > LIMIT) break;
      }
      expect(admitted + more).toBe(LIMIT);
    } finally {
      for (const a of agents) await a.kill();
    }
  });
});

