// The same guarantee as replicas, on the embedded store: Rotate, Revoke, Disable, scope updates and organisation
// policy changes return only after every session that can see them acknowledged the change; a session that does not
// acknowledge in time is cut off (VALIDATOR_SESSION_ENDED) and the change returns once stale_after has passed since
// its last answered acknowledgement. Raw grpc-js and Connect validators, acknowledging by hand.
import { randomBytes } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { KeyState } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import type { LocalKey, SubscribeKeysResponse } from "../../gen/ts/flux/apikeys/v1/local_validation_pb.js";
import { OrganizationService } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import { failure } from "../support/callers.js";
import { createKey, defineScopes } from "../support/fixtures.js";
import { checkSequence, RawValidator, type Transport } from "../support/raw-validators.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";

const TRANSPORTS: Transport[] = ["grpc", "connect"];
const STALE_AFTER_MS = 1200; // generous: acknowledgements on a loaded 2-core machine can take a few hundred ms
const ACK_TIMEOUT_MS = 1000;

const changedKey = (id: string, pred: (k: LocalKey) => boolean = () => true) => (m: SubscribeKeysResponse) =>
  m.event.case === "change" && m.event.value.change.case === "key" && m.event.value.change.value.info?.id === id && pred(m.event.value.change.value);

/** The latest state of a key the validator received (snapshot or change). */
function latest(v: RawValidator, id: string): LocalKey | undefined {
  let found: LocalKey | undefined;
  for (const m of v.messages) {
    if (m.event.case === "snapshot") found = m.event.value.keys.find((k) => k.info?.id === id) ?? found;
    if (m.event.case === "change" && m.event.value.change.case === "key" && m.event.value.change.value.info?.id === id) found = m.event.value.change.value;
  }
  return found;
}

/** Tracks whether a promise has settled, without awaiting it. */
function watch<T>(p: Promise<T>) {
  const w = { settled: false, promise: p };
  void p.then(
    () => (w.settled = true),
    () => (w.settled = true),
  );
  return w;
}

describe("key changes wait for local validators (embedded store)", () => {
  let t: TestServer;
  let validatorKey: string;
  const org = `org_${randomBytes(3).toString("hex")}`;
  const open: RawValidator[] = [];
  const validator = async (transport: Transport, autoAckDelayMs?: number) => {
    const port = transport === "grpc" ? t.server.grpcPort : t.server.httpPort;
    const v = new RawValidator({ transport, port, adminKey: validatorKey, caller: t.callers[0]!, autoAckDelayMs }).start();
    open.push(v);
    await v.snapshotComplete();
    await v.ack();
    return v;
  };

  beforeAll(async () => {
    t = await startTestServer("embedded", "local-changes", {
      config: { FLUX_VALIDATOR_STALE_AFTER_MS: STALE_AFTER_MS, FLUX_VALIDATOR_ACK_TIMEOUT_MS: ACK_TIMEOUT_MS, FLUX_VALIDATOR_HEARTBEAT_MS: 200 },
    });
    validatorKey = (await t.callers[0]!.call(AdminKeyService, "createAdminKey", { name: "validators", localValidation: true }, ADMIN_KEY)).secret;
    await defineScopes(t.callers[0]!, "local:read", "local:write");
  });
  afterAll(async () => {
    for (const v of open) v.close();
    await t?.stop();
  });

  const CHANGES: [string, (id: string) => Promise<unknown>, (k: LocalKey, before: LocalKey | undefined) => boolean][] = [
    ["RevokeApiKey", (id) => t.callers[0]!.call(ApiKeyService, "revokeApiKey", { id }, ADMIN_KEY), (k) => k.state === KeyState.REVOKED],
    ["RotateApiKey", (id) => t.callers[0]!.call(ApiKeyService, "rotateApiKey", { id }, ADMIN_KEY), (k, b) => k.digest !== b?.digest && k.state === KeyState.ACTIVE],
    [
      "UpdateApiKey (disable)",
      (id) => t.callers[0]!.call(ApiKeyService, "updateApiKey", { apiKey: { id, enabled: false }, updateMask: { paths: ["enabled"] } }, ADMIN_KEY),
      (k) => k.state === KeyState.DISABLED,
    ],
    [
      "UpdateApiKey (scopes)",
      (id) => t.callers[0]!.call(ApiKeyService, "updateApiKey", { apiKey: { id, scopes: ["local:write"] }, updateMask: { paths: ["scopes"] } }, ADMIN_KEY),
      (k) => k.info?.scopes.join() === "local:write",
    ],
  ];

  for (const transport of TRANSPORTS) {
    it.each(CHANGES)(`%s returns only after the session acknowledged the change (${transport})`, async (_name, change, shows) => {
      const { key } = await createKey(t.callers[0]!, { orgId: org, scopes: ["local:read"] });
      const v = await validator(transport);
      const before = latest(v, key.id);
      expect(before?.state).toBe(KeyState.ACTIVE);
      const rpc = watch(change(key.id));
      const m = await v.until(changedKey(key.id, (k) => shows(k, before)), "the change");
      // Received, not acknowledged: the RPC is still waiting for this validator.
      expect(rpc.settled).toBe(false);
      await v.ack(Number(m.seq));
      await rpc.promise;
      expect(v.endedWith).toBeUndefined();
      checkSequence(v.messages);
      v.close();
    });
  }

  it.each(TRANSPORTS)("holds the RPC for a validator that acknowledges slowly, without cutting it off (%s)", async (transport) => {
    const { key } = await createKey(t.callers[0]!, { orgId: org });
    const v = await validator(transport, ACK_TIMEOUT_MS / 3);
    expect(latest(v, key.id)).toBeDefined();
    await t.callers[0]!.call(ApiKeyService, "revokeApiKey", { id: key.id }, ADMIN_KEY);
    const m = v.messages.find(changedKey(key.id, (k) => k.state === KeyState.REVOKED));
    expect(m).toBeDefined();
    expect(v.maxAckSent).toBeGreaterThanOrEqual(Number(m!.seq));
    expect(v.endedWith).toBeUndefined();
    v.close();
  });

  it.each(TRANSPORTS)("cuts off a validator that never acknowledges; the RPC returns once stale_after passed since its last answered acknowledgement (%s)", async (transport) => {
    const { key } = await createKey(t.callers[0]!, { orgId: org });
    const v = await validator(transport); // acknowledged its snapshot once, never again
    const started = Date.now();
    await t.callers[0]!.call(ApiKeyService, "revokeApiKey", { id: key.id }, ADMIN_KEY);
    const returned = Date.now();
    // By then the validator, counting from before that answer, is stale.
    expect(returned - v.lastOkAckSentAtMs).toBeGreaterThanOrEqual(STALE_AFTER_MS);
    expect(returned - started, "returns within the bound (hang detector)").toBeLessThan(10_000);
    const how = await v.ended();
    expect(how).not.toBe("ok");
    if (how === "ok") return;
    expect(Code[how.code]).toBe("FailedPrecondition");
    expect(how.reason).toBe("VALIDATOR_SESSION_ENDED");
    const later = await failure(v.ack());
    expect(later.reason).toBe("VALIDATOR_SESSION_ENDED");
    const metrics = await (await fetch(`http://127.0.0.1:${t.server.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/flux_validator_cutoffs_total\{reason="ack_timeout"\} [1-9]/);
    expect(metrics).toMatch(/flux_validator_ack_wait_seconds_count [1-9]/);
    expect(metrics).toMatch(/flux_validator_sessions \d/);
  });

  it.each(TRANSPORTS)("ends a session that stops acknowledging, even when nothing changes (%s)", async (transport) => {
    const v = await validator(transport); // acknowledged its snapshot once, never again
    const how = await v.ended();
    expect(how !== "ok" && how.reason).toBe("VALIDATOR_SESSION_ENDED");
    expect(Date.now() - v.lastOkAckSentAtMs).toBeGreaterThanOrEqual(ACK_TIMEOUT_MS + STALE_AFTER_MS);
  });

  it.each(TRANSPORTS)("an organisation policy change reaches the session (validate_remotely) before UpdateOrganizationPolicy returns (%s)", async (transport) => {
    const orgId = `org_p_${randomBytes(3).toString("hex")}`;
    const v = await validator(transport);
    const rpc = watch(
      t.callers[0]!.call(OrganizationService, "updateOrganizationPolicy", { policy: { orgId, rateLimit: { requests: 10, windowSeconds: 60 } }, updateMask: { paths: ["rate_limit"] } }, ADMIN_KEY),
    );
    const m = await v.until((x) => x.event.case === "change" && x.event.value.change.case === "organization" && x.event.value.change.value.orgId === orgId, "the policy change");
    expect(m.event.case === "change" && m.event.value.change.case === "organization" && m.event.value.change.value.validateRemotely).toBe(true);
    expect(rpc.settled).toBe(false);
    await v.ack(Number(m.seq));
    await rpc.promise;
    // A new session lists the organisation in its snapshot.
    const w = await validator(transport);
    const orgs = w.messages.flatMap((x) => (x.event.case === "snapshot" ? x.event.value.organizations : []));
    expect(orgs.find((o) => o.orgId === orgId)?.validateRemotely).toBe(true);
    v.close();
    w.close();
  });

  it.each(TRANSPORTS)("CreateApiKey does not wait, and the new key reaches the session at once (%s)", async (transport) => {
    const v = await validator(transport);
    v.autoAckDelayMs = undefined;
    const { key } = await createKey(t.callers[0]!, { orgId: org }); // the validator never acknowledges it
    await v.until(changedKey(key.id, (k) => k.state === KeyState.ACTIVE), "the created key");
    v.close();
  });

  it.each(TRANSPORTS)("revoking the session's admin key ends the session before RevokeAdminKey returns (%s)", async (transport) => {
    const c = t.callers[0]!;
    const created = await c.call(AdminKeyService, "createAdminKey", { name: "short-lived", localValidation: true }, ADMIN_KEY);
    const port = transport === "grpc" ? t.server.grpcPort : t.server.httpPort;
    const v = new RawValidator({ transport, port, adminKey: created.secret, caller: c }).start();
    open.push(v);
    await v.snapshotComplete();
    await v.ack();
    await c.call(AdminKeyService, "revokeAdminKey", { id: created.adminKey!.id }, ADMIN_KEY);
    expect(Date.now() - v.lastOkAckSentAtMs).toBeGreaterThanOrEqual(STALE_AFTER_MS);
    const how = await v.ended();
    expect(how !== "ok" && how.reason).toBe("VALIDATOR_SESSION_ENDED");
  });
});
