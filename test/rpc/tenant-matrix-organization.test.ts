// The tenant matrix of OrganizationService: every RPC × caller × target organisation, over both transports and both
// stores. Org-limited admin keys reach only their own organisation (another one, existing or not, is
// PERMISSION_DENIED, as for CreateApiKey: organisations are named, not looked up); validate-only keys may not call;
// no or a bad admin key is UNAUTHENTICATED. Usage reads never reveal another organisation's numbers, and a refused
// policy change leaves both organisations' policies as they were. A method not served yet answers UNIMPLEMENTED.
import { randomBytes } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { OrganizationService } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import { createServedServices } from "../../src/transport/handlers.js";
import { type Caller, RpcFailure } from "../support/callers.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import type { StoreKind } from "../support/stores.js";

type CallerName = "ownAdmin" | "otherAdmin" | "validateOnly" | "revokedAdmin" | "none" | "garbage";
type Target = "own" | "other" | "missing";
const CALLERS: CallerName[] = ["ownAdmin", "otherAdmin", "validateOnly", "revokedAdmin", "none", "garbage"];
const TARGETS: Target[] = ["own", "other", "missing"];
const RPCS = ["getOrganizationUsage", "getOrganizationPolicy", "updateOrganizationPolicy"] as const;
type Rpc = (typeof RPCS)[number];
const OK = 0 as Code;
const nameOf = (c: Code) => (c === OK ? "OK" : Code[c]);

function expected(caller: CallerName, target: Target): Code {
  if (caller === "none" || caller === "garbage" || caller === "revokedAdmin") return Code.Unauthenticated;
  if (caller === "validateOnly") return Code.PermissionDenied;
  const mine = (caller === "ownAdmin" && target === "own") || (caller === "otherAdmin" && target === "other");
  return mine ? OK : Code.PermissionDenied;
}

describe.each((process.env.FLUX_MATRIX_STORES ?? "embedded,mongodb").split(",") as StoreKind[])("organisation tenant matrix on the %s store", (kind) => {
  let t: TestServer;
  const orgA = `org_a_${randomBytes(3).toString("hex")}`;
  const orgB = `org_b_${randomBytes(3).toString("hex")}`;
  const secrets = {} as Record<CallerName, string | undefined>;
  let served: Set<string>;

  beforeAll(async () => {
    t = await startTestServer(kind, `org-matrix-${kind}`, { config: { FLUX_AUTH_FAILURES_PER_MINUTE: 0 } });
    const c = t.callers[0]!;
    const adminKey = async (name: string, orgId: string, validateOnly = false) =>
      (await c.call(AdminKeyService, "createAdminKey", { name, orgId, validateOnly }, ADMIN_KEY)).secret;
    secrets.ownAdmin = await adminKey("a", orgA);
    secrets.otherAdmin = await adminKey("b", orgB);
    secrets.validateOnly = await adminKey("a-validate", orgA, true);
    secrets.revokedAdmin = await adminKey("a-revoked", orgA);
    const revoked = (await c.call(AdminKeyService, "listAdminKeys", {}, ADMIN_KEY)).adminKeys.find((k) => k.name === "a-revoked")!;
    await c.call(AdminKeyService, "revokeAdminKey", { id: revoked.id }, ADMIN_KEY);
    secrets.none = undefined;
    secrets.garbage = "definitely-not-an-admin-key";
    // Traffic in both orgs, so a usage answer that leaked the other org would show numbers.
    for (const [orgId, n] of [[orgA, 3], [orgB, 5]] as const) {
      const { secret } = await c.call(ApiKeyService, "createApiKey", { orgId, name: `traffic ${orgId}` }, ADMIN_KEY);
      for (let i = 0; i < n; i++) await c.call(ApiKeyService, "validateApiKey", { key: secret }, ADMIN_KEY);
    }
    const org = createServedServices(t.deps).find((s) => s.service.typeName === OrganizationService.typeName)!;
    served = new Set(Object.keys(org.handlers));
  }, 60_000);
  afterAll(() => t?.stop());

  it.each(["grpc", "connect"] as const)("answers every cell as expected over %s and changes nothing it may not", async (transport) => {
    const c = t.callers.find((x) => x.name === transport)!;
    const policies = async () =>
      served.has("getOrganizationPolicy")
        ? JSON.stringify(
            await Promise.all([orgA, orgB].map((orgId) => t.callers[0]!.call(OrganizationService, "getOrganizationPolicy", { orgId }, ADMIN_KEY))),
            (_k, v) => (typeof v === "bigint" ? String(v) : v), // timestamps carry bigint seconds
          )
        : "";
    let cells = 0;
    for (const rpc of RPCS) {
      for (const caller of CALLERS) {
        for (const target of TARGETS) {
          const org = target === "own" ? orgA : target === "other" ? orgB : `org_none_${randomBytes(3).toString("hex")}`;
          const exp = served.has(rpc) ? expected(caller, target) : Code.Unimplemented;
          const label = `${rpc} by ${caller} on ${target}`;
          const before = await policies();
          const answer = await send(c, rpc, org, secrets[caller]).then(
            (res) => ({ code: OK, res }),
            (err: unknown) => {
              if (!(err instanceof RpcFailure)) throw err;
              return { code: err.code, res: undefined };
            },
          );
          expect(nameOf(answer.code), label).toBe(nameOf(exp));
          if (rpc === "getOrganizationUsage" && answer.code === OK) {
            const u = answer.res as { orgId: string; requests: bigint };
            expect(u.orgId, label).toBe(org);
            expect(u.requests, `${label}: its own traffic only`).toBe(org === orgA ? 3n : 5n);
          }
          if (answer.code !== OK) expect(await policies(), `${label}: policies unchanged`).toBe(before);
          cells++;
        }
      }
    }
    expect(cells).toBe(RPCS.length * CALLERS.length * TARGETS.length);
  });
});

function send(c: Caller, rpc: Rpc, orgId: string, adminKey: string | undefined): Promise<unknown> {
  switch (rpc) {
    case "getOrganizationUsage":
      return c.call(OrganizationService, "getOrganizationUsage", { orgId }, adminKey);
    case "getOrganizationPolicy":
      return c.call(OrganizationService, "getOrganizationPolicy", { orgId }, adminKey);
    case "updateOrganizationPolicy":
      return c.call(OrganizationService, "updateOrganizationPolicy", { policy: { orgId, rateLimit: { requests: 7, windowSeconds: 60 } }, updateMask: { paths: ["rate_limit"] } }, adminKey);
  }
}
