// Every request field's bound from src/domain/limits.ts, at the limit (accepted) and one past it (INVALID_ARGUMENT,
// nothing written), on both stores and over grpc-js, Connect JSON and Connect binary.
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Granularity } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { LIMITS, TIMESTAMP_MAX_SECONDS } from "../../src/domain/limits.js";
import { MAX_GRACE_PERIOD_SECONDS } from "../../src/services/key-service.js";
import { type Caller, RpcFailure } from "../support/callers.js";
import { createKey, newOrg } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

interface Ctx {
  orgId: string;
  keyId: string;
  secret: string;
  scopes: string[];
  nowSeconds: bigint;
}
type Req = [DescService, string, Record<string, unknown>];
interface Row {
  field: string;
  limit: string | number;
  at: (c: Ctx) => Req;
  past: (c: Ctx) => Req;
  /** Accepted at the limit means this answer (NOT_FOUND for a made-up id of the longest allowed length). */
  atCode?: Code;
  /** Past the limit cannot be written in JSON (e.g. a Timestamp after 9999): binary transports only. */
  binaryOnly?: boolean;
  /** ValidateApiKey answers an over-long key with an outcome, not an error. */
  pastOutcome?: Outcome;
}

const s = (n: number, ch = "a") => ch.repeat(n);
const create = (c: Ctx, over: Record<string, unknown>): Req => [ApiKeyService, "createApiKey", { orgId: c.orgId, name: "bounds", ...over }];
const meta = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));
/** A page token of exactly `len` characters in the shape this service issues (base64url of [createdAtMs, id]). */
const pageToken = (len: number) => Buffer.from(JSON.stringify([1, s((len * 3) / 4 - 6, "i")])).toString("base64url") + (len % 4 ? "x" : "");
const update = (c: Ctx, apiKey: Record<string, unknown>, paths: string[]): Req => [ApiKeyService, "updateApiKey", { apiKey: { id: c.keyId, ...apiKey }, updateMask: { paths } }];

const ROWS: Row[] = [
  { field: "org_id length", limit: LIMITS.orgIdLength, at: (c) => create(c, { orgId: s(LIMITS.orgIdLength, "o") }), past: (c) => create(c, { orgId: s(LIMITS.orgIdLength + 1, "o") }) },
  { field: "name length", limit: LIMITS.nameLength, at: (c) => create(c, { name: s(LIMITS.nameLength) }), past: (c) => create(c, { name: s(LIMITS.nameLength + 1) }) },
  { field: "scopes per key", limit: LIMITS.scopesPerKey, at: (c) => create(c, { scopes: c.scopes.slice(0, LIMITS.scopesPerKey) }), past: (c) => create(c, { scopes: c.scopes }) },
  { field: "scope name length", limit: LIMITS.scopeNameLength, at: () => [ApiKeyService, "defineScope", { scope: { name: s(LIMITS.scopeNameLength, "n") } }], past: () => [ApiKeyService, "defineScope", { scope: { name: s(LIMITS.scopeNameLength + 1, "n") } }] },
  { field: "scope description length", limit: LIMITS.scopeDescriptionLength, at: () => [ApiKeyService, "defineScope", { scope: { name: "bounds:desc", description: s(LIMITS.scopeDescriptionLength) } }], past: () => [ApiKeyService, "defineScope", { scope: { name: "bounds:desc2", description: s(LIMITS.scopeDescriptionLength + 1) } }] },
  { field: "metadata entries", limit: LIMITS.metadataEntries, at: (c) => create(c, { metadata: meta(LIMITS.metadataEntries) }), past: (c) => create(c, { metadata: meta(LIMITS.metadataEntries + 1) }) },
  { field: "metadata key length", limit: LIMITS.metadataKeyLength, at: (c) => create(c, { metadata: { [s(LIMITS.metadataKeyLength)]: "v" } }), past: (c) => create(c, { metadata: { [s(LIMITS.metadataKeyLength + 1)]: "v" } }) },
  { field: "metadata value length", limit: LIMITS.metadataValueLength, at: (c) => create(c, { metadata: { k: s(LIMITS.metadataValueLength) } }), past: (c) => create(c, { metadata: { k: s(LIMITS.metadataValueLength + 1) } }) },
  { field: "rate_limit.requests maximum", limit: LIMITS.rateLimitRequestsMax, at: (c) => create(c, { rateLimit: { requests: LIMITS.rateLimitRequestsMax, windowSeconds: 60 } }), past: (c) => create(c, { rateLimit: { requests: LIMITS.rateLimitRequestsMax + 1, windowSeconds: 60 } }) },
  { field: "rate_limit.requests minimum", limit: 1, at: (c) => create(c, { rateLimit: { requests: 1, windowSeconds: 60 } }), past: (c) => create(c, { rateLimit: { requests: 0, windowSeconds: 60 } }) },
  { field: "rate_limit.window_seconds maximum", limit: LIMITS.windowSecondsMax, at: (c) => create(c, { rateLimit: { requests: 5, windowSeconds: LIMITS.windowSecondsMax } }), past: (c) => create(c, { rateLimit: { requests: 5, windowSeconds: LIMITS.windowSecondsMax + 1 } }) },
  { field: "rate_limit.window_seconds minimum", limit: 1, at: (c) => create(c, { rateLimit: { requests: 5, windowSeconds: 1 } }), past: (c) => create(c, { rateLimit: { requests: 5, windowSeconds: 0 } }) },
  { field: "expires_at seconds (9999-12-31T23:59:59Z)", limit: String(TIMESTAMP_MAX_SECONDS), binaryOnly: true, at: (c) => create(c, { expiresAt: { seconds: TIMESTAMP_MAX_SECONDS, nanos: 0 } }), past: (c) => create(c, { expiresAt: { seconds: TIMESTAMP_MAX_SECONDS + 1n, nanos: 0 } }) },
  { field: "expires_at nanos", limit: 999_999_999, binaryOnly: true, at: (c) => create(c, { expiresAt: { seconds: c.nowSeconds + 3600n, nanos: 999_999_999 } }), past: (c) => create(c, { expiresAt: { seconds: c.nowSeconds + 3600n, nanos: 1_000_000_000 } }) },
  { field: "update expires_at seconds", limit: String(TIMESTAMP_MAX_SECONDS), binaryOnly: true, at: (c) => update(c, { expiresAt: { seconds: TIMESTAMP_MAX_SECONDS, nanos: 0 } }, ["expires_at"]), past: (c) => update(c, { expiresAt: { seconds: TIMESTAMP_MAX_SECONDS + 1n, nanos: 0 } }, ["expires_at"]) },
  { field: "update_mask paths", limit: LIMITS.updateMaskPaths, at: (c) => update(c, { name: "renamed" }, Array(LIMITS.updateMaskPaths).fill("name")), past: (c) => update(c, { name: "renamed" }, Array(LIMITS.updateMaskPaths + 1).fill("name")) },
  { field: "grace_period_seconds", limit: LIMITS.gracePeriodSecondsMax, at: (c) => [ApiKeyService, "rotateApiKey", { id: c.keyId, gracePeriodSeconds: LIMITS.gracePeriodSecondsMax }], past: (c) => [ApiKeyService, "rotateApiKey", { id: c.keyId, gracePeriodSeconds: LIMITS.gracePeriodSecondsMax + 1 }] },
  { field: "page_size", limit: LIMITS.pageSizeMax, at: (c) => [ApiKeyService, "listApiKeys", { orgId: c.orgId, pageSize: LIMITS.pageSizeMax }], past: (c) => [ApiKeyService, "listApiKeys", { orgId: c.orgId, pageSize: LIMITS.pageSizeMax + 1 }] },
  { field: "page_token length", limit: LIMITS.pageTokenLength, at: (c) => [ApiKeyService, "listApiKeys", { orgId: c.orgId, pageToken: pageToken(LIMITS.pageTokenLength) }], past: (c) => [ApiKeyService, "listApiKeys", { orgId: c.orgId, pageToken: pageToken(LIMITS.pageTokenLength) + "A" }] },
  { field: "id length", limit: LIMITS.idLength, atCode: Code.NotFound, at: () => [ApiKeyService, "getApiKey", { id: s(LIMITS.idLength, "k") }], past: () => [ApiKeyService, "getApiKey", { id: s(LIMITS.idLength + 1, "k") }] },
  { field: "admin key id length", limit: LIMITS.idLength, atCode: Code.NotFound, at: () => [AdminKeyService, "revokeAdminKey", { id: s(LIMITS.idLength, "k") }], past: () => [AdminKeyService, "revokeAdminKey", { id: s(LIMITS.idLength + 1, "k") }] },
  { field: "validate required_scopes count", limit: LIMITS.requiredScopes, at: (c) => [ApiKeyService, "validateApiKey", { key: c.secret, requiredScopes: c.scopes.slice(0, LIMITS.requiredScopes) }], past: (c) => [ApiKeyService, "validateApiKey", { key: c.secret, requiredScopes: c.scopes.slice(0, LIMITS.requiredScopes + 1) }] },
  { field: "validate key length", limit: LIMITS.keyLength, pastOutcome: Outcome.MALFORMED, at: () => [ApiKeyService, "validateApiKey", { key: s(LIMITS.keyLength, "f") }], past: () => [ApiKeyService, "validateApiKey", { key: s(LIMITS.keyLength + 1, "f") }] },
  { field: "usage series_start (hours back)", limit: LIMITS.usageSeriesBuckets, at: (c) => [ApiKeyService, "getApiKeyUsage", { id: c.keyId, granularity: Granularity.HOUR, seriesStart: { seconds: c.nowSeconds - BigInt(LIMITS.usageSeriesBuckets * 3600) + 3600n, nanos: 0 } }], past: (c) => [ApiKeyService, "getApiKeyUsage", { id: c.keyId, granularity: Granularity.HOUR, seriesStart: { seconds: c.nowSeconds - BigInt(LIMITS.usageSeriesBuckets * 3600) - 3600n, nanos: 0 } }] },
  { field: "admin key name length", limit: LIMITS.nameLength, at: () => [AdminKeyService, "createAdminKey", { name: s(LIMITS.nameLength) }], past: () => [AdminKeyService, "createAdminKey", { name: s(LIMITS.nameLength + 1) }] },
];

/** connect-node in the binary format (the shared connect caller speaks JSON). */
function connectBinaryCaller(port: number): Caller {
  const transport = createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1", useBinaryFormat: true });
  return {
    name: "connect",
    async call(service, method, req, adminKey) {
      const client = createClient(service, transport) as unknown as Record<string, (r: unknown, o: unknown) => Promise<unknown>>;
      try {
        return (await client[method]!(req, { headers: { authorization: `Bearer ${adminKey}` } })) as never;
      } catch (err) {
        const ce = ConnectError.from(err);
        throw new RpcFailure(ce.code, ce.rawMessage);
      }
    },
    close: () => {},
  };
}

async function outcome(call: Promise<unknown>): Promise<{ code: Code | 0; res?: Record<string, unknown>; message?: string }> {
  try {
    return { code: 0, res: (await call) as Record<string, unknown> };
  } catch (err) {
    if (err instanceof RpcFailure) return { code: err.code, message: err.message };
    throw err;
  }
}

it("the limits agree with the constants the services hold", () => {
  expect(MAX_GRACE_PERIOD_SECONDS).toBe(LIMITS.gracePeriodSecondsMax);
});

describe.each(STORE_KINDS)("on the %s store", (kind) => {
  let t: TestServer;
  let binary: Caller;
  const ctx = {} as Ctx;
  beforeAll(async () => {
    t = await startTestServer(kind, "field-bounds");
    binary = connectBinaryCaller(t.server.httpPort);
    ctx.scopes = Array.from({ length: LIMITS.scopesPerKey + 1 }, (_, i) => `bounds:s${i}`);
    for (const name of ctx.scopes) await t.deps.stores.scopes.upsert({ name, description: "", createdAtMs: t.clock.nowMs() });
    ctx.orgId = newOrg();
    const { key, secret } = await createKey(t.callers[0]!, { orgId: ctx.orgId, scopes: ctx.scopes.slice(0, LIMITS.scopesPerKey) });
    Object.assign(ctx, { keyId: key.id, secret, nowSeconds: BigInt(Math.floor(t.clock.nowMs() / 1000)) });
  });
  afterAll(() => t?.stop());

  const snapshot = async () => {
    const { keys, scopes, adminKeys } = t.deps.stores;
    return JSON.stringify([await keys.list({ includeRevoked: true, limit: 100_000 }), await scopes.list(), await adminKeys.list()]);
  };

  it.each(ROWS)("$field: accepted at $limit, INVALID_ARGUMENT one past it with nothing written", async (row) => {
    const transports = [t.callers[0]!, binary, ...(row.binaryOnly ? [] : [t.callers[1]!])];
    for (const caller of transports) {
      const via = `${row.field} over ${caller === binary ? "connect-binary" : caller.name}`;
      const [svc, method, atReq] = row.at(ctx);
      const at = await outcome(caller.call(svc, method as never, atReq as never, ADMIN_KEY));
      expect(at.code, `${via} at the limit: ${at.message}`).toBe(row.atCode ?? 0);

      const before = await snapshot();
      const [svc2, method2, pastReq] = row.past(ctx);
      const past = await outcome(caller.call(svc2, method2 as never, pastReq as never, ADMIN_KEY));
      if (row.pastOutcome !== undefined) {
        expect(past.res?.outcome, via).toBe(row.pastOutcome);
      } else {
        expect(past.code, `${via} past the limit`).toBe(Code.InvalidArgument);
      }
      expect(await snapshot(), `${via}: nothing written`).toBe(before);
    }
  });
});
