// The tenant matrix of LocalValidationService (SubscribeKeys, AcknowledgeKeyChanges) × caller × target, over both
// transports and stores. Only admin keys with the local_validation right may call it (validate-only or not); the
// bootstrap FLUX_ADMIN_KEY has no such right; another admin key's session answers exactly like a missing one.
import { randomBytes } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { LocalValidationService } from "../../gen/ts/flux/apikeys/v1/local_validation_pb.js";
import { RpcFailure } from "../support/callers.js";
import { RawValidator, type Transport } from "../support/raw-validators.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import type { StoreKind } from "../support/stores.js";

type CallerName = "all" | "orgLimited" | "validateOnly" | "noRight" | "validateOnlyNoRight" | "bootstrap" | "revoked" | "none" | "garbage";
const CALLERS: CallerName[] = ["all", "orgLimited", "validateOnly", "noRight", "validateOnlyNoRight", "bootstrap", "revoked", "none", "garbage"];
type Target = "own" | "other" | "missing";
const OK = 0 as Code;
const nameOf = (c: Code) => (c === OK ? "OK" : Code[c]);
const WITH_RIGHT = new Set<CallerName>(["all", "orgLimited", "validateOnly"]);

function expectedSubscribe(c: CallerName): Code {
  if (c === "revoked" || c === "none" || c === "garbage") return Code.Unauthenticated;
  return WITH_RIGHT.has(c) ? OK : Code.PermissionDenied;
}

function expectedAck(c: CallerName, target: Target): Code {
  const s = expectedSubscribe(c);
  if (s !== OK) return s;
  return target === "own" ? OK : Code.FailedPrecondition;
}

describe.each((process.env.FLUX_MATRIX_STORES ?? "embedded,mongodb").split(",") as StoreKind[])("local validation tenant matrix on the %s store", (kind) => {
  let t: TestServer;
  const secrets = {} as Record<CallerName, string | undefined>;
  const orgA = `org_a_${randomBytes(3).toString("hex")}`;
  let holder: string;

  beforeAll(async () => {
    t = await startTestServer(kind, `matrix-local-${kind}`, { config: { FLUX_AUTH_FAILURES_PER_MINUTE: 0 } });
    const c = t.callers[0]!;
    const make = async (name: string, o: { orgId?: string; validateOnly?: boolean; localValidation?: boolean }) =>
      c.call(AdminKeyService, "createAdminKey", { name, ...o }, ADMIN_KEY);
    secrets.all = (await make("all", { localValidation: true })).secret;
    holder = (await make("holder", { localValidation: true })).secret;
    secrets.orgLimited = (await make("org-a", { orgId: orgA, localValidation: true })).secret;
    secrets.validateOnly = (await make("vo", { validateOnly: true, localValidation: true })).secret;
    secrets.noRight = (await make("plain", {})).secret;
    secrets.validateOnlyNoRight = (await make("vo-plain", { validateOnly: true })).secret;
    secrets.bootstrap = ADMIN_KEY;
    const revoked = await make("revoked", { localValidation: true });
    await c.call(AdminKeyService, "revokeAdminKey", { id: revoked.adminKey!.id }, ADMIN_KEY);
    secrets.revoked = revoked.secret;
    secrets.none = undefined;
    secrets.garbage = "definitely-not-an-admin-key";
  });
  afterAll(() => t?.stop());

  it.each(["grpc", "connect"] as Transport[])("answers every cell as expected over %s", async (transport) => {
    const port = transport === "grpc" ? t.server.grpcPort : t.server.httpPort;
    const caller = t.callers.find((c) => c.name === transport)!;
    const subscribe = (adminKey: string | undefined) => new RawValidator({ transport, port, adminKey, caller }).start();
    // The session every "other" cell aims at: another admin key's (unrestricted, with the right), acknowledging.
    const other = new RawValidator({ transport, port, adminKey: holder, caller, autoAckDelayMs: 0 }).start();
    await other.snapshotComplete();
    const foreign: Record<string, string> = {};
    for (const who of CALLERS) {
      // SubscribeKeys: a session and a snapshot, or the stream's error.
      const v = subscribe(secrets[who]);
      const exp = expectedSubscribe(who);
      if (exp === OK) {
        await v.snapshotComplete();
        const first = v.messages[0]!.event;
        expect(first.case === "session" && first.value.orgId, `${who}: session org`).toBe(who === "orgLimited" ? orgA : "");
      } else {
        const how = await v.ended();
        expect(how === "ok" ? "OK" : nameOf(how.code), `SubscribeKeys by ${who}`).toBe(nameOf(exp));
      }
      // AcknowledgeKeyChanges on its own session, another admin key's, and one that does not exist.
      for (const target of ["own", "other", "missing"] as Target[]) {
        const sessionId = target === "own" ? v.sessionId || `vs_${randomBytes(12).toString("base64url")}` : target === "other" ? other.sessionId : `vs_${randomBytes(12).toString("base64url")}`;
        const got = await caller.call(LocalValidationService, "acknowledgeKeyChanges", { sessionId, appliedSeq: 1n }, secrets[who]).then(
          () => ({ code: OK, err: undefined }),
          (err: unknown) => {
            if (!(err instanceof RpcFailure)) throw err;
            return { code: err.code, err };
          },
        );
        const want = expectedAck(who, target);
        expect(nameOf(got.code), `AcknowledgeKeyChanges by ${who} on ${target}`).toBe(nameOf(want));
        if (want === Code.FailedPrecondition) {
          expect(got.err?.reason).toBe("VALIDATOR_SESSION_ENDED");
          const shape = JSON.stringify({ code: got.err?.code, message: got.err?.message, reason: got.err?.reason, metadata: got.err?.metadata });
          (foreign[`${who}/${target}`] = shape);
        }
        if (got.code === Code.PermissionDenied) expect(got.err?.reason).toBe("PERMISSION_DENIED");
      }
      v.close();
    }
    // Another admin key's session looks exactly like a missing one.
    for (const who of CALLERS.filter((c) => WITH_RIGHT.has(c))) expect(foreign[`${who}/other`], who).toBe(foreign[`${who}/missing`]);
    // The other session is untouched: still open, still acknowledging for its own key.
    expect(other.endedWith).toBeUndefined();
    expect(await other.ack()).toBeGreaterThan(0);
    other.close();
  });
});
