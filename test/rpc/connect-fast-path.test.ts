// The Connect fast lane (src/transport/connect-fast-path.ts) answers byte for byte as connect-node does. Two servers
// hold identical state (same keys, same admin keys, clocks at the same instant); every request goes to the fast
// lane of one and to plain connect-node on the other, in the same order, and status, headers (but the date) and
// body bytes must match: successes, every outcome, every error, both codecs, HTTP/1.1 and h2c, compressed answers,
// odd headers, and the requests the lane must leave to connect-node.
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import * as http from "node:http";
import * as http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidateApiKeyRequestSchema } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { ManualClock } from "../../src/domain/clock.js";
import { ADMIN_KEY_PREFIX, API_KEY_PREFIX, createDigester, displayHint, generateSecret, newId } from "../../src/domain/key-material.js";
import type { AdminKeyRecord, ApiKeyRecord } from "../../src/domain/types.js";
import { createConnectHandler, type HttpServer, startHttpServer } from "../../src/transport/connect-server.js";
import { createServedServices } from "../../src/transport/handlers.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";

const VALIDATE = "/flux.apikeys.v1.ApiKeyService/ValidateApiKey";
const PING = "/flux.apikeys.v1.PingService/Ping";
const NOW = Date.UTC(2026, 2, 1, 12, 0, 0);
const digest = createDigester(undefined);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Header names in the order they came on the wire. */
  order: string[];
  body: Buffer;
}
type Send = (path: string, body: Uint8Array | string, headers: Record<string, string>, method?: string) => Promise<Answer>;

function h1(port: number): Send {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return (path, body, headers, method = "POST") =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, path, method, agent, headers: { "content-length": String(Buffer.byteLength(body)), ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: { ...res.headers }, order: res.rawHeaders.filter((_, i) => i % 2 === 0), body: Buffer.concat(chunks) }));
      });
      req.on("error", reject);
      req.end(body);
    });
}

function h2c(port: number): Send & { close(): void } {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const send: Send = (path, body, headers, method = "POST") =>
    new Promise((resolve, reject) => {
      const s = session.request({ ":method": method, ":path": path, "content-length": String(Buffer.byteLength(body)), ...headers });
      let head: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      s.on("response", (h) => (head = h));
      s.on("data", (c: Buffer) => chunks.push(c));
      s.on("end", () => {
        const { ":status": status, ...rest } = head;
        resolve({ status: Number(status), headers: rest, order: Object.keys(rest), body: Buffer.concat(chunks) });
      });
      s.on("error", reject);
      if (s.writable) s.end(body); // a GET ends with its headers
    });
  return Object.assign(send, { close: () => session.close() });
}

function keyRecord(secret: string, over: Partial<ApiKeyRecord>): ApiKeyRecord {
  return {
    id: newId("key"),
    orgId: "org_a",
    name: "twin key",
    scopes: ["data:read"],
    metadata: { plan: "pro" },
    enabled: true,
    displayHint: displayHint(secret, API_KEY_PREFIX),
    createdAtMs: NOW - 60_000,
    updatedAtMs: NOW - 60_000,
    digest: digest(secret),
    ...over,
  };
}

const secret = () => generateSecret(API_KEY_PREFIX);
const keys = {
  plain: secret(),
  limited: secret(),
  disabled: secret(),
  expired: secret(),
  revoked: secret(),
  otherOrg: secret(),
  large: secret(),
  listed: secret(),
  unknown: secret(),
  metered: secret(),
  refilled: secret(),
};
const orgAdmin = generateSecret(ADMIN_KEY_PREFIX);
const records: ApiKeyRecord[] = [
  keyRecord(keys.plain, { expiresAtMs: NOW + 86_400_000 }),
  keyRecord(keys.limited, { rateLimit: { requests: 3, windowSeconds: 60 } }),
  keyRecord(keys.disabled, { enabled: false }),
  keyRecord(keys.expired, { expiresAtMs: NOW - 1 }),
  keyRecord(keys.revoked, { revokedAtMs: NOW - 1000 }),
  keyRecord(keys.otherOrg, { orgId: "org_b" }),
  // Credits (issue 14): balance in every answer, USAGE_EXCEEDED with refused_by, a refill time, a rate limit beside.
  keyRecord(keys.metered, { credits: { remaining: 2, setAtMs: NOW - 60_000 } }),
  keyRecord(keys.refilled, { credits: { remaining: 5, refill: { amount: 5, dayOfMonth: 31 }, setAtMs: NOW - 60_000 }, rateLimit: { requests: 2, windowSeconds: 60 } }),
  keyRecord(keys.listed, { allowedCidrs: ["192.0.2.0/24", "2001:db8::/32"], rateLimit: { requests: 100, windowSeconds: 60 } }),
  // An answer over connect-node's 1 KiB compression threshold.
  keyRecord(keys.large, { metadata: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`k${i}`, "v".repeat(200)])), rateLimit: { requests: 1000, windowSeconds: 3600 } }),
];
const admin: AdminKeyRecord = { id: newId("adm"), name: "org a", orgId: "org_a", validateOnly: true, displayHint: "x", digest: digest(orgAdmin), createdAtMs: NOW - 1000 };

/** client_ip and cost (fields 4 and 3), read by the lane's own decoders. */
type Extra = { clientIp?: string; cost?: number };
const proto = (key: string, requiredScopes: string[] = [], extra: Extra = {}) => toBinary(ValidateApiKeyRequestSchema, create(ValidateApiKeyRequestSchema, { key, requiredScopes, ...extra }));
const json = (key: string, requiredScopes: string[] = [], extra: Extra = {}) => toJsonString(ValidateApiKeyRequestSchema, create(ValidateApiKeyRequestSchema, { key, requiredScopes, ...extra }));
const both = (key: string, requiredScopes: string[], extra: Extra) => (c: "json" | "proto") => (c === "json" ? json(key, requiredScopes, extra) : proto(key, requiredScopes, extra));

interface Case {
  name: string;
  path?: string;
  method?: string;
  body: (codec: "json" | "proto") => Uint8Array | string;
  headers?: Record<string, string>;
  /** False: the fast lane must leave this request to connect-node. */
  fast?: boolean;
}

const bearer = { authorization: `Bearer ${ADMIN_KEY}` };
const CASES: Case[] = [
  ...Object.entries(keys).map(([name, k]) => ({ name: `outcome: ${name}`, body: (c: "json" | "proto") => (c === "json" ? json(k) : proto(k)), headers: bearer })),
  ...[1, 2, 3, 4].map((i) => ({ name: `rate limit, call ${i}`, body: (c: "json" | "proto") => (c === "json" ? json(keys.limited) : proto(keys.limited)), headers: bearer })),
  ...[1, 2, 3].map((i) => ({ name: `credits, call ${i}`, body: (c: "json" | "proto") => (c === "json" ? json(keys.metered) : proto(keys.metered)), headers: bearer })),
  ...[1, 2, 3].map((i) => ({ name: `credits with refill and rate limit, call ${i}`, body: (c: "json" | "proto") => (c === "json" ? json(keys.refilled) : proto(keys.refilled)), headers: bearer })),
  { name: "cost 0 reads the balance", body: (c) => (c === "json" ? `{"key":"${keys.refilled}","cost":0}` : toBinary(ValidateApiKeyRequestSchema, create(ValidateApiKeyRequestSchema, { key: keys.refilled, cost: 0 }))), headers: bearer },
  { name: "cost above the balance", body: (c) => (c === "json" ? `{"key":"${keys.metered}","cost":7}` : toBinary(ValidateApiKeyRequestSchema, create(ValidateApiKeyRequestSchema, { key: keys.metered, cost: 7 }))), headers: bearer },
  { name: "cost past its bound: invalid argument", body: (c) => (c === "json" ? `{"key":"${keys.metered}","cost":1000001}` : toBinary(ValidateApiKeyRequestSchema, create(ValidateApiKeyRequestSchema, { key: keys.metered, cost: 1_000_001 }))), headers: bearer },
  { name: "malformed key", body: (c) => (c === "json" ? json("flux_nope") : proto("flux_nope")), headers: bearer },
  { name: "insufficient scope", body: (c) => (c === "json" ? json(keys.plain, ["data:write"]) : proto(keys.plain, ["data:write"])), headers: bearer },
  { name: "malformed scope name: invalid argument", body: (c) => (c === "json" ? json(keys.plain, ["Bad Scope"]) : proto(keys.plain, ["Bad Scope"])), headers: bearer },
  { name: "org admin sees its org", body: (c) => (c === "json" ? json(keys.plain) : proto(keys.plain)), headers: { authorization: `Bearer ${orgAdmin}` } },
  { name: "org admin: other org is not found", body: (c) => (c === "json" ? json(keys.otherOrg) : proto(keys.otherOrg)), headers: { authorization: `Bearer ${orgAdmin}` } },
  { name: "no admin key: unauthenticated", body: (c) => (c === "json" ? json(keys.plain) : proto(keys.plain)) },
  { name: "wrong admin key: unauthenticated", body: (c) => (c === "json" ? json(keys.plain) : proto(keys.plain)), headers: { authorization: "Bearer fluxadm_wrong" } },
  { name: "not a bearer: unauthenticated", body: (c) => (c === "json" ? json(keys.plain) : proto(keys.plain)), headers: { authorization: "Basic abc" } },
  { name: "bearer with spaces, request id", body: (c) => (c === "json" ? json(keys.plain) : proto(keys.plain)), headers: { authorization: `Bearer ${ADMIN_KEY}  `, "x-request-id": "r".repeat(150) } },
  { name: "client ip inside the list", body: both(keys.listed, [], { clientIp: "192.0.2.5" }), headers: bearer },
  { name: "IPv6 client ip inside the list, with a scope", body: both(keys.listed, ["data:read"], { clientIp: "2001:db8::7" }), headers: bearer },
  { name: "IPv4-mapped client ip inside the list", body: both(keys.listed, [], { clientIp: "::ffff:192.0.2.9" }), headers: bearer },
  { name: "client ip outside the list", body: both(keys.listed, [], { clientIp: "198.51.100.1" }), headers: bearer },
  { name: "client ip on a key without a list", body: both(keys.plain, [], { clientIp: "198.51.100.1" }), headers: bearer },
  { name: "malformed client ip: invalid argument", body: both(keys.plain, [], { clientIp: "192.0.2.300" }), headers: bearer },
  { name: "non-ASCII client ip: invalid argument", body: both(keys.plain, [], { clientIp: "é" }), headers: bearer },
  { name: "cost 0", body: both(keys.limited, [], { cost: 0 }), headers: bearer },
  { name: "cost and client ip", body: both(keys.listed, ["data:read"], { cost: 1_000_000, clientIp: "192.0.2.1" }), headers: bearer },
  { name: "cost past 2^28 (left to protobuf-es)", body: both(keys.plain, [], { cost: 2 ** 32 - 1 }), headers: bearer },
  { name: "cost as a JSON string", body: (c) => (c === "json" ? `{"key":"${keys.plain}","cost":"5"}` : proto(keys.plain, [], { cost: 5 })), headers: bearer },
  { name: "cost out of range in JSON", body: (c) => (c === "json" ? `{"key":"${keys.plain}","cost":-1}` : proto(keys.plain)), headers: bearer },
  { name: "unknown JSON field", body: (c) => (c === "json" ? `{"key":"${keys.plain}","keyy":1}` : proto(keys.plain)), headers: bearer },
  { name: "fractional cost in JSON", body: (c) => (c === "json" ? `{"key":"${keys.plain}","cost":1.5}` : proto(keys.plain)), headers: bearer },
  { name: "cost past uint32 in JSON", body: (c) => (c === "json" ? `{"key":"${keys.plain}","cost":4294967296}` : proto(keys.plain)), headers: bearer },
  // The error names the field: cut to the bound, its body (with ErrorInfo) compressed or not as connect-node would.
  { name: "unknown JSON field of 5000 bytes, gzip accepted", body: (c) => (c === "json" ? `{"key":"${keys.plain}","${"k".repeat(5000)}":1}` : Uint8Array.from([0x0a, 0x7f, 0x01])), headers: { ...bearer, "accept-encoding": "gzip" } },
  { name: "unknown JSON field of 600 bytes, br accepted", body: (c) => (c === "json" ? `{"key":"${keys.plain}","${"k".repeat(600)}":1}` : Uint8Array.from([0x0d, 1, 2, 3, 4])), headers: { ...bearer, "accept-encoding": "br" } },
  { name: "malformed body", body: (c) => (c === "json" ? "{not json" : Uint8Array.from([0x0a, 0x7f, 0x01])), headers: bearer },
  { name: "wrong wire type", body: (c) => (c === "json" ? `{"key":5}` : Uint8Array.from([0x0d, 1, 2, 3, 4])), headers: bearer },
  { name: "invalid UTF-8", body: (c) => (c === "json" ? Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) : Uint8Array.from([0x0a, 0x02, 0xc3, 0x28])), headers: bearer },
  { name: "empty body", body: () => "", headers: bearer },
  { name: "large answer, gzip accepted", body: (c) => (c === "json" ? json(keys.large) : proto(keys.large)), headers: { ...bearer, "accept-encoding": "gzip" } },
  { name: "large answer, br then gzip accepted", body: (c) => (c === "json" ? json(keys.large) : proto(keys.large)), headers: { ...bearer, "accept-encoding": "br, gzip" } },
  { name: "large answer, identity only", body: (c) => (c === "json" ? json(keys.large) : proto(keys.large)), headers: { ...bearer, "accept-encoding": "identity" } },
  { name: "small answer, gzip accepted", body: (c) => (c === "json" ? json(keys.plain) : proto(keys.plain)), headers: { ...bearer, "accept-encoding": "gzip, deflate" } },
  { name: "ping", path: PING, body: (c) => (c === "json" ? "{}" : new Uint8Array(0)), headers: {} },
  { name: "ping with unknown field", path: PING, body: (c) => (c === "json" ? `{"x":1}` : Uint8Array.from([0x08, 0x01])), headers: {} },
  { name: "charset in content type", body: () => json(keys.plain), headers: { ...bearer, "content-type": "application/json; charset=utf-8" } },
  // Left to connect-node:
  { name: "gzip request body", fast: false, body: (c) => gzipSync(c === "json" ? json(keys.plain) : proto(keys.plain)), headers: { ...bearer, "content-encoding": "gzip" } },
  { name: "unknown request encoding", fast: false, body: (c) => (c === "json" ? json(keys.plain) : proto(keys.plain)), headers: { ...bearer, "content-encoding": "zstd" } },
  { name: "connect-timeout-ms", fast: false, body: (c) => (c === "json" ? json(keys.plain) : proto(keys.plain)), headers: { ...bearer, "connect-timeout-ms": "5000" } },
  { name: "bad connect-timeout-ms", fast: false, body: (c) => (c === "json" ? json(keys.plain) : proto(keys.plain)), headers: { ...bearer, "connect-timeout-ms": "soon" } },
  { name: "query string", fast: false, path: `${VALIDATE}?x=1`, body: (c) => (c === "json" ? json(keys.plain) : proto(keys.plain)), headers: bearer },
  { name: "text/plain", fast: false, body: () => json(keys.plain), headers: { ...bearer, "content-type": "text/plain" } },
  { name: "GET", fast: false, method: "GET", body: () => "", headers: bearer },
  { name: "streaming content type", fast: false, body: () => json(keys.plain), headers: { ...bearer, "content-type": "application/connect+json" } },
];

describe("the Connect fast lane answers exactly as connect-node", () => {
  let a: TestServer;
  let b: TestServer;
  let fastServer: HttpServer;
  let plainServer: HttpServer;
  let taken = 0;

  beforeAll(async () => {
    [a, b] = await Promise.all([
      startTestServer("embedded", "fast-lane-a", { clock: new ManualClock(NOW) }),
      startTestServer("embedded", "fast-lane-b", { clock: new ManualClock(NOW) }),
    ]);
    for (const t of [a, b]) {
      for (const r of records) await t.deps.stores.keys.insert({ ...r });
      await t.deps.stores.adminKeys.insert({ ...admin });
    }
    const log = pino({ level: "silent" });
    const notFound = (_req: unknown, res: http.ServerResponse) => void res.writeHead(404).end();
    const fast = createConnectHandler(createServedServices(a.deps), log, notFound as never, a.deps.metrics, { onFastPath: () => taken++ });
    const plain = createConnectHandler(createServedServices(b.deps), log, notFound as never, b.deps.metrics, { fastPath: false });
    [fastServer, plainServer] = await Promise.all([startHttpServer(fast, { host: "127.0.0.1", port: 0 }), startHttpServer(plain, { host: "127.0.0.1", port: 0 })]);
  });

  afterAll(async () => {
    await Promise.all([fastServer?.close(100), plainServer?.close(100)]);
    await Promise.all([a?.stop(), b?.stop()]);
  });

  for (const version of ["HTTP/1.1", "h2c"] as const) {
    it(`answers every case identically over ${version}, in both codecs`, async () => {
      const fast = version === "h2c" ? h2c(fastServer.port) : h1(fastServer.port);
      const plain = version === "h2c" ? h2c(plainServer.port) : h1(plainServer.port);
      try {
        for (const codec of ["json", "proto"] as const) {
          for (const c of CASES) {
            const headers = { "content-type": `application/${codec}`, "connect-protocol-version": "1", ...c.headers };
            const before = taken;
            const x = await fast(c.path ?? VALIDATE, c.body(codec), headers, c.method);
            const y = await plain(c.path ?? VALIDATE, c.body(codec), headers, c.method);
            const what = `${version} ${codec} ${c.name}`;
            expect(taken - before, `${what}: fast lane taken`).toBe(c.fast === false ? 0 : 1);
            const { date: _d1, ...hx } = x.headers;
            const { date: _d2, ...hy } = y.headers;
            expect({ status: x.status, headers: hx, order: x.order }, what).toEqual({ status: y.status, headers: hy, order: y.order });
            expect(x.body.toString("base64"), what).toBe(y.body.toString("base64"));
          }
        }
      } finally {
        (fast as { close?: () => void }).close?.();
        (plain as { close?: () => void }).close?.();
      }
    });
  }

  it("answers generated and mutated bodies identically (seeded)", async () => {
    let seed = Number(process.env.FLUX_FUZZ_SEED ?? 20260301) >>> 0;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % n);
    const all = Object.values(keys);
    const fast = h1(fastServer.port);
    const plain = h1(plainServer.port);
    for (let i = 0; i < 300; i++) {
      const codec = rnd(2) ? "json" : "proto";
      const extra: Extra = { clientIp: rnd(2) ? "" : ["192.0.2.1", "198.51.100.1", "2001:db8::1"][rnd(3)]!, cost: rnd(2) ? undefined : rnd(1000) };
      const base = Buffer.from(codec === "json" ? json(all[rnd(all.length)]!, rnd(3) ? [] : ["data:read"], extra) : proto(all[rnd(all.length)]!, rnd(3) ? [] : ["data:read"], extra));
      const body = Buffer.from(base);
      for (let k = rnd(4); k > 0; k--) body[rnd(body.length)] = rnd(256);
      const cut = rnd(4) === 0 ? body.subarray(0, rnd(body.length + 1)) : body;
      const headers = { "content-type": `application/${codec}`, ...bearer };
      const x = await fast(VALIDATE, cut, headers);
      const y = await plain(VALIDATE, cut, headers);
      const what = `${codec} body ${cut.toString("base64")}`;
      expect(x.status, what).toBe(y.status);
      expect(x.body.toString("base64"), what).toBe(y.body.toString("base64"));
    }
  });

  it("counts the same calls and outcomes in /metrics", async () => {
    const lines = async (t: TestServer) =>
      (await t.deps.metrics.registry.metrics())
        .split("\n")
        .filter((l) => /^flux_(validations_total|rpc_errors_total|admin_auth_failures_total|rpc_duration_seconds_count)/.test(l))
        .sort();
    expect(await lines(a)).toEqual(await lines(b));
  });
});
