// A validator server's settings and bounds: validator_name at 100 characters and one past, session_id past its
// bound, the per-process session limit (past it: VALIDATOR_SESSION_ENDED at once), and FLUX_KEY_PEPPER
// (digest_algorithm HMAC_SHA256_PEPPER, pepper_id, digests a validator can compute from a secret and the pepper).
import { createHmac } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { DigestAlgorithm, LocalValidationService } from "../../gen/ts/flux/apikeys/v1/local_validation_pb.js";
import { LIMITS } from "../../src/domain/limits.js";
import { failure } from "../support/callers.js";
import { createKey } from "../support/fixtures.js";
import { RawValidator, type Transport } from "../support/raw-validators.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";

const PEPPER = "a-pepper-for-the-validator-tests-0123";
const MAX_SESSIONS = 2;

describe("validator settings and bounds (embedded store, FLUX_KEY_PEPPER set)", () => {
  let t: TestServer;
  let validatorKey: string;
  const open: RawValidator[] = [];
  const validator = (transport: Transport, name = "") => {
    const port = transport === "grpc" ? t.server.grpcPort : t.server.httpPort;
    const v = new RawValidator({ transport, port, adminKey: validatorKey, caller: t.callers[0]!, name }).start();
    open.push(v);
    return v;
  };

  beforeAll(async () => {
    t = await startTestServer("embedded", "local-settings", { config: { FLUX_KEY_PEPPER: PEPPER, FLUX_VALIDATOR_MAX_SESSIONS: MAX_SESSIONS } });
    validatorKey = (await t.callers[0]!.call(AdminKeyService, "createAdminKey", { name: "validators", localValidation: true }, ADMIN_KEY)).secret;
  });
  afterAll(async () => {
    for (const v of open) v.close();
    await t?.stop();
  });

  it.each(["grpc", "connect"] as Transport[])("with FLUX_KEY_PEPPER, digests are HMAC-SHA-256 with the pepper and pepper_id proves it (%s)", async (transport) => {
    const { key, secret } = await createKey(t.callers[0]!);
    const v = validator(transport);
    await v.snapshotComplete();
    const s = v.messages[0]!.event;
    expect(s.case).toBe("session");
    if (s.case !== "session") return;
    expect(s.value.digestAlgorithm).toBe(DigestAlgorithm.HMAC_SHA256_PEPPER);
    expect(s.value.pepperId).toBe(createHmac("sha256", PEPPER).update("flux-pepper-id").digest("base64url"));
    const local = v.messages.flatMap((m) => (m.event.case === "snapshot" ? m.event.value.keys : [])).find((k) => k.info?.id === key.id);
    expect(local?.digest).toBe(createHmac("sha256", PEPPER).update(secret).digest("base64url"));
    v.close();
    await expect.poll(() => t.deps.services.validators.size).toBe(0);
  });

  it.each(["grpc", "connect"] as Transport[])(`validator_name: ${LIMITS.validatorNameLength} characters accepted, one more INVALID_ARGUMENT (%s)`, async (transport) => {
    const at = validator(transport, "v".repeat(LIMITS.validatorNameLength));
    await at.snapshotComplete();
    at.close();
    const past = validator(transport, "v".repeat(LIMITS.validatorNameLength + 1));
    const how = await past.ended();
    expect(how !== "ok" && Code[how.code]).toBe("InvalidArgument");
    expect(how !== "ok" && how.reason).toBe("INVALID_ARGUMENT");
    await expect.poll(() => t.deps.services.validators.size).toBe(0);
  });

  it("session_id past its bound is INVALID_ARGUMENT; a missing one too", async () => {
    for (const sessionId of ["", "s".repeat(LIMITS.idLength + 1)]) {
      const err = await failure(t.callers[0]!.call(LocalValidationService, "acknowledgeKeyChanges", { sessionId, appliedSeq: 1n }, validatorKey));
      expect(err.reason).toBe("INVALID_ARGUMENT");
    }
  });

  it.each(["grpc", "connect"] as Transport[])(`holds at most ${MAX_SESSIONS} sessions; past that SubscribeKeys ends at once with VALIDATOR_SESSION_ENDED (%s)`, async (transport) => {
    const held = [validator(transport), validator(transport)];
    for (const v of held) await v.snapshotComplete();
    const past = validator(transport);
    const how = await past.ended();
    expect(how !== "ok" && Code[how.code]).toBe("FailedPrecondition");
    expect(how !== "ok" && how.reason).toBe("VALIDATOR_SESSION_ENDED");
    // Once one closes, a new one is admitted.
    held[0]!.close();
    await expect.poll(() => t.deps.services.validators.size).toBe(1);
    const again = validator(transport);
    await again.snapshotComplete();
    again.close();
    held[1]!.close();
    await expect.poll(() => t.deps.services.validators.size).toBe(0);
  });
});
