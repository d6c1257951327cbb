// Requests refused before any handler runs (bytes or JSON protobuf-es cannot read) still carry the one table's
// google.rpc.ErrorInfo (reason INVALID_ARGUMENT, domain flux.apikeys.v1), over every protocol we serve: Connect
// JSON and binary (the fast lane and connect-node), gRPC-Web, gRPC through connect-node (HTTP port) and grpc-js.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import * as http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateApiKeyRequestSchema } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { ValidateApiKeyRequestSchema } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { type ErrorInfo, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../gen/ts/google/rpc/status_pb.js";
import { ERROR_BOUNDS } from "../../src/domain/limits.js";
import { rawConnect, rawGrpc, type RawGrpc } from "../support/raw-callers.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";

const CREATE = "/flux.apikeys.v1.ApiKeyService/CreateApiKey";
const VALIDATE = "/flux.apikeys.v1.ApiKeyService/ValidateApiKey";

interface Refusal {
  code: number;
  message: string;
  info: ErrorInfo | undefined;
  /** Bytes of the error as sent (Connect body, or the gRPC status headers). */
  size: number;
}

const validCreate = toBinary(CreateApiKeyRequestSchema, create(CreateApiKeyRequestSchema, { orgId: "org_x", name: "a name that is long enough" }));
const validValidate = toBinary(ValidateApiKeyRequestSchema, create(ValidateApiKeyRequestSchema, { key: "flux_x", cost: 3 }));
const BINARY: [string, string, Uint8Array][] = [
  ["truncated", CREATE, validCreate.subarray(0, validCreate.length - 3)],
  ["truncated (hot method)", VALIDATE, validValidate.subarray(0, validValidate.length - 1)],
  ["a wrong wire type", CREATE, Uint8Array.from([0x08, 0x01])],
  ["a wrong wire type (hot method)", VALIDATE, Uint8Array.from([0x0d, 1, 2, 3, 4])],
  ["invalid UTF-8 in a string", CREATE, Uint8Array.from([0x0a, 0x02, 0xc3, 0x28])],
  ["a length beyond the end", VALIDATE, Uint8Array.from([0x0a, 0x7f, 0x41])],
];
const JSON_BODIES: [string, string, string][] = [
  ["a fractional uint32", VALIDATE, `{"key":"flux_x","cost":1.5}`],
  ["a uint32 out of range", VALIDATE, `{"key":"flux_x","cost":4294967296}`],
  ["a negative uint32", VALIDATE, `{"key":"flux_x","cost":-1}`],
  ["a uint64 out of range", CREATE, `{"orgId":"org_x","name":"n","credits":{"remaining":"18446744073709551616"}}`],
  ["an unknown field", CREATE, `{"orgId":"org_x","name":"typo","expiresAT":"2030-01-01T00:00:00Z"}`],
  ["an unknown field (hot method)", VALIDATE, `{"key":"flux_x","requiredScope":["x"]}`],
  ["an unknown enum name", "/flux.apikeys.v1.ApiKeyService/GetApiKeyUsage", `{"id":"key_x","granularity":"GRANULARITY_WEEK"}`],
  ["malformed JSON", CREATE, `{"orgId": `],
  ["malformed JSON (hot method)", VALIDATE, "{not json"],
  ["not an object", CREATE, "[1,2]"],
];

function infoFromStatus(bin: Uint8Array | undefined): ErrorInfo | undefined {
  if (!bin) return undefined;
  const status = fromBinary(StatusSchema, bin);
  for (const any of status.details) {
    const info = anyUnpack(any, ErrorInfoSchema);
    if (info) return info;
  }
  return undefined;
}

function infoFromConnectBody(body: Uint8Array | undefined): ErrorInfo | undefined {
  const j = JSON.parse(Buffer.from(body ?? []).toString()) as { details?: { type: string; value: string }[] };
  const d = j.details?.find((x) => x.type === "google.rpc.ErrorInfo");
  return d ? fromBinary(ErrorInfoSchema, Buffer.from(d.value, "base64")) : undefined;
}

const envelope = (bytes: Uint8Array) => {
  const frame = Buffer.alloc(5 + bytes.length);
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  return frame;
};
const asBytes = (body: Uint8Array | string) => (typeof body === "string" ? Buffer.from(body) : body);

async function overConnect(port: number, path: string, body: Uint8Array | string, format: "proto" | "json"): Promise<Refusal> {
  const res = await rawConnect(port, path, body, format);
  return { code: res.code, message: res.message, info: infoFromConnectBody(res.errorBody), size: res.errorBytes };
}

async function overGrpcWeb(port: number, path: string, body: Uint8Array | string, format: "proto" | "json"): Promise<Refusal> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: "POST",
    headers: { "content-type": `application/grpc-web+${format}`, authorization: `Bearer ${ADMIN_KEY}` },
    body: envelope(asBytes(body)),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  let trailer = new Headers(res.headers);
  for (let at = 0; at + 5 <= bytes.length; at += 5 + bytes.readUInt32BE(at + 1)) {
    if (bytes[at]! & 0x80) trailer = trailerParse(bytes.subarray(at + 5, at + 5 + bytes.readUInt32BE(at + 1)));
  }
  const bin = trailer.get("grpc-status-details-bin");
  return {
    code: Number(trailer.get("grpc-status")),
    message: decodeURIComponent(trailer.get("grpc-message") ?? ""),
    info: infoFromStatus(bin ? Buffer.from(bin, "base64") : undefined),
    size: bytes.length,
  };
}

/** gRPC over h2c to the HTTP port, where connect-node answers it. */
async function overGrpcHttpPort(session: http2.ClientHttp2Session, path: string, body: Uint8Array | string, format: "proto" | "json"): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ":method": "POST", ":path": path, "content-type": `application/grpc+${format}`, te: "trailers", authorization: `Bearer ${ADMIN_KEY}` });
    let fields: http2.IncomingHttpHeaders = {};
    s.on("response", (h) => (fields = { ...h }));
    s.on("trailers", (t) => (fields = { ...fields, ...t }));
    s.on("data", () => {});
    s.on("error", reject);
    s.on("end", () => {
      const bin = fields["grpc-status-details-bin"] as string | undefined;
      const message = decodeURIComponent((fields["grpc-message"] as string | undefined) ?? "");
      resolve({ code: Number(fields["grpc-status"]), message, info: infoFromStatus(bin ? Buffer.from(bin, "base64") : undefined), size: (bin?.length ?? 0) + message.length });
    });
    s.end(envelope(asBytes(body)));
  });
}

function expectInvalidArgument(r: Refusal): void {
  expect({ code: r.code, reason: r.info?.reason, domain: r.info?.domain }).toEqual({ code: Code.InvalidArgument, reason: "INVALID_ARGUMENT", domain: "flux.apikeys.v1" });
  expect(Buffer.byteLength(r.message)).toBeLessThanOrEqual(ERROR_BOUNDS.messageBytes);
}

let t: TestServer;
let raw: RawGrpc;
let session: http2.ClientHttp2Session;
beforeAll(async () => {
  t = await startTestServer("embedded", "error-details");
  raw = rawGrpc(t.server.grpcPort);
  session = http2.connect(`http://127.0.0.1:${t.server.httpPort}`);
});
afterAll(async () => {
  session?.close();
  raw?.close();
  await t?.stop();
});

describe("binary bodies that do not parse carry ErrorInfo INVALID_ARGUMENT", () => {
  it.each(BINARY)("%s: over Connect", async (_n, path, bytes) => expectInvalidArgument(await overConnect(t.server.httpPort, path, bytes, "proto")));
  it.each(BINARY)("%s: over gRPC-Web", async (_n, path, bytes) => expectInvalidArgument(await overGrpcWeb(t.server.httpPort, path, bytes, "proto")));
  it.each(BINARY)("%s: over gRPC on the HTTP port (connect-node)", async (_n, path, bytes) => expectInvalidArgument(await overGrpcHttpPort(session, path, bytes, "proto")));
  it.each(BINARY)("%s: over gRPC on the gRPC port (grpc-js)", async (_n, path, bytes) => {
    const res = await raw.call(path, bytes);
    expectInvalidArgument({ code: res.code, message: res.message, info: infoFromStatus(res.statusDetails), size: res.errorBytes });
  });
});

describe("JSON bodies protobuf-es cannot read carry ErrorInfo INVALID_ARGUMENT", () => {
  it.each(JSON_BODIES)("%s: over Connect", async (_n, path, json) => expectInvalidArgument(await overConnect(t.server.httpPort, path, json, "json")));
  it.each(JSON_BODIES)("%s: over gRPC-Web", async (_n, path, json) => expectInvalidArgument(await overGrpcWeb(t.server.httpPort, path, json, "json")));
  it.each(JSON_BODIES)("%s: over gRPC on the HTTP port (connect-node)", async (_n, path, json) => expectInvalidArgument(await overGrpcHttpPort(session, path, json, "json")));
});

describe("these errors stay bounded", () => {
  const field = "f".repeat(100_000);
  it("an unknown JSON field named with 100 KB: message within the bound and a body under 8 KB, on every protocol", async () => {
    for (const path of [CREATE, VALIDATE]) {
      const json = `{"${field}":1}`;
      for (const r of [await overConnect(t.server.httpPort, path, json, "json"), await overGrpcWeb(t.server.httpPort, path, json, "json"), await overGrpcHttpPort(session, path, json, "json")]) {
        expectInvalidArgument(r);
        expect(r.size).toBeLessThan(8 * 1024);
      }
    }
  });
});

describe("connect-node's other INVALID_ARGUMENT answers before the handler carry ErrorInfo too", () => {
  const post = (headers: Record<string, string>, body: Uint8Array | string) =>
    fetch(`http://127.0.0.1:${t.server.httpPort}${CREATE}`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_KEY}`, ...headers }, body: body as BodyInit });
  const connectJson = { "content-type": "application/json", "connect-protocol-version": "1" };
  it.each([
    ["a connect-timeout-ms that is not a number", { ...connectJson, "connect-timeout-ms": "soon" }, "{}"],
    ["a gzip body that does not inflate", { ...connectJson, "content-encoding": "gzip" }, "{}"],
  ])("%s: over Connect", async (_n, headers, body) => {
    const res = await post(headers, body);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const j = JSON.parse(Buffer.from(bytes).toString()) as { code: string; message: string };
    expectInvalidArgument({ code: j.code === "invalid_argument" ? Code.InvalidArgument : -1, message: j.message, info: infoFromConnectBody(bytes), size: bytes.length });
  });
  it("an incomplete envelope: over gRPC-Web", async () => {
    const res = await post({ "content-type": "application/grpc-web+proto" }, Uint8Array.from([0, 0, 0, 0, 9, 1]));
    const bytes = Buffer.from(await res.arrayBuffer());
    const trailer = trailerParse(bytes.subarray(5));
    const bin = trailer.get("grpc-status-details-bin");
    expectInvalidArgument({ code: Number(trailer.get("grpc-status")), message: "", info: infoFromStatus(bin ? Buffer.from(bin, "base64") : undefined), size: bytes.length });
  });
});
