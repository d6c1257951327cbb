// The tenant matrix of LeaseLimits and ReportLocalUsage: caller × session × target key, over both transports and
// stores. Only admin keys with the local_validation right may call them, on their own sessions; an org-limited
// session leasing another organisation's key gets exactly the missing key's KEY_NOT_FOUND, and its reports about
// such keys count nothing. Nothing a refused call names is touched: window counts, balances and usage included.
import { randomBytes } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { LocalValidationService } from "../../gen/ts/flux/apikeys/v1/local_validation_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { RpcFailure } from "../support/callers.js";
import { LimitsClient } from "../support/local-limits-client.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

type CallerName = "all" | "orgLimited" | "validateOnly" | "noRight" | "bootstrap" | "revoked" | "none" | "garbage";
const CALLERS: CallerName[] = ["all", "orgLimited", "validateOnly", "noRight", "bootstrap", "revoked", "none", "garbage"];
const WITH_RIGHT = new Set<CallerName>(["all", "orgLimited", "validateOnly"]);
type Target = "ownOrg" | "otherOrg" | "missing";
type SessionOf = "own" | "another" | "none";
const OK = 0 as Code;
const nameOf = (c: Code) => (c === OK ? "OK" : Code[c]);
const MISSING_KEY = "key_00000000000000000000";

function expected(c: CallerName, session: SessionOf, target: Target, method: "lease" | "report"): Code {
  if (c === "revoked" || c === "none" || c === "garbage") return Code.Unauthenticated;
  if (!WITH_RIGHT.has(c)) return Code.PermissionDenied;
  if (session !== "own") return Code.FailedPrecondition; // another admin key's session looks like an ended one
  if (method === "report") return OK; // entries about keys it cannot see are ignored
  return target === "missing" || (c === "orgLimited" && target === "otherOrg") ? Code.NotFound : OK;
}

describe.each(STORE_KINDS)("LeaseLimits / ReportLocalUsage tenant matrix on the %s store", (kind) => {
  let t: TestServer;
  const secrets = {} as Record<CallerName, string | undefined>;
  const orgA = `org_a_${randomBytes(3).toString("hex")}`;
  const orgB = `org_b_${randomBytes(3).toString("hex")}`;
  let holder: string;
  beforeAll(async () => {
    t = await startTestServer(kind, `matrix-limits-${kind}`, { config: { FLUX_AUTH_FAILURES_PER_MINUTE: 0 } });
    const c = t.callers[0]!;
    const make = async (name: string, o: { orgId?: string; validateOnly?: boolean; localValidation?: boolean }) => c.call(AdminKeyService, "createAdminKey", { name, ...o }, ADMIN_KEY);
    secrets.all = (await make("all", { localValidation: true })).secret;
    holder = (await make("holder", { localValidation: true })).secret;
    secrets.orgLimited = (await make("org-a", { orgId: orgA, localValidation: true })).secret;
    secrets.validateOnly = (await make("vo", { validateOnly: true, localValidation: true })).secret;
    secrets.noRight = (await make("plain", {})).secret;
    secrets.bootstrap = ADMIN_KEY;
    const revoked = await make("revoked", { localValidation: true });
    await c.call(AdminKeyService, "revokeAdminKey", { id: revoked.adminKey!.id }, ADMIN_KEY);
    secrets.revoked = revoked.secret;
    secrets.none = undefined;
    secrets.garbage = "definitely-not-an-admin-key";
  });
  afterAll(() => t?.stop());

  it.each([0, 1])("answers every cell as expected and touches nothing a refused call names (caller %i)", { timeout: 60_000 }, async (ci) => {
    const caller = t.callers[ci]!;
    const port = { grpc: t.server.grpcPort, http: t.server.httpPort };
    const key = async (orgId: string) => (await caller.call(ApiKeyService, "createApiKey", { orgId, name: "k", rateLimit: { requests: 1000, windowSeconds: 3600 }, credits: { remaining: 1000n } }, ADMIN_KEY)).apiKey!;
    const keys: Record<Target, string> = { ownOrg: (await key(orgA)).id, otherOrg: (await key(orgB)).id, missing: MISSING_KEY };
    const another = await new LimitsClient(caller, holder, port).ready();
    const sessions: LimitsClient[] = [another];
    const granted: Record<Target, { points: number; credits: number }> = { ownOrg: { points: 0, credits: 0 }, otherOrg: { points: 0, credits: 0 }, missing: { points: 0, credits: 0 } };
    const reported: Record<Target, number> = { ownOrg: 0, otherOrg: 0, missing: 0 };
    const shapes: Record<string, string> = {};
    let seq = 0;
    for (const who of CALLERS) {
      const own = WITH_RIGHT.has(who) ? await new LimitsClient(caller, secrets[who]!, port).ready() : undefined;
      if (own) sessions.push(own);
      for (const session of ["own", "another", "none"] as SessionOf[]) {
        const sessionId = session === "own" ? (own?.sessionId ?? `vs_${randomBytes(12).toString("base64url")}`) : session === "another" ? another.sessionId : `vs_${randomBytes(12).toString("base64url")}`;
        for (const target of ["ownOrg", "otherOrg", "missing"] as Target[]) {
          const lease = await settle(caller.call(LocalValidationService, "leaseLimits", { sessionId, keyId: keys[target], rateLimitPoints: 10, credits: 10n }, secrets[who]));
          const want = expected(who, session, target, "lease");
          expect(nameOf(lease.code), `LeaseLimits by ${who} on ${session} session, ${target} key`).toBe(nameOf(want));
          if (lease.res) {
            granted[target].points += lease.res.rateLimit?.granted ?? 0;
            granted[target].credits += Number(lease.res.credits?.granted ?? 0n);
          }
          if (lease.err) shapes[`${who}/${session}/${target}`] = JSON.stringify({ code: lease.err.code, reason: lease.err.reason, message: lease.err.message.replace(keys[target], "ID"), metadata: { ...lease.err.metadata, id: lease.err.metadata.id && "ID" } });
          const report = await settle(
            caller.call(LocalValidationService, "reportLocalUsage", { sessionId, reportSeq: BigInt(++seq), keys: [{ keyId: keys[target], outcomes: [{ outcome: Outcome.VALID, count: 5n }] }] }, secrets[who]),
          );
          const wantReport = expected(who, session, target, "report");
          expect(nameOf(report.code), `ReportLocalUsage by ${who} on ${session} session, ${target} key`).toBe(nameOf(wantReport));
          if (report.code === OK && target !== "missing" && !(who === "orgLimited" && target === "otherOrg")) reported[target] += 5;
          if (want === Code.FailedPrecondition) expect(lease.err?.reason).toBe("VALIDATOR_SESSION_ENDED");
        }
      }
    }
    // An org-limited session cannot tell another organisation's key from a missing one; nor anyone another's session.
    expect(shapes["orgLimited/own/otherOrg"]).toBe(shapes["orgLimited/own/missing"]);
    for (const who of WITH_RIGHT) expect(shapes[`${who}/another/ownOrg`]).toBe(shapes[`${who}/none/ownOrg`]);
    // Usage holds exactly the counted reports; window and balance exactly the grants (the network takes the rest).
    for (const target of ["ownOrg", "otherOrg"] as const) {
      const u = await caller.call(ApiKeyService, "getApiKeyUsage", { id: keys[target] }, ADMIN_KEY);
      expect(Number(u.requestsCurrentPeriod), `${target} usage`).toBe(reported[target]);
      const a = await another.lease(keys[target], 1, 1n);
      expect([a.rateLimit!.unleased, Number(a.credits!.unleased)], `${target} window and balance`).toEqual([1000 - granted[target].points - 1, 1000 - granted[target].credits - 1]);
    }
    for (const s of sessions) s.close();
  });
});

async function settle<T>(p: Promise<T>): Promise<{ code: Code; res?: T; err?: RpcFailure }> {
  try {
    return { code: OK, res: await p };
  } catch (err) {
    if (err instanceof RpcFailure) return { code: err.code, err };
    throw err;
  }
}
