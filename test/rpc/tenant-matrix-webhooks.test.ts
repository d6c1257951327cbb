// The tenant matrix of WebhookService: every RPC × caller × target over both transports and both stores. Org-limited
// admin keys reach only their org's endpoints (another org's, and endpoints for all orgs, answer exactly like a
// missing one); validate-only keys are PERMISSION_DENIED; no key is UNAUTHENTICATED; and no refused call changes
// anything (endpoints, their secrets, the audit log).
import { randomBytes } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { AuditService, AuditTargetType } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { WebhookService } from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";
import { type Caller, RpcFailure } from "../support/callers.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

type CallerName = "unrestricted" | "ownAdmin" | "validateOnly" | "none" | "garbage";
type Target = "own" | "other" | "forAll" | "missing";
const CALLERS: CallerName[] = ["unrestricted", "ownAdmin", "validateOnly", "none", "garbage"];
const TARGETS: Target[] = ["own", "other", "forAll", "missing"];
const RPCS = ["create", "get", "list", "update", "delete", "rotate", "deliveries"] as const;
type Rpc = (typeof RPCS)[number];
const OK = 0 as Code;
const MUTATING = new Set<Rpc>(["create", "update", "delete", "rotate"]);
const URL_ = "http://127.0.0.1:9/hooks"; // never called: no event type of these endpoints happens here

function expected(rpc: Rpc, caller: CallerName, target: Target): Code {
  if (caller === "none" || caller === "garbage") return Code.Unauthenticated;
  if (caller === "validateOnly") return Code.PermissionDenied;
  if (rpc === "list") return OK;
  if (rpc === "create") return target === "missing" ? Code.InvalidArgument : caller === "unrestricted" || target === "own" ? OK : Code.PermissionDenied;
  if (target === "missing") return Code.NotFound;
  return caller === "unrestricted" || target === "own" ? OK : Code.NotFound;
}

describe.each(STORE_KINDS)("webhook tenant matrix on the %s store", (kind) => {
  let t: TestServer;
  const orgA = `org_a_${randomBytes(3).toString("hex")}`;
  const orgB = `org_b_${randomBytes(3).toString("hex")}`;
  const secrets = {} as Record<CallerName, string | undefined>;
  const admin = () => t.callers[0]!;

  beforeAll(async () => {
    t = await startTestServer(kind, `wh-matrix-${kind}`, { config: { FLUX_AUTH_FAILURES_PER_MINUTE: 0, FLUX_WEBHOOK_ALLOW_PRIVATE: true } });
    const adminKey = async (name: string, orgId: string, validateOnly = false) =>
      (await admin().call(AdminKeyService, "createAdminKey", { name, orgId, validateOnly }, ADMIN_KEY)).secret;
    secrets.unrestricted = ADMIN_KEY;
    secrets.ownAdmin = await adminKey("a", orgA);
    secrets.validateOnly = await adminKey("a-validate", orgA, true);
    secrets.none = undefined;
    secrets.garbage = "definitely-not-an-admin-key";
  }, 60_000);
  afterAll(() => t?.stop());

  const newEndpoint = async (target: Exclude<Target, "missing">) => {
    const orgId = target === "own" ? orgA : target === "other" ? orgB : "";
    return (await admin().call(WebhookService, "createWebhookEndpoint", { endpoint: { orgId, url: URL_, eventTypes: ["key.expiring"] } }, ADMIN_KEY)).endpoint!;
  };

  function send(c: Caller, rpc: Rpc, id: string, target: Target, key: string | undefined) {
    const orgId = target === "own" ? orgA : target === "other" ? orgB : target === "forAll" ? "" : "bad org id!";
    switch (rpc) {
      case "create":
        return c.call(WebhookService, "createWebhookEndpoint", { endpoint: { orgId, url: URL_, eventTypes: ["key.expiring"] } }, key);
      case "get":
        return c.call(WebhookService, "getWebhookEndpoint", { id }, key);
      case "list":
        return c.call(WebhookService, "listWebhookEndpoints", { orgId: target === "own" ? orgA : target === "other" ? orgB : "" }, key);
      case "update":
        return c.call(WebhookService, "updateWebhookEndpoint", { endpoint: { id, description: "changed" }, updateMask: { paths: ["description"] } }, key);
      case "delete":
        return c.call(WebhookService, "deleteWebhookEndpoint", { id }, key);
      case "rotate":
        return c.call(WebhookService, "rotateWebhookSecret", { id }, key);
      case "deliveries":
        return c.call(WebhookService, "listWebhookDeliveries", { endpointId: id }, key);
    }
  }

  it.each(["grpc", "connect"] as const)("answers every cell as expected over %s and changes nothing it may not", async (transport) => {
    const c = t.callers.find((x) => x.name === transport)!;
    const fixed = { own: await newEndpoint("own"), other: await newEndpoint("other"), forAll: await newEndpoint("forAll") };
    const world = async () => {
      const [eps, events] = await Promise.all([
        admin().call(WebhookService, "listWebhookEndpoints", { pageSize: 1000 }, ADMIN_KEY),
        admin().call(AuditService, "listAuditEvents", { targetType: AuditTargetType.WEBHOOK_ENDPOINT, pageSize: 1000 }, ADMIN_KEY),
      ]);
      return { endpoints: eps.endpoints, events: events.events.map((e) => e.id) };
    };
    const notFound = new Map<string, Set<string>>();
    let before = await world();
    for (const rpc of RPCS) {
      for (const caller of CALLERS) {
        for (const target of TARGETS) {
          const exp = expected(rpc, caller, target);
          const label = `${rpc} by ${caller} on ${target}`;
          let id = target === "missing" ? `whe_${"x".repeat(20)}` : fixed[target].id;
          if (exp === OK && MUTATING.has(rpc) && target !== "missing" && rpc !== "create") {
            id = (await newEndpoint(target)).id;
            before = await world();
          }
          const answer = await send(c, rpc, id, target, secrets[caller]).then(
            (res) => ({ code: OK, res: res as unknown }),
            (err: unknown) => {
              if (!(err instanceof RpcFailure)) throw err;
              return { code: err.code, err };
            },
          );
          expect(Code[answer.code] ?? "OK", label).toBe(Code[exp] ?? "OK");
          if (exp === Code.NotFound) {
            const e = (answer as { err: RpcFailure }).err;
            expect(e.reason, label).toBe("WEBHOOK_ENDPOINT_NOT_FOUND");
            const shape = JSON.stringify({ code: e.code, message: e.message, reason: e.reason, metadata: e.metadata }).replaceAll(id, "<id>");
            if (!notFound.has(rpc)) notFound.set(rpc, new Set());
            notFound.get(rpc)!.add(shape);
          }
          if (rpc === "list" && answer.code === OK && caller === "ownAdmin") {
            const listed = (answer as { res: { endpoints: { orgId: string }[] } }).res.endpoints;
            expect(listed.every((e) => e.orgId === orgA), `${label}: only the caller's org`).toBe(true);
            if (target === "own") expect(listed.length, label).toBeGreaterThan(0);
          }
          const after = await world();
          if (!(exp === OK && MUTATING.has(rpc))) expect(after, `${label}: nothing changed`).toEqual(before);
          before = after;
        }
      }
    }
    // Another org's endpoint, an endpoint for all and a missing one answer alike (but for the id).
    for (const [rpc, shapes] of notFound) expect([...shapes], rpc).toHaveLength(1);
  });
});
