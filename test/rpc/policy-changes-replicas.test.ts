// Policy changes made on one MongoDB replica while another has the key cached and holds leases of its balance: once
// UpdateApiKey returns, the other replica applies the new allowlist at once, and a new balance admits exactly that
// many calls there (the old leases are worth nothing).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { newOrg } from "../support/fixtures.js";
import { startReplicaServers } from "../support/replica-servers.js";
import { ADMIN_KEY } from "../support/server.js";

describe("policy changes across two MongoDB replicas", () => {
  let cluster: Awaited<ReturnType<typeof startReplicaServers>>;
  beforeAll(async () => {
    cluster = await startReplicaServers(2, "policy-replicas");
  }, 90_000);
  afterAll(() => cluster?.stop());
  const a = () => cluster.replicas[0]!.callers[0]!;
  const b = () => cluster.replicas[1]!.callers[1]!; // Connect on the other replica
  const validate = (key: string, clientIp = "", cost?: number) => b().call(ApiKeyService, "validateApiKey", { key, clientIp, cost }, ADMIN_KEY);

  it("applies an allowlist added (then removed) on one replica to a key cached on the other as soon as the update returns", async () => {
    const k = await a().call(ApiKeyService, "createApiKey", { orgId: newOrg(), name: "cached" }, ADMIN_KEY);
    expect((await validate(k.secret, "203.0.113.5")).outcome).toBe(Outcome.VALID); // cached on b
    await a().call(ApiKeyService, "updateApiKey", { apiKey: { id: k.apiKey!.id, allowedCidrs: ["10.0.0.0/8"] }, updateMask: { paths: ["allowed_cidrs"] } }, ADMIN_KEY);
    expect((await validate(k.secret, "203.0.113.5")).outcome).toBe(Outcome.IP_NOT_ALLOWED);
    expect((await validate(k.secret)).outcome).toBe(Outcome.IP_NOT_ALLOWED);
    expect((await validate(k.secret, "::ffff:10.9.8.7")).outcome).toBe(Outcome.VALID);
    await a().call(ApiKeyService, "updateApiKey", { apiKey: { id: k.apiKey!.id, allowedCidrs: [] }, updateMask: { paths: ["allowed_cidrs"] } }, ADMIN_KEY);
    expect((await validate(k.secret, "203.0.113.5")).outcome).toBe(Outcome.VALID);
  });

  it("admits exactly a balance set on one replica while the other holds leases of the old one", async () => {
    const k = await a().call(ApiKeyService, "createApiKey", { orgId: newOrg(), name: "metered", credits: { remaining: 1000n } }, ADMIN_KEY);
    expect(await validate(k.secret)).toMatchObject({ outcome: Outcome.VALID, credits: { remaining: 999n } }); // b leases 50
    expect(await a().call(ApiKeyService, "validateApiKey", { key: k.secret }, ADMIN_KEY)).toMatchObject({ outcome: Outcome.VALID }); // a leases too
    await a().call(ApiKeyService, "updateApiKey", { apiKey: { id: k.apiKey!.id, credits: { remaining: 3n } }, updateMask: { paths: ["credits"] } }, ADMIN_KEY);
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push((await validate(k.secret)).outcome);
    outcomes.push((await a().call(ApiKeyService, "validateApiKey", { key: k.secret }, ADMIN_KEY)).outcome);
    expect(outcomes).toEqual([Outcome.VALID, Outcome.VALID, Outcome.VALID, Outcome.USAGE_EXCEEDED, Outcome.USAGE_EXCEEDED]);
  });
});
