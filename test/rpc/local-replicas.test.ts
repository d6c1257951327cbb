// Local validators on MongoDB with two replicas: a change made on replica A returns only after the sessions held by
// replica B acknowledged it (B reports the change applied only then), a mute session on B is cut off and waited
// out, and a key created on A reaches B's sessions through the change log without CreateApiKey waiting.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { KeyState } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import type { SubscribeKeysResponse } from "../../gen/ts/flux/apikeys/v1/local_validation_pb.js";
import { createKey } from "../support/fixtures.js";
import { RawValidator, type Transport } from "../support/raw-validators.js";
import { startReplicaServers } from "../support/replica-servers.js";
import { ADMIN_KEY } from "../support/server.js";

type Cluster = Awaited<ReturnType<typeof startReplicaServers>>;

const keyChange = (id: string, state?: KeyState) => (m: SubscribeKeysResponse) =>
  m.event.case === "change" && m.event.value.change.case === "key" && m.event.value.change.value.info?.id === id && (state === undefined || m.event.value.change.value.state === state);

describe("local validators across two MongoDB replicas", () => {
  let cluster: Cluster;
  let validatorKey: string;
  const org = `org_${randomBytes(3).toString("hex")}`;
  const open: RawValidator[] = [];
  const onB = async (transport: Transport) => {
    const b = cluster.replicas[1]!;
    const port = transport === "grpc" ? b.grpcPort : b.httpPort;
    const v = new RawValidator({ transport, port, adminKey: validatorKey, caller: b.callers[0]! }).start();
    open.push(v);
    await v.snapshotComplete();
    await v.ack();
    return v;
  };
  const a = () => cluster.replicas[0]!.callers[0]!;

  beforeAll(async () => {
    cluster = await startReplicaServers(2, "local-replicas");
    validatorKey = (await a().call(AdminKeyService, "createAdminKey", { name: "validators", localValidation: true }, ADMIN_KEY)).secret;
  });
  afterAll(async () => {
    for (const v of open) v.close();
    await cluster?.stop();
  });

  it.each(["grpc", "connect"] as Transport[])("RevokeApiKey on A returns only after the session on B acknowledged the revocation (%s)", async (transport) => {
    const { key } = await createKey(a(), { orgId: org });
    const v = await onB(transport);
    let settled = false;
    const revoke = a().call(ApiKeyService, "revokeApiKey", { id: key.id }, ADMIN_KEY);
    void revoke.then(() => (settled = true), () => (settled = true));
    const m = await v.until(keyChange(key.id, KeyState.REVOKED), "the revocation on B's stream");
    expect(settled).toBe(false);
    await v.ack(Number(m.seq));
    await revoke;
    expect(v.endedWith).toBeUndefined();
    v.close();
  });

  it.each(["grpc", "connect"] as Transport[])("a key created on A reaches the session on B without CreateApiKey waiting for it (%s)", async (transport) => {
    const v = await onB(transport); // acknowledges nothing after its snapshot
    const { key } = await createKey(a(), { orgId: org });
    await v.until(keyChange(key.id, KeyState.ACTIVE), "the created key on B's stream");
    v.close();
  });

  it("a session on B that never acknowledges is cut off; RevokeApiKey on A returns once it is certainly stale", async () => {
    const { key } = await createKey(a(), { orgId: org });
    const v = await onB("grpc");
    await a().call(ApiKeyService, "revokeApiKey", { id: key.id }, ADMIN_KEY);
    expect(Date.now() - v.lastOkAckSentAtMs).toBeGreaterThanOrEqual(cluster.replicas[1]!.deps.services.validators.settings.staleAfterMs);
    const how = await v.ended();
    expect(how !== "ok" && how.reason).toBe("VALIDATOR_SESSION_ENDED");
  });
});
