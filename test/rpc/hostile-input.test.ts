// Hostile input answers INVALID_ARGUMENT on both transports and writes nothing: out-of-range timestamps, malformed
// bytes and JSON, unknown enum values; and errors stay small however large the request that caused them.
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService, CreateApiKeyRequestSchema } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { GetApiKeyUsageRequestSchema, Granularity } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import { failure } from "../support/callers.js";
import { createKey, newOrg } from "../support/fixtures.js";
import { rawConnect, rawGrpc, type RawGrpc } from "../support/raw-callers.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

const CREATE = "/flux.apikeys.v1.ApiKeyService/CreateApiKey";
const USAGE = "/flux.apikeys.v1.ApiKeyService/GetApiKeyUsage";

describe.each(STORE_KINDS)("on the %s store", (kind) => {
  let t: TestServer;
  let raw: RawGrpc;
  beforeAll(async () => {
    t = await startTestServer(kind, "hostile-input");
    raw = rawGrpc(t.server.grpcPort);
  });
  afterAll(async () => {
    raw?.close();
    await t?.stop();
  });
  const grpcC = () => t.callers.find((c) => c.name === "grpc")!;
  const connectC = () => t.callers.find((c) => c.name === "connect")!;
  const storedKeys = (orgId: string) => t.deps.stores.keys.list({ orgId, includeRevoked: true, limit: 100 });

  it("rejects expires_at beyond year 9999 over binary gRPC, stores nothing, and JSON reads of the org keep working", async () => {
    const orgId = newOrg();
    const { key } = await createKey(connectC(), { orgId });
    for (const seconds of [10n ** 12n, 2n ** 63n - 1n]) {
      const err = await failure(grpcC().call(ApiKeyService, "createApiKey", { orgId, name: "far", expiresAt: { seconds, nanos: 0 } }, ADMIN_KEY));
      expect(err).toMatchObject({ code: Code.InvalidArgument, reason: "INVALID_ARGUMENT" });
      expect(err.metadata.field).toBe("expires_at");
    }
    expect((await storedKeys(orgId)).map((k) => k.id)).toEqual([key.id]);
    const listed = await connectC().call(ApiKeyService, "listApiKeys", { orgId }, ADMIN_KEY);
    expect(listed.apiKeys.map((k) => k.id)).toEqual([key.id]);
    expect((await connectC().call(ApiKeyService, "getApiKey", { id: key.id }, ADMIN_KEY)).apiKey?.id).toBe(key.id);
  });

  it("rejects out-of-range nanos and pre-0001 seconds in any request timestamp, update included", async () => {
    const orgId = newOrg();
    const { key } = await createKey(grpcC(), { orgId });
    for (const expiresAt of [{ seconds: 4_000_000_000n, nanos: 1_000_000_000 }, { seconds: -62_135_596_801n, nanos: 0 }, { seconds: 4_000_000_000n, nanos: -1 }]) {
      const err = await failure(
        grpcC().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, expiresAt }, updateMask: { paths: ["expires_at"] } }, ADMIN_KEY),
      );
      expect(err.code).toBe(Code.InvalidArgument);
    }
    expect((await storedKeys(orgId))[0]!.updatedAtMs).toBe(Number(key.updatedAt!.seconds) * 1000 + Math.floor(key.updatedAt!.nanos / 1e6));
  });

  describe("malformed request bytes are the caller's fault", () => {
    const valid = toBinary(CreateApiKeyRequestSchema, create(CreateApiKeyRequestSchema, { orgId: "org_x", name: "a name that is long enough" }));
    const cases: [string, Uint8Array][] = [
      ["truncated", valid.subarray(0, valid.length - 3)],
      ["a wrong wire type", Uint8Array.from([0x08, 0x01])],
      ["invalid UTF-8 in a string", Uint8Array.from([0x0a, 0x02, 0xc3, 0x28])],
      ["a length beyond the end", Uint8Array.from([0x12, 0x7f, 0x41])],
    ];
    it.each(cases)("%s: INVALID_ARGUMENT over grpc-js", async (_name, bytes) => {
      const res = await raw.call(CREATE, bytes);
      expect(res).toMatchObject({ code: Code.InvalidArgument });
    });
    it.each(cases)("%s: HTTP 400 invalid_argument over Connect", async (_name, bytes) => {
      const res = await rawConnect(t.server.httpPort, CREATE, bytes, "proto");
      expect({ status: res.httpStatus, code: res.code }).toEqual({ status: 400, code: Code.InvalidArgument });
    });
    it.each(cases)("%s: grpc-status 3 over gRPC-Web", async (_name, bytes) => {
      const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, bytes.length]), bytes]);
      const res = await fetch(`http://127.0.0.1:${t.server.httpPort}${CREATE}`, {
        method: "POST",
        headers: { "content-type": "application/grpc-web+proto", authorization: `Bearer ${ADMIN_KEY}` },
        body: frame,
      });
      const text = Buffer.from(await res.arrayBuffer()).toString("latin1");
      expect(text).toMatch(/grpc-status: ?3\r\n/);
    });
    it("is counted in /metrics as INVALID_ARGUMENT, never INTERNAL", async () => {
      await raw.call(CREATE, cases[0]![1]);
      await rawConnect(t.server.httpPort, CREATE, cases[0]![1], "proto");
      const metrics = await (await fetch(`http://127.0.0.1:${t.server.httpPort}/metrics`)).text();
      const count = (reason: string) =>
        metrics.split("\n").filter((l) => l.startsWith("flux_rpc_errors_total{") && l.includes("CreateApiKey") && l.includes(`reason="${reason}"`)).length;
      expect(count("INVALID_ARGUMENT")).toBeGreaterThan(0);
      expect(count("INTERNAL")).toBe(0);
    });
    it.each(['{"orgId": ', "[1,2]", '{"orgId": 5}', '{"name": "\\ud800"} trailing'])("malformed JSON %s: HTTP 400 invalid_argument", async (json) => {
      const res = await rawConnect(t.server.httpPort, CREATE, json, "json");
      expect({ status: res.httpStatus, code: res.code }).toEqual({ status: 400, code: Code.InvalidArgument });
    });
  });

  describe("unknown enum values", () => {
    it("a JSON enum name the API does not define is INVALID_ARGUMENT", async () => {
      const { key } = await createKey(grpcC());
      const res = await rawConnect(t.server.httpPort, USAGE, JSON.stringify({ id: key.id, granularity: "GRANULARITY_WEEK" }), "json");
      expect({ status: res.httpStatus, code: res.code }).toEqual({ status: 400, code: Code.InvalidArgument });
    });
    it("a JSON field the API does not define is INVALID_ARGUMENT, not ignored, and writes nothing", async () => {
      const orgId = newOrg();
      // A typo of expires_at: ignored, it would silently create a key that never expires.
      const res = await rawConnect(t.server.httpPort, CREATE, JSON.stringify({ orgId, name: "typo", expiresAT: "2030-01-01T00:00:00Z" }), "json");
      expect({ status: res.httpStatus, code: res.code }).toEqual({ status: 400, code: Code.InvalidArgument });
      expect(await storedKeys(orgId)).toEqual([]);
      const { secret } = await createKey(grpcC());
      const v = await rawConnect(t.server.httpPort, "/flux.apikeys.v1.ApiKeyService/ValidateApiKey", JSON.stringify({ key: secret, requiredScope: ["x"] }), "json");
      expect({ status: v.httpStatus, code: v.code }).toEqual({ status: 400, code: Code.InvalidArgument });
    });
    it("an enum number the API does not define is INVALID_ARGUMENT over binary gRPC and Connect", async () => {
      const { key } = await createKey(grpcC());
      const bytes = toBinary(GetApiKeyUsageRequestSchema, create(GetApiKeyUsageRequestSchema, { id: key.id, granularity: 7 as Granularity }));
      expect((await raw.call(USAGE, bytes)).code).toBe(Code.InvalidArgument);
      expect((await rawConnect(t.server.httpPort, USAGE, bytes, "proto")).code).toBe(Code.InvalidArgument);
    });
  });

  describe("error size", () => {
    const scopes = Array.from({ length: 100 }, (_, i) => `undefined:${String(i).padStart(3, "0")}:${"x".repeat(84)}`);
    const bytes = toBinary(CreateApiKeyRequestSchema, create(CreateApiKeyRequestSchema, { orgId: "org_size", name: "n", scopes }));

    it("UNKNOWN_SCOPE for 100 long undefined names names at most 5 plus a count, in under 8 KB of gRPC trailers", async () => {
      const res = await raw.call(CREATE, bytes);
      expect(res.code).toBe(Code.InvalidArgument);
      expect(res.errorBytes).toBeLessThan(8 * 1024);
      expect(scopes.filter((s) => res.message.includes(s)).length).toBeLessThanOrEqual(5);
      expect(res.message).toContain("100");
      const err = await failure(grpcC().call(ApiKeyService, "createApiKey", { orgId: "org_size", name: "n", scopes }, ADMIN_KEY));
      expect(err.reason).toBe("UNKNOWN_SCOPE");
      expect(err.metadata.count).toBe("100");
      expect(err.metadata.scopes!.split(",").length).toBeLessThanOrEqual(5);
    });

    it("the same error over Connect is a body under 8 KB", async () => {
      const res = await rawConnect(t.server.httpPort, CREATE, bytes, "proto");
      expect(res.code).toBe(Code.InvalidArgument);
      expect(res.errorBytes).toBeLessThan(8 * 1024);
      const json = await rawConnect(t.server.httpPort, CREATE, JSON.stringify({ orgId: "org_size", name: "n", scopes }), "json");
      expect(json.code).toBe(Code.InvalidArgument);
      expect(json.errorBytes).toBeLessThan(8 * 1024);
    });

    it("a malformed-scope error over many bad names is bounded too", async () => {
      const bad = Array.from({ length: 500 }, (_, i) => `bad scope ${i} ${"y".repeat(80)}`);
      const res = await raw.call(CREATE, toBinary(CreateApiKeyRequestSchema, create(CreateApiKeyRequestSchema, { orgId: "org_size", name: "n", scopes: bad })));
      expect(res.code).toBe(Code.InvalidArgument);
      expect(res.errorBytes).toBeLessThan(8 * 1024);
    });
  });
});
