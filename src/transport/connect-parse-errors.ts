// connect-node refuses some requests before any interceptor or handler runs: binary bodies that do not parse
// (INTERNAL "parse binary: …", HTTP 500), JSON protobuf-es cannot read, bodies shorter than promised (INVALID_ARGUMENT,
// no details). These are the caller's fault: this wraps the router's handlers and answers each INVALID_ARGUMENT with
// the error table's ErrorInfo and a bounded message, on the Connect, gRPC-Web and gRPC protocols. The Connect fast
// lane (connect-fast-path.ts) answers the same cases with the same callerFault, byte for byte.
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import type { Compression, UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeFromString, codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { invalidArgument } from "../domain/errors.js";
import { bounded, CODE_OF, errorDetails } from "./error-table.js";

const PARSE_FAILURE = "parse binary: ";
/** connect-node's default response compressions and the size from which it compresses (compressMinBytes). */
const COMPRESSIONS = new Map<string, Compression>([compressionGzip, compressionBrotli].map((c) => [c.name, c]));
const COMPRESS_MIN_BYTES = 1024;
/** connect-node's error bodies hold at most a message about a body of READ_MAX_BYTES (1 MiB): far below this. */
const ERROR_BODY_MAX_BYTES = 64 << 20;

/**
 * The error to answer instead of connect-node's own, or undefined to leave it: a binary parse failure, or an
 * INVALID_ARGUMENT without details (our handlers' errors always carry ErrorInfo, so it came before them).
 */
export function callerFault(code: Code, rawMessage: string, hasDetails: boolean, typeName: string): ConnectError | undefined {
  let message: string;
  if (code === Code.Internal && rawMessage.startsWith(PARSE_FAILURE)) {
    message = `request is not a valid ${typeName}: ${rawMessage.slice(PARSE_FAILURE.length, PARSE_FAILURE.length + 200)}`;
  } else if (code === Code.InvalidArgument && !hasDetails) {
    message = rawMessage;
  } else return undefined;
  const e = bounded(invalidArgument(message));
  return new ConnectError(e.message, CODE_OF[e.reason], undefined, errorDetails(e));
}

/** Replaces every handler of the router with one that answers caller faults as above; `onRejected` counts them. */
export function answerCallerFaultsWithErrorInfo(router: ConnectRouter, onRejected: (method: string) => void): void {
  const handlers = router.handlers as UniversalHandler[];
  handlers.forEach((h, i) => {
    const method = `/${h.service.typeName}/${h.method.name}`;
    const wrapped = async (req: Parameters<UniversalHandler>[0]) => rewrite(await h(req), h.method.input.typeName, () => onRejected(method));
    handlers[i] = Object.assign(wrapped, h);
  });
}

async function rewrite(res: UniversalServerResponse, typeName: string, counted: () => void): Promise<UniversalServerResponse> {
  const ct = res.header?.get("content-type") ?? "";
  // Connect unary: an HTTP error status with a JSON error body (compressed, as connect-node does, when large).
  if (res.status !== 200 && res.body && res.header && ct.startsWith("application/json")) {
    const encoding = res.header.get("content-encoding");
    const compression = encoding ? COMPRESSIONS.get(encoding) : undefined;
    const sent = await collect(res.body);
    if (encoding && !compression) return { ...res, body: once(sent) };
    const err = parseJson(compression ? await compression.decompress(sent, ERROR_BODY_MAX_BYTES).catch(() => new Uint8Array(0)) : sent);
    const code = typeof err?.code === "string" ? codeFromString(err.code) : undefined;
    const fault = code === undefined ? undefined : callerFault(code, err?.message ?? "", (err?.details?.length ?? 0) > 0, typeName);
    if (!fault) return { ...res, body: once(sent) };
    counted();
    let body = errorToJsonBytes(fault, undefined);
    if (compression && body.byteLength >= COMPRESS_MIN_BYTES) body = await compression.compress(body);
    else res.header.delete("content-encoding");
    res.header.set("content-length", String(body.byteLength));
    return { ...res, status: codeToHttpStatus(fault.code), body: once(body) };
  }
  // gRPC: the status is in the trailers (or headers), already set when the handler resolved: nothing streams.
  let seen = false;
  for (const h of [res.trailer, res.header]) {
    const fault = h && grpcFault(h, typeName);
    if (!fault) continue;
    if (!seen) counted();
    seen = true;
    setTrailerStatus(h, fault);
  }
  // gRPC-Web: a trailers-only answer is one uncompressed trailer frame as the first body chunk.
  if (res.body && ct.startsWith("application/grpc-web")) return { ...res, body: rewriteGrpcWebTrailer(res.body, typeName, counted) };
  return res;
}

function grpcFault(h: Headers, typeName: string): ConnectError | undefined {
  const status = h.get("grpc-status");
  if (status !== String(Code.Internal) && status !== String(Code.InvalidArgument)) return undefined;
  let message: string;
  try {
    message = decodeURIComponent(h.get("grpc-message") ?? "");
  } catch {
    return undefined;
  }
  return callerFault(Number(status), message, h.has("grpc-status-details-bin"), typeName);
}

async function* rewriteGrpcWebTrailer(body: AsyncIterable<Uint8Array>, typeName: string, counted: () => void): AsyncIterable<Uint8Array> {
  let first = true;
  for await (const chunk of body) {
    const length = chunk.byteLength >= 5 ? new DataView(chunk.buffer, chunk.byteOffset).getUint32(1) : -1;
    if (first && chunk[0] === trailerFlag && chunk.byteLength === 5 + length) {
      const trailer = trailerParse(chunk.subarray(5));
      const fault = grpcFault(trailer, typeName);
      if (fault) {
        counted();
        const payload = trailerSerialize(setTrailerStatus(trailer, fault));
        const frame = new Uint8Array(5 + payload.byteLength);
        frame[0] = trailerFlag;
        new DataView(frame.buffer).setUint32(1, payload.byteLength);
        frame.set(payload, 5);
        first = false;
        yield frame;
        continue;
      }
    }
    first = false;
    yield chunk;
  }
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

function parseJson(bytes: Uint8Array): { code?: unknown; message?: string; details?: unknown[] } | undefined {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}
