// A fast lane on the HTTP port for the hot RPCs (ValidateApiKey, Ping) in the Connect protocol: unary POSTs with
// a plain JSON or binary body go straight to the same instrumented handler connect-node would run, without the
// generic stack (Headers objects, async iterables, URL parsing, AbortControllers per call), which costs ~10× the
// work of a validation. Parsing, serialisation and error bodies come from connect-es's own functions, so the
// answers are byte-identical to connect-node's (test/rpc/connect-fast-path.test.ts compares them). Anything else
// (compressed requests, connect-timeout-ms, GET, streaming, other content types, no content-length) returns false
// before a byte is read, and connect-node answers it untouched.
import { create, type DescMethod, isMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressionNegotiate, createMethodSerializationLookup, validateReadWriteMaxBytes } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { CallContext } from "./handlers.js";
import { callerFault } from "./connect-parse-errors.js";
import { decodeSimpleValidateRequest, decodeSimpleValidateRequestJson, encodeValidateResponse, validateResponseJson } from "./hot-codec.js";
import { type ValidateApiKeyResponse, ValidateApiKeyRequestSchema } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

export interface FastRoute {
  method: DescMethod;
  /** The instrumented, guarded handler connect-node runs for this method; rejects with a ConnectError. */
  run(req: unknown, ctx: CallContext): Promise<unknown>;
  /** The answer without a promise when the method can give one (invoke.ts: instrumentNow), else undefined. */
  now?(req: unknown, ctx: CallContext): unknown;
  /** A body refused before the handler (callerFault): counted as INVALID_ARGUMENT, as connect-parse-errors.ts does. */
  onParseFailure(): void;
}

export interface FastPathOptions {
  readMaxBytes: number;
  jsonOptions: { ignoreUnknownFields: boolean };
}

/** connect-node's defaults (connectNodeAdapter): what an accept-encoding header may pick for a large answer. */
const ACCEPT_COMPRESSION = [compressionGzip, compressionBrotli];
const utf8 = new TextEncoder();
/** As connect-es decodes a JSON body (a BOM dropped, bad bytes replaced). */
const utf8Decoder = new TextDecoder();

/** Returns a handler that answers the call and returns true, or returns false having touched nothing. */
export function createConnectFastPath(routes: FastRoute[], o: FastPathOptions): (req: Req, res: Res) => boolean {
  const limits = validateReadWriteMaxBytes(o.readMaxBytes, undefined, undefined);
  const byPath = new Map(
    routes.map((r) => {
      const s = createMethodSerializationLookup(r.method, undefined, o.jsonOptions, limits);
      const hot = r.method.input.typeName === ValidateApiKeyRequestSchema.typeName;
      const route = {
        ...r,
        binary: hot ? { parse: (b: Uint8Array) => decodeSimpleValidateRequest(b) ?? s.getI(true).parse(b) } : s.getI(true),
        json: hot ? { parse: (b: Uint8Array) => decodeSimpleValidateRequestJson(utf8Decoder.decode(b)) ?? s.getI(false).parse(b) } : s.getI(false),
        out: hot
          ? [{ serialize: (m: unknown) => utf8.encode(validateResponseJson(m as ValidateApiKeyResponse)) }, { serialize: (m: unknown) => encodeValidateResponse(m as ValidateApiKeyResponse) }]
          : [s.getO(false), s.getO(true)],
      };
      return [`/${r.method.parent.typeName}/${r.method.name}`, route] as const;
    }),
  );

  return (req, res) => {
    if (req.method !== "POST") return false;
    const route = byPath.get(req.url as `/${string}/${string}`);
    if (!route) return false;
    const h = req.headers;
    const ct = h["content-type"];
    const binary = ct === "application/proto" ? true : ct === "application/json" || ct === "application/json; charset=utf-8" ? false : undefined;
    const len = h["content-length"];
    if (binary === undefined || typeof len !== "string" || !/^\d{1,7}$/.test(len) || Number(len) > limits.readMaxBytes) return false;
    if (h["content-encoding"] !== undefined || h["connect-timeout-ms"] !== undefined) return false;
    // connect-node builds a URL from the authority and throws without one: leave that case to it.
    if (("authority" in req ? req.authority : h.host) === undefined) return false;
    const authorization = h.authorization;
    const requestId = h["x-request-id"];
    const accept = h["accept-encoding"];
    if (!isText(authorization) || !isText(requestId) || !isText(accept)) return false;
    const ctx: CallContext = {
      authorization: authorization === undefined ? undefined : fetchHeaderValue(authorization),
      requestId: requestId === undefined ? undefined : fetchHeaderValue(requestId).slice(0, 100),
      peer: req.socket?.remoteAddress,
    };
    const hint = Number(len);
    readBody(req, hint, (body) => {
      if (hint !== body.byteLength) {
        const e = new ConnectError(`protocol error: promised ${hint} bytes, received ${body.byteLength}`, Code.InvalidArgument);
        return refuse(res, route, e, o.jsonOptions, accept);
      }
      let input: unknown;
      try {
        input = (binary ? route.binary : route.json).parse(body);
      } catch (err) {
        return refuse(res, route, err as ConnectError, o.jsonOptions, accept);
      }
      const ok = (out: unknown) => {
        const msg = isMessage(out, route.method.output) ? out : create(route.method.output, out as never);
        answer(res, 200, binary ? "application/proto" : "application/json", route.out[binary ? 1 : 0]!.serialize(msg), accept);
      };
      const now = route.now?.(input, ctx);
      if (now !== undefined) return ok(now);
      route.run(input, ctx).then(
        ok,
        (err: unknown) => answerError(res, err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err), o.jsonOptions, accept),
      );
    });
    return true;
  };
}

function isText(v: string | string[] | undefined): v is string | undefined {
  return v === undefined || typeof v === "string";
}

/** What fetch's Headers.get returns for a single value: leading and trailing HTTP whitespace removed. */
function fetchHeaderValue(v: string): string {
  const first = v.charCodeAt(0);
  const last = v.charCodeAt(v.length - 1);
  const ws = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  return v.length && (ws(first) || ws(last)) ? v.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "") : v;
}

function readBody(req: Req, hint: number, done: (body: Uint8Array) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (c: Buffer) => {
    chunks.push(c);
    size += c.byteLength;
  });
  // An aborted request is answered by nobody, as with connect-node (whose handler never ran either).
  req.once("end", () => done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
}

/** A request refused before the handler: answered with the error connect-node's answer is rewritten to (connect-parse-errors.ts). */
function refuse(res: Res, route: FastRoute, e: ConnectError, jsonOptions: FastPathOptions["jsonOptions"], accept: string | undefined): void {
  const fault = callerFault(e.code, e.rawMessage, e.details.length > 0, route.method.input.typeName);
  if (fault) route.onParseFailure();
  answerError(res, fault ?? e, jsonOptions, accept);
}

function answerError(res: Res, e: ConnectError, jsonOptions: FastPathOptions["jsonOptions"], accept: string | undefined): void {
  let extra: Record<string, string> | undefined;
  e.metadata.forEach((value, key) => void ((extra ??= {})[key] = value));
  answer(res, codeToHttpStatus(e.code), "application/json", errorToJsonBytes(e, jsonOptions as never), accept, extra);
}

/** As connect-node writes a unary answer: compressed when large and accepted, headers in Headers' sorted order. */
function answer(res: Res, status: number, contentType: string, body: Uint8Array, accept: string | undefined, extra?: Record<string, string>): void {
  if (body.byteLength >= 1024 && accept) {
    const c = compressionNegotiate(ACCEPT_COMPRESSION, null, fetchHeaderValue(accept), "accept-encoding").response;
    if (c) {
      void c.compress(body).then((z) => write(res, status, contentType, z, c.name, extra));
      return;
    }
  }
  write(res, status, contentType, body, undefined, extra);
}

function write(res: Res, status: number, contentType: string, body: Uint8Array, encoding: string | undefined, extra?: Record<string, string>): void {
  if (!encoding && !extra) {
    (res as http.ServerResponse).writeHead(status, { "content-length": String(body.byteLength), "content-type": contentType });
    return void (res as http.ServerResponse).end(body);
  }
  const headers: Record<string, string> = { ...extra, "content-type": contentType, "content-length": String(body.byteLength) };
  if (encoding) headers["content-encoding"] = encoding;
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(headers).sort()) sorted[k] = headers[k]!;
  (res as http.ServerResponse).writeHead(status, sorted);
  (res as http.ServerResponse).end(body);
}
