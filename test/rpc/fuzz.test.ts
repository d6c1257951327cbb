// Fuzzes every RPC of every served service over grpc-js and Connect (binary and JSON) on both stores: random,
// truncated and mutated messages. No answer may be INTERNAL or UNKNOWN or slower than the deadline, the server must
// stay up, and an error answer must have written nothing. Seeded: FLUX_FUZZ_SEED=<n> replays a run; FLUX_FUZZ_LONG=1
// sends many more messages.
import { create, type DescField, type DescMessage, type DescMethod, toBinary, toJsonString } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { PingService } from "../../gen/ts/flux/apikeys/v1/ping_service_pb.js";
import type { Stores } from "../../src/store/types.js";
import { createKey, defineScopes, newOrg } from "../support/fixtures.js";
import { type RawAnswer, rawConnect, rawGrpc, type RawGrpc } from "../support/raw-callers.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

const LONG = process.env.FLUX_FUZZ_LONG === "1";
const PER_TRANSPORT = LONG ? 20_000 : 700;
const DEADLINE_MS = 5000;
const SEED = Number(process.env.FLUX_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SERVICES = [ApiKeyService, AdminKeyService, PingService];
const METHODS: DescMethod[] = SERVICES.flatMap((s) => s.methods);
const pathOf = (m: DescMethod) => `/${m.parent.typeName}/${m.name}`;

/** mulberry32: small, fast, good enough to pick mutations; reproducible from the printed seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  return { next, int, pick, bytes };
}
type Rng = ReturnType<typeof prng>;

const EDGE_INTS = [0, 1, 2, 59, 60, 1000, 2 ** 31 - 1, 2 ** 32 - 1, 31_536_000, 31_536_001, 604_800, 604_801];
const EDGE_SECONDS = [0n, 1n, -1n, 10n ** 12n, 2n ** 63n - 1n, -(2n ** 63n), 253_402_300_799n, 253_402_300_800n, -62_135_596_801n, 4_000_000_000n];
const STRINGS = ["", "a", "org_1", "data:read", "key_abc", "flux_", "x".repeat(101), "é€😀", "\u0000", "$x", "a.b", "GRANULARITY_WEEK"];

function randomString(r: Rng, ctx: string[]): string {
  switch (r.int(4)) {
    case 0: return r.pick(STRINGS);
    case 1: return r.pick(ctx);
    case 2: return String.fromCharCode(...Array.from({ length: r.int(40) }, () => 32 + r.int(95)));
    default: return "s".repeat(r.pick([1, 63, 64, 65, 128, 129, 200, 201, 512, 513, 2000]));
  }
}

/** A well-typed message with edge values in random fields: what a buggy or hostile client could encode. */
function randomMessage(desc: DescMessage, r: Rng, ctx: string[], depth = 0): Record<string, unknown> {
  if (desc.typeName === "google.protobuf.Timestamp") return { seconds: r.pick(EDGE_SECONDS), nanos: r.pick([0, 999_999_999, 1_000_000_000, -1, 2 ** 31 - 1]) };
  const out: Record<string, unknown> = {};
  for (const f of desc.fields) {
    if (f.oneof || r.next() < 0.4) continue;
    if (f.fieldKind === "list") out[f.localName] = Array.from({ length: r.pick([0, 1, 3, 101]) }, () => single(f, r, ctx, depth));
    else if (f.fieldKind === "map") out[f.localName] = Object.fromEntries(Array.from({ length: r.pick([0, 1, 33]) }, () => [randomString(r, ctx), randomString(r, ctx)]));
    else out[f.localName] = single(f, r, ctx, depth);
  }
  return out;
}

function single(f: DescField, r: Rng, ctx: string[], depth: number): unknown {
  if (f.message) return depth > 3 ? {} : randomMessage(f.message, r, ctx, depth + 1);
  if (f.enum) return r.pick([...f.enum.values.map((v) => v.number), 7, 99, -1]);
  switch (f.scalar) {
    case 9: return randomString(r, ctx); // string
    case 8: return r.next() < 0.5; // bool
    case 12: return r.bytes(r.int(8)); // bytes
    case 13: case 7: return r.pick(EDGE_INTS) >>> 0; // uint32, fixed32
    case 3: case 18: case 16: return BigInt.asIntN(64, r.pick(EDGE_SECONDS)); // int64s
    case 4: case 6: return BigInt.asUintN(64, r.pick(EDGE_SECONDS)); // uint64s
    case 1: case 2: return r.pick([0, 1.5, -1, 1e308]); // double, float
    default: return r.pick([0, 1, -1, 2 ** 31 - 1]) | 0; // int32s
  }
}

/** Byte-level mutations of an encoded message. */
function mutate(bytes: Uint8Array, r: Rng): Uint8Array {
  const b = Uint8Array.from(bytes);
  switch (r.int(5)) {
    case 0: return b.subarray(0, r.int(b.length + 1)); // truncated
    case 1: for (let i = 0; i < 1 + r.int(4) && b.length; i++) b[r.int(b.length)] = r.int(256); return b; // flipped
    case 2: { const at = r.int(b.length + 1); return Uint8Array.from([...b.subarray(0, at), ...r.bytes(1 + r.int(6)), ...b.subarray(at)]); } // inserted
    case 3: return Uint8Array.from([...b, ((1 + r.int(16)) << 3) | r.int(8), ...r.bytes(r.int(10))]); // a field of any wire type
    default: return r.bytes(r.int(64)); // noise
  }
}

function mutateJson(m: DescMethod, msg: Record<string, unknown>, r: Rng, ctx: string[]): string {
  let json: string;
  try {
    json = toJsonString(m.input, create(m.input, msg as never));
  } catch {
    json = "{}"; // not expressible in JSON (e.g. a Timestamp after 9999)
  }
  switch (r.int(4)) {
    case 0: return json.slice(0, r.int(json.length + 1));
    case 1: {
      const o = JSON.parse(json) as Record<string, unknown>;
      const name = m.input.fields.length ? r.pick(m.input.fields).jsonName : "x";
      o[name] = r.pick<unknown>([null, 1e400, -1, "10000-01-01T00:00:00Z", "GRANULARITY_WEEK", [1], { a: 1 }, randomString(r, ctx), 2 ** 53, "9".repeat(30)]);
      return JSON.stringify(o).replace("1e+400", "1e400");
    }
    case 2: return JSON.stringify({ ...JSON.parse(json), unknownField: 1 });
    default: return json;
  }
}

interface WriteLog {
  count: number;
}

/** Counts store writes that changed something, by wrapping the methods of the live store objects in place. */
function countWrites(stores: Stores): WriteLog {
  const log = { count: 0 };
  const wrap = (obj: object, name: string, changed: (res: unknown) => boolean) => {
    const o = obj as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const original = o[name]!.bind(obj);
    o[name] = async (...args) => {
      const res = await original(...args);
      if (changed(res)) log.count++;
      return res;
    };
  };
  wrap(stores.keys, "insert", () => true);
  wrap(stores.keys, "replace", (r) => r === true);
  wrap(stores.scopes, "upsert", () => true);
  wrap(stores.scopes, "delete", (r) => r === true);
  wrap(stores.adminKeys, "insert", () => true);
  if ("insertIfAbsent" in stores.adminKeys) wrap(stores.adminKeys, "insertIfAbsent", (r) => r === true);
  wrap(stores.adminKeys, "revoke", (r) => r !== undefined);
  return log;
}

describe.each(STORE_KINDS)("fuzzing every RPC on the %s store", (kind) => {
  let t: TestServer;
  let grpc: RawGrpc;
  let writes: WriteLog;
  const ctx: string[] = [];
  const seeds = new Map<string, Record<string, unknown>>();

  beforeAll(async () => {
    t = await startTestServer(kind, "fuzz");
    grpc = rawGrpc(t.server.grpcPort);
    const c = t.callers[0]!;
    await defineScopes(c, "data:read", "data:write");
    const orgId = newOrg();
    const { key, secret } = await createKey(c, { orgId, scopes: ["data:read"], rateLimit: { requests: 5, windowSeconds: 60 } });
    ctx.push(orgId, key.id, secret, "data:read", "data:write");
    const soon = { seconds: BigInt(Math.floor(t.clock.nowMs() / 1000) + 3600), nanos: 0 };
    seeds.set("createApiKey", { orgId, name: "fuzz", scopes: ["data:read"], expiresAt: soon, rateLimit: { requests: 10, windowSeconds: 60 }, metadata: { team: "a" } });
    seeds.set("validateApiKey", { key: secret, requiredScopes: ["data:read"] });
    seeds.set("rotateApiKey", { id: key.id, gracePeriodSeconds: 60 });
    seeds.set("updateApiKey", { apiKey: { id: key.id, name: "renamed", expiresAt: soon }, updateMask: { paths: ["name", "expires_at"] } });
    for (const m of ["getApiKey", "revokeApiKey"]) seeds.set(m, { id: key.id });
    seeds.set("listApiKeys", { orgId, pageSize: 10 });
    seeds.set("getApiKeyUsage", { id: key.id, granularity: 1, seriesStart: { seconds: BigInt(Math.floor(t.clock.nowMs() / 1000) - 7200), nanos: 0 } });
    seeds.set("defineScope", { scope: { name: "fuzz:scope", description: "d" } });
    seeds.set("deleteScope", { name: "fuzz:scope" });
    seeds.set("createAdminKey", { name: "fuzz admin", orgId });
    seeds.set("revokeAdminKey", { id: "adm_00000000000000000000" });
    writes = countWrites(t.deps.stores);
  });
  afterAll(async () => {
    grpc?.close();
    await t?.stop();
  });

  const transports = ["grpc", "connect-binary", "connect-json"] as const;
  it.each(transports)("over %s: no INTERNAL/UNKNOWN, every answer in time, nothing written by an error answer", async (transport) => {
    const r = prng(SEED + transports.indexOf(transport) + (kind === "mongodb" ? 1000 : 0));
    const failures: string[] = [];
    const codes = new Map<string, number>();
    for (let i = 0; i < PER_TRANSPORT && failures.length < 5; i++) {
      const m = METHODS[i % METHODS.length]!;
      const seed = seeds.get(m.localName) ?? {};
      const msg = r.next() < 0.5 ? randomMessage(m.input, r, ctx) : seed;
      let body: Uint8Array | string;
      if (transport === "connect-json") body = mutateJson(m, msg, r, ctx);
      else {
        const bytes = toBinary(m.input, create(m.input, msg as never));
        body = r.next() < 0.3 && msg !== seed ? bytes : mutate(bytes, r);
      }
      const before = writes.count;
      const started = performance.now();
      let res: RawAnswer;
      try {
        res =
          transport === "grpc"
            ? await grpc.call(pathOf(m), body as Uint8Array, { deadlineMs: DEADLINE_MS })
            : await rawConnect(t.server.httpPort, pathOf(m), body, transport === "connect-json" ? "json" : "proto", { deadlineMs: DEADLINE_MS });
      } catch (err) {
        failures.push(`${m.name}: transport failure ${String(err)} for ${show(body)}`);
        continue;
      }
      const ms = performance.now() - started;
      const key = res.code === 0 ? "OK" : Code[res.code];
      codes.set(key, (codes.get(key) ?? 0) + 1);
      const problem =
        res.code === Code.Internal || res.code === Code.Unknown ? `${key} (${res.message})`
        : res.code === Code.DeadlineExceeded || ms > DEADLINE_MS ? `answered in ${Math.round(ms)} ms`
        : res.code !== 0 && writes.count !== before ? `${key} (${res.message}) after writing`
        : undefined;
      if (problem) failures.push(`${m.name}: ${problem} for ${show(body)}`);
    }
    // The server is still up on both transports.
    expect((await grpc.call("/flux.apikeys.v1.PingService/Ping", new Uint8Array())).code).toBe(0);
    expect((await rawConnect(t.server.httpPort, "/flux.apikeys.v1.PingService/Ping", "{}", "json")).code).toBe(0);
    expect(failures, `FLUX_FUZZ_SEED=${SEED} (${kind}, ${transport}); answers: ${JSON.stringify(Object.fromEntries(codes))}`).toEqual([]);
    expect(codes.get("InvalidArgument") ?? 0).toBeGreaterThan(0);
    if (process.env.FLUX_FUZZ_REPORT) console.log(kind, transport, JSON.stringify(Object.fromEntries(codes)));
  });
});

const show = (b: Uint8Array | string) => (typeof b === "string" ? JSON.stringify(b.slice(0, 300)) : `0x${Buffer.from(b.subarray(0, 200)).toString("hex")}`);
