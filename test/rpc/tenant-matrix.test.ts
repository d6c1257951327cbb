// The tenant matrix: every RPC of ApiKeyService and AdminKeyService × caller × target, over both transports.
// Each cell has one expected code; another org's id answers exactly like a missing one (apart from the id); and
// no attempt changes anything its caller may not touch: keys, their rate-limit counts, admin keys, scopes.
// Orgs are seen from org A: callers are A's admin key, B's admin key, A's validate-only key, a revoked admin key,
// none and garbage; targets are A's key ("own"), B's key ("other") and an id or secret that does not exist.
import { randomBytes } from "node:crypto";
import { toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { API_KEY_PREFIX, generateSecret } from "../../src/domain/key-material.js";
import { type Caller, RpcFailure } from "../support/callers.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import type { StoreKind } from "../support/stores.js";

type CallerName = "ownAdmin" | "otherAdmin" | "validateOnly" | "revokedAdmin" | "none" | "garbage";
type Target = "own" | "other" | "missing";
const CALLERS: CallerName[] = ["ownAdmin", "otherAdmin", "validateOnly", "revokedAdmin", "none", "garbage"];
const TARGETS: Target[] = ["own", "other", "missing"];
const LIMIT = 100_000;
const OK = 0 as Code;
const nameOf = (c: Code) => (c === OK ? "OK" : Code[c]);

/** What a cell must answer: a gRPC code, and for ValidateApiKey the outcome. */
interface Expected {
  code: Code;
  outcome?: Outcome;
  /** The call may change its target (a key of the caller's own org). */
  mutates?: boolean;
}

const KEY_RPCS = ["rotateApiKey", "updateApiKey", "getApiKey", "revokeApiKey", "getApiKeyUsage"] as const;
const MUTATING = new Set(["rotateApiKey", "updateApiKey", "revokeApiKey", "createApiKey"]);
const RPCS = [
  "createApiKey",
  "validateApiKey",
  ...KEY_RPCS,
  "listApiKeys",
  "defineScope",
  "listScopes",
  "deleteScope",
  "createAdminKey",
  "listAdminKeys",
  "revokeAdminKey",
] as const;
type Rpc = (typeof RPCS)[number];

function expected(rpc: Rpc, caller: CallerName, target: Target): Expected {
  if (caller === "none" || caller === "garbage" || caller === "revokedAdmin") return { code: Code.Unauthenticated };
  if (caller === "validateOnly") {
    if (rpc !== "validateApiKey") return { code: Code.PermissionDenied };
    return { code: OK, outcome: target === "own" ? Outcome.VALID : Outcome.NOT_FOUND };
  }
  // An admin key limited to one org: "own" targets belong to the caller's org for ownAdmin, "other" for otherAdmin.
  const mine = (caller === "ownAdmin" && target === "own") || (caller === "otherAdmin" && target === "other");
  switch (rpc) {
    case "createApiKey":
      return mine ? { code: OK, mutates: true } : { code: Code.PermissionDenied };
    case "validateApiKey":
      return { code: OK, outcome: mine ? Outcome.VALID : Outcome.NOT_FOUND };
    case "listApiKeys":
    case "listScopes":
      return { code: OK };
    case "defineScope":
    case "deleteScope":
    case "createAdminKey":
    case "listAdminKeys":
    case "revokeAdminKey":
      return { code: Code.PermissionDenied };
    default:
      return mine ? { code: OK, mutates: MUTATING.has(rpc) } : { code: Code.NotFound };
  }
}

const randomKeyId = () => `key_${randomBytes(30).toString("base64").replace(/[^0-9A-Za-z]/g, "").slice(0, 20)}`;

describe.each((process.env.FLUX_MATRIX_STORES ?? "embedded,mongodb").split(",") as StoreKind[])("tenant matrix on the %s store", (kind) => {
  let t: TestServer;
  const orgA = `org_a_${randomBytes(3).toString("hex")}`;
  const orgB = `org_b_${randomBytes(3).toString("hex")}`;
  const secrets = {} as Record<CallerName, string | undefined>;
  const admin = () => t.callers[0]!;

  beforeAll(async () => {
    // The matrix sends hundreds of wrong admin keys from one address: the throttle has its own tests.
    t = await startTestServer(kind, `matrix-${kind}`, { config: { FLUX_AUTH_FAILURES_PER_MINUTE: 0 } });
    const c = admin();
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
    await c.call(ApiKeyService, "defineScope", { scope: { name: "matrix:read", description: "d" } }, ADMIN_KEY);
  }, 60_000);
  afterAll(() => t?.stop());

  it.each(["grpc", "connect"] as const)("answers every cell as expected over %s and changes nothing it may not", async (transport) => {
    const c = t.callers.find((x) => x.name === transport)!;
    const newKey = async (orgId: string) => {
      const res = await admin().call(ApiKeyService, "createApiKey", { orgId, name: "target", scopes: ["matrix:read"], rateLimit: { requests: LIMIT, windowSeconds: 3600 } }, ADMIN_KEY);
      return { id: res.apiKey!.id, secret: res.secret };
    };
    // Fixed targets no cell may change; a cell expected to change its target gets a fresh one of the caller's org.
    const fixed = { own: await newKey(orgA), other: await newKey(orgB) };
    const adminKeyOf = { own: "", other: "" };
    const adminList = (await admin().call(AdminKeyService, "listAdminKeys", {}, ADMIN_KEY)).adminKeys;
    adminKeyOf.own = adminList.find((k) => k.name === "a")!.id;
    adminKeyOf.other = adminList.find((k) => k.name === "b")!.id;
    const remaining = { own: LIMIT, other: LIMIT };

    /** Everything the matrix may not change, read with the unrestricted bootstrap key. Spends one validation per fixed key. */
    const world = async () => {
      const ids = async (orgId: string) =>
        (await admin().call(ApiKeyService, "listApiKeys", { orgId, includeRevoked: true, pageSize: 1000 }, ADMIN_KEY)).apiKeys.map((k) => k.id).sort();
      const spent = async (which: "own" | "other") => {
        const res = await admin().call(ApiKeyService, "validateApiKey", { key: fixed[which].secret }, ADMIN_KEY);
        expect(res.outcome).toBe(Outcome.VALID);
        expect(res.rateLimit?.remaining, `${which} key's remaining count`).toBe(--remaining[which]);
      };
      const get = (id: string) => admin().call(ApiKeyService, "getApiKey", { id }, ADMIN_KEY);
      const [, , own, other, idsA, idsB, adminKeys, scopes] = await Promise.all([
        spent("own"),
        spent("other"),
        get(fixed.own.id),
        get(fixed.other.id),
        ids(orgA),
        ids(orgB),
        admin().call(AdminKeyService, "listAdminKeys", {}, ADMIN_KEY),
        admin().call(ApiKeyService, "listScopes", {}, ADMIN_KEY),
      ]);
      return { keys: [own, other], idsA, idsB, adminKeys: adminKeys.adminKeys, scopes: scopes.scopes };
    };

    const notFound = new Map<string, { foreign?: string; missing?: string }>();
    let before = await world();
    let cells = 0;
    for (const rpc of RPCS) {
      for (const caller of CALLERS) {
        for (const target of TARGETS) {
          const exp = expected(rpc, caller, target);
          const label = `${rpc} by ${caller} on ${target}`;
          const org = target === "own" ? orgA : target === "other" ? orgB : `org_none_${randomBytes(3).toString("hex")}`;
          let key = target === "missing" ? { id: randomKeyId(), secret: generateSecret(API_KEY_PREFIX) } : fixed[target];
          if (exp.mutates && target !== "missing" && rpc !== "createApiKey") {
            key = await newKey(org);
            before = await world();
          }
          const adminTarget = target === "missing" ? "adm_doesnotexist0000000" : adminKeyOf[target];
          const answer = await send(c, rpc, key, org, adminTarget, secrets[caller]).then(
            (res) => ({ code: OK, res }),
            (err: unknown) => {
              if (!(err instanceof RpcFailure)) throw err;
              return { code: err.code, err };
            },
          );
          expect(nameOf(answer.code), label).toBe(nameOf(exp.code));
          if (exp.outcome !== undefined) {
            const res = (answer as { res: { outcome: Outcome } }).res;
            expect(Outcome[res.outcome], label).toBe(Outcome[exp.outcome]);
            if (exp.outcome === Outcome.VALID && target !== "missing") remaining[target as "own" | "other"]--;
            if (exp.outcome === Outcome.NOT_FOUND) {
              const bytes = Buffer.from(toBinary(ApiKeyService.method.validateApiKey.output, res as never)).toString("hex");
              record(notFound, `${rpc}/${caller}`, target === "missing" ? "missing" : "foreign", bytes);
            }
          }
          if (rpc === "listApiKeys" && answer.code === OK && exp.outcome === undefined) {
            const listed = (answer as { res: { apiKeys: { orgId: string }[] } }).res.apiKeys;
            const mineOrg = caller === "ownAdmin" ? orgA : orgB;
            expect(listed.every((k) => k.orgId === mineOrg), `${label}: only the caller's org`).toBe(true);
          }
          if (exp.code === Code.NotFound) {
            const e = (answer as { err: RpcFailure }).err;
            const shape = JSON.stringify({ code: e.code, message: e.message, reason: e.reason, metadata: e.metadata }).replaceAll(key.id, "<id>");
            record(notFound, `${rpc}/${caller}`, target === "missing" ? "missing" : "foreign", shape);
          }
          const after = await world();
          const allowed = exp.code === OK && (exp.mutates ?? false);
          expect(after.keys, `${label}: fixed keys`).toEqual(before.keys);
          expect(after.adminKeys, `${label}: admin keys`).toEqual(before.adminKeys);
          expect(after.scopes, `${label}: scopes`).toEqual(before.scopes);
          if (!(allowed && caller === "ownAdmin")) expect(after.idsA, `${label}: org A's keys`).toEqual(before.idsA);
          if (!(allowed && caller === "otherAdmin")) expect(after.idsB, `${label}: org B's keys`).toEqual(before.idsB);
          before = after;
          cells++;
        }
      }
    }
    expect(cells).toBe(RPCS.length * CALLERS.length * TARGETS.length);
    // Another org's id answers exactly like a missing one: same code, reason, message and metadata but for the id.
    expect(notFound.size).toBeGreaterThan(0);
    for (const [cell, { foreign, missing }] of notFound) {
      expect(foreign, cell).toBeDefined();
      expect(foreign, cell).toBe(missing);
    }
  });
});

/** Keeps a not-found answer's shape by cell, as "foreign" (a key of an org the caller may not see) or "missing". */
function record(m: Map<string, { foreign?: string; missing?: string }>, cell: string, kind: "foreign" | "missing", shape: string) {
  const e = m.get(cell) ?? {};
  e[kind] = shape;
  m.set(cell, e);
}

/** One cell's request: `key` is the target key (id and secret), `org` the target org, `adminTarget` an admin key id. */
function send(c: Caller, rpc: Rpc, key: { id: string; secret: string }, org: string, adminTarget: string, adminKey: string | undefined): Promise<unknown> {
  switch (rpc) {
    case "createApiKey":
      return c.call(ApiKeyService, "createApiKey", { orgId: org, name: "made by the matrix" }, adminKey);
    case "validateApiKey":
      return c.call(ApiKeyService, "validateApiKey", { key: key.secret }, adminKey);
    case "rotateApiKey":
      return c.call(ApiKeyService, "rotateApiKey", { id: key.id }, adminKey);
    case "updateApiKey":
      return c.call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, name: "renamed" }, updateMask: { paths: ["name"] } }, adminKey);
    case "getApiKey":
      return c.call(ApiKeyService, "getApiKey", { id: key.id }, adminKey);
    case "revokeApiKey":
      return c.call(ApiKeyService, "revokeApiKey", { id: key.id }, adminKey);
    case "getApiKeyUsage":
      return c.call(ApiKeyService, "getApiKeyUsage", { id: key.id }, adminKey);
    case "listApiKeys":
      return c.call(ApiKeyService, "listApiKeys", { orgId: org, includeRevoked: true }, adminKey);
    case "defineScope":
      return c.call(ApiKeyService, "defineScope", { scope: { name: "matrix:write", description: "d" } }, adminKey);
    case "listScopes":
      return c.call(ApiKeyService, "listScopes", {}, adminKey);
    case "deleteScope":
      return c.call(ApiKeyService, "deleteScope", { name: "matrix:read" }, adminKey);
    case "createAdminKey":
      return c.call(AdminKeyService, "createAdminKey", { name: "made by the matrix", orgId: org }, adminKey);
    case "listAdminKeys":
      return c.call(AdminKeyService, "listAdminKeys", {}, adminKey);
    case "revokeAdminKey":
      return c.call(AdminKeyService, "revokeAdminKey", { id: adminTarget }, adminKey);
  }
}
