// SubscribeKeys end to end on a real server, over grpc-js and Connect: the session message, a snapshot of every key
// the admin key may see (revoked and disabled ones too) in gap-free order, heartbeats, acknowledgements, the
// local_validation right, and a client that goes away ending its session.
import { randomBytes } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { KeyState } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import { DigestAlgorithm, LocalValidationService } from "../../gen/ts/flux/apikeys/v1/local_validation_pb.js";
import { failure } from "../support/callers.js";
import { createKey } from "../support/fixtures.js";
import { checkSequence, RawValidator, type Transport } from "../support/raw-validators.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";

const TRANSPORTS: Transport[] = ["grpc", "connect"];

describe("SubscribeKeys on the embedded store", () => {
  let t: TestServer;
  let validatorKey: string;
  const orgA = `org_a_${randomBytes(3).toString("hex")}`;
  const open: RawValidator[] = [];
  const validator = (transport: Transport, opts: { autoAckDelayMs?: number; adminKey?: string; name?: string } = {}) => {
    const port = transport === "grpc" ? t.server.grpcPort : t.server.httpPort;
    const v = new RawValidator({ transport, port, adminKey: opts.adminKey ?? validatorKey, caller: t.callers[0]!, autoAckDelayMs: opts.autoAckDelayMs, name: opts.name }).start();
    open.push(v);
    return v;
  };

  beforeAll(async () => {
    t = await startTestServer("embedded", "local-stream");
    validatorKey = (await t.callers[0]!.call(AdminKeyService, "createAdminKey", { name: "validators", localValidation: true }, ADMIN_KEY)).secret;
  });
  afterAll(async () => {
    for (const v of open) v.close();
    await t?.stop();
  });

  it.each(TRANSPORTS)("opens with the session, then a snapshot of every key, revoked and disabled ones too, gap-free (%s)", async (transport) => {
    const c = t.callers[0]!;
    const active = await createKey(c, { orgId: orgA, scopes: [], metadata: { team: "a" } });
    const revoked = await createKey(c, { orgId: orgA });
    await c.call(ApiKeyService, "revokeApiKey", { id: revoked.key.id }, ADMIN_KEY);
    const disabled = await createKey(c, { orgId: orgA });
    await c.call(ApiKeyService, "updateApiKey", { apiKey: { id: disabled.key.id, enabled: false }, updateMask: { paths: ["enabled"] } }, ADMIN_KEY);

    // An expired key (written as the store holds one after its expiry): sent too, the validator answers EXPIRED.
    const expiredId = `key_${randomBytes(10).toString("hex")}`;
    const past = Date.now() - 60_000;
    await t.deps.stores.keys.insert({ id: expiredId, orgId: orgA, name: "expired", scopes: [], metadata: {}, enabled: true, displayHint: "flux_…abcd", createdAtMs: past - 1, updatedAtMs: past - 1, expiresAtMs: past, digest: randomBytes(32).toString("base64url") });

    const v = validator(transport, { name: "stream-test" });
    const last = await v.snapshotComplete();
    checkSequence(v.messages);
    const session = v.messages[0]!.event;
    expect(session.case).toBe("session");
    if (session.case !== "session") return;
    expect(session.value.digestAlgorithm).toBe(DigestAlgorithm.SHA256);
    expect(session.value.pepperId).toBe("");
    expect(session.value.heartbeatIntervalMs).toBe(250);
    expect(session.value.staleAfterMs).toBe(1500);
    expect(session.value.orgId).toBe("");
    const keys = v.messages.flatMap((m) => (m.event.case === "snapshot" ? m.event.value.keys : []));
    const byId = new Map(keys.map((k) => [k.info!.id, k]));
    expect(byId.get(active.key.id)?.state).toBe(KeyState.ACTIVE);
    expect(byId.get(active.key.id)?.info?.metadata).toEqual({ team: "a" });
    expect(byId.get(revoked.key.id)?.state).toBe(KeyState.REVOKED);
    expect(byId.get(disabled.key.id)?.state).toBe(KeyState.DISABLED);
    expect(byId.get(expiredId)?.state).toBe(KeyState.ACTIVE);
    expect(Number(byId.get(expiredId)?.info?.expiresAt?.seconds)).toBe(Math.floor(past / 1000));
    // The acknowledgement answers the snapshot's last seq as required.
    expect(await v.ack()).toBe(Number(last.seq));
    // Heartbeats follow on an idle stream, still gap-free.
    await v.until((m) => m.event.case === "heartbeat", "a heartbeat");
    checkSequence(v.messages);
    v.close();
  });

  it.each(TRANSPORTS)("ends the session at once when the client goes away: later calls answer VALIDATOR_SESSION_ENDED (%s)", async (transport) => {
    const v = validator(transport);
    await v.snapshotComplete();
    await v.ack();
    const before = t.deps.services.validators.size;
    v.close();
    await expect.poll(() => t.deps.services.validators.size).toBe(before - 1);
    const err = await failure(v.ack());
    expect(Code[err.code]).toBe("FailedPrecondition");
    expect(err.reason).toBe("VALIDATOR_SESSION_ENDED");
  });

  it.each(TRANSPORTS)("refuses admin keys without the local_validation right, validate-only or not (%s)", async (transport) => {
    const c = t.callers[0]!;
    const plain = (await c.call(AdminKeyService, "createAdminKey", { name: "plain" }, ADMIN_KEY)).secret;
    for (const key of [plain, ADMIN_KEY]) {
      const v = validator(transport, { adminKey: key });
      const how = await v.ended();
      expect(how).not.toBe("ok");
      if (how === "ok") return;
      expect(Code[how.code]).toBe("PermissionDenied");
      expect(how.reason).toBe("PERMISSION_DENIED");
    }
    const validateOnly = (await c.call(AdminKeyService, "createAdminKey", { name: "vo", validateOnly: true, localValidation: true }, ADMIN_KEY)).secret;
    const v = validator(transport, { adminKey: validateOnly });
    await v.snapshotComplete();
    v.close();
  });

  it("lists and creates admin keys with the right", async () => {
    const c = t.callers[1]!;
    const res = await c.call(AdminKeyService, "createAdminKey", { name: "lv", localValidation: true }, ADMIN_KEY);
    expect(res.adminKey?.localValidation).toBe(true);
    const listed = (await c.call(AdminKeyService, "listAdminKeys", {}, ADMIN_KEY)).adminKeys;
    expect(listed.find((k) => k.id === res.adminKey!.id)?.localValidation).toBe(true);
    expect(listed.find((k) => k.name === "plain")?.localValidation).toBe(false);
  });

  it.each(TRANSPORTS)("sends a large snapshot in chunks of at most 1,000 keys, complete on the last only (%s)", async (transport) => {
    const orgId = `org_big_${randomBytes(3).toString("hex")}`;
    const n = 2345;
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const id = `key_${randomBytes(10).toString("hex").slice(0, 20)}`;
      await t.deps.stores.keys.insert({
        id, orgId, name: `bulk ${i}`, scopes: ["a:read", "b:write"], metadata: { team: "bulk" }, enabled: true, displayHint: "flux_…abcd",
        createdAtMs: now - i, updatedAtMs: now - i, digest: randomBytes(32).toString("base64url"), rateLimit: { requests: 100, windowSeconds: 60 },
      });
    }
    const limited = (await t.callers[0]!.call(AdminKeyService, "createAdminKey", { name: "big", orgId, localValidation: true }, ADMIN_KEY)).secret;
    const v = validator(transport, { adminKey: limited });
    await v.snapshotComplete();
    checkSequence(v.messages);
    const chunks = v.messages.flatMap((m) => (m.event.case === "snapshot" ? [m.event.value] : []));
    expect(chunks.map((c) => c.keys.length)).toEqual([1000, 1000, 345]);
    expect(chunks.map((c) => c.complete)).toEqual([false, false, true]);
    expect(new Set(chunks.flatMap((c) => c.keys.map((k) => k.info!.id))).size).toBe(n);
    const bytes = v.raw.slice(1, 1 + chunks.length).reduce((a, b) => a + b.length, 0);
    console.log(`snapshot: ${n} keys in ${chunks.length} chunks, ${Math.round(bytes / n)} bytes per key on the wire`);
    v.close();
  });

  it("acknowledgements of an unknown session answer VALIDATOR_SESSION_ENDED", async () => {
    const err = await failure(t.callers[1]!.call(LocalValidationService, "acknowledgeKeyChanges", { sessionId: "vs_nope", appliedSeq: 1n }, validatorKey));
    expect(err.reason).toBe("VALIDATOR_SESSION_ENDED");
  });
});
