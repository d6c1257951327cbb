// connect-node answers a request body that is not valid protobuf with INTERNAL ("parse binary: …", HTTP 500),
// before any interceptor or handler runs. These bytes are the caller's fault: this wraps the router's handlers
// and turns exactly that answer into INVALID_ARGUMENT on the Connect, gRPC-Web and gRPC protocols.
import { Code, type ConnectRouter } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";

const PARSE_FAILURE = "parse binary: ";
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Replaces every handler of the router with one whose parse failures answer INVALID_ARGUMENT; `onRejected` counts them. */
export function answerParseFailuresAsInvalidArgument(router: ConnectRouter, onRejected: (method: string) => void): void {
  const handlers = router.handlers as UniversalHandler[];
  handlers.forEach((h, i) => {
    const method = `/${h.service.typeName}/${h.method.name}`;
    const wrapped = async (req: Parameters<UniversalHandler>[0]) => rewrite(await h(req), h.method.input.typeName, () => onRejected(method));
    handlers[i] = Object.assign(wrapped, h);
  });
}

const clientMessage = (typeName: string, serverMessage: string) =>
  `request is not a valid ${typeName}: ${serverMessage.slice(PARSE_FAILURE.length, PARSE_FAILURE.length + 200)}`;

async function rewrite(res: UniversalServerResponse, typeName: string, counted: () => void): Promise<UniversalServerResponse> {
  // Connect unary: HTTP 500 with a JSON error body.
  if (res.status === 500 && res.body && res.header?.get("content-type")?.startsWith("application/json")) {
    const bytes = await collect(res.body);
    const err = parseJson(bytes);
    if (err?.code !== "internal" || !err.message?.startsWith(PARSE_FAILURE)) return { ...res, body: once(bytes) };
    counted();
    const body = utf8.encode(JSON.stringify({ code: "invalid_argument", message: clientMessage(typeName, err.message) }));
    res.header.set("content-length", String(body.byteLength));
    return { ...res, status: 400, body: once(body) };
  }
  // gRPC: the status is in the trailers, already set when the handler resolved (nothing was parsed, nothing streams).
  for (const h of [res.trailer, res.header]) {
    if (h && isParseFailure(h.get("grpc-status"), h.get("grpc-message"))) {
      counted();
      h.set("grpc-status", String(Code.InvalidArgument));
      h.set("grpc-message", encodeURIComponent(clientMessage(typeName, decodeURIComponent(h.get("grpc-message")!))));
    }
  }
  // gRPC-Web: a trailers-only answer is one uncompressed trailer frame (flag 0x80) as the first body chunk.
  const ct = res.header?.get("content-type") ?? "";
  if (res.body && ct.startsWith("application/grpc-web")) return { ...res, body: rewriteGrpcWebTrailer(res.body, typeName, counted) };
  return res;
}

function isParseFailure(status: string | null | undefined, message: string | null | undefined): boolean {
  if (status !== String(Code.Internal) || !message) return false;
  try {
    return decodeURIComponent(message).startsWith(PARSE_FAILURE);
  } catch {
    return false;
  }
}

async function* rewriteGrpcWebTrailer(body: AsyncIterable<Uint8Array>, typeName: string, counted: () => void): AsyncIterable<Uint8Array> {
  let first = true;
  for await (const chunk of body) {
    if (first && chunk[0] === 0x80 && chunk.byteLength >= 5) {
      const text = fromUtf8.decode(chunk.subarray(5));
      const fields = new Map(text.split("\r\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
      if (isParseFailure(fields.get("grpc-status"), fields.get("grpc-message"))) {
        counted();
        fields.set("grpc-status", String(Code.InvalidArgument));
        fields.set("grpc-message", encodeURIComponent(clientMessage(typeName, decodeURIComponent(fields.get("grpc-message")!))));
        const payload = utf8.encode([...fields].map(([k, v]) => `${k}: ${v}\r\n`).join(""));
        const frame = new Uint8Array(5 + payload.byteLength);
        frame[0] = 0x80;
        new DataView(frame.buffer).setUint32(1, payload.byteLength);
        frame.set(payload, 5);
        yield frame;
        first = false;
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

function parseJson(bytes: Uint8Array): { code?: string; message?: string } | undefined {
  try {
    return JSON.parse(fromUtf8.decode(bytes));
  } catch {
    return undefined;
  }
}
