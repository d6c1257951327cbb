// Callers that send raw bytes, for hostile-input tests: grpc-js with identity (de)serializers, and plain HTTP POSTs
// in the Connect protocol (binary or JSON). They report the code and the size of what came back.
import { Code } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { ADMIN_KEY } from "./server.js";

export interface RawAnswer {
  /** 0 for OK. */
  code: Code | 0;
  message: string;
  /** Body bytes when OK (gRPC message or Connect body). */
  body?: Uint8Array;
  /** Bytes of everything sent after the message: gRPC trailers, or a Connect error body. */
  errorBytes: number;
  /** HTTP status (Connect only). */
  httpStatus?: number;
  /** The error's google.rpc.Status (grpc-status-details-bin, gRPC only), when sent. */
  statusDetails?: Uint8Array;
  /** The Connect error body as sent (Connect only). */
  errorBody?: Uint8Array;
}

export interface RawGrpc {
  call(path: string, bytes: Uint8Array, opts?: { adminKey?: string; deadlineMs?: number }): Promise<RawAnswer>;
  close(): void;
}

export function rawGrpc(port: number): RawGrpc {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const id = (b: Buffer | Uint8Array) => Buffer.from(b);
  return {
    call(path, bytes, opts = {}) {
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${opts.adminKey ?? ADMIN_KEY}`);
      return new Promise((resolve) => {
        client.makeUnaryRequest(path, id, id, bytes as Buffer, md, { deadline: Date.now() + (opts.deadlineMs ?? 5000) }, (err, res) => {
          if (!err) return resolve({ code: 0, message: "", body: res, errorBytes: 0 });
          const bin = err.metadata?.get("grpc-status-details-bin")[0];
          const statusDetails = Buffer.isBuffer(bin) ? bin : undefined;
          resolve({ code: err.code as number as Code, message: err.details, errorBytes: trailerBytes(err), statusDetails });
        });
      });
    },
    close: () => client.close(),
  };
}

/** What the trailers weigh on the wire: every metadata entry (binary ones base64) plus grpc-status and grpc-message. */
function trailerBytes(err: grpc.ServiceError): number {
  let n = "grpc-status".length + String(err.code).length + "grpc-message".length + percentEncodedLength(err.details ?? "");
  for (const [k, values] of Object.entries(err.metadata?.getMap() ?? {})) {
    const all = err.metadata.get(k);
    for (const v of all.length ? all : [values]) n += k.length + (Buffer.isBuffer(v) ? Math.ceil((v.length * 4) / 3) : String(v).length);
  }
  return n;
}

/** grpc-message is percent-encoded: every byte outside printable ASCII (and "%") takes three. */
function percentEncodedLength(s: string): number {
  let n = 0;
  for (const b of Buffer.from(s, "utf8")) n += b >= 0x20 && b <= 0x7e && b !== 0x25 ? 1 : 3;
  return n;
}

const CODE_OF_STRING = new Map(
  Object.entries(Code)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [k.replace(/[A-Z]/g, (c, i) => (i ? "_" : "") + c.toLowerCase()), v as Code]),
);

/** One unary POST in the Connect protocol; `format` picks application/proto or application/json. */
export async function rawConnect(
  port: number,
  path: string,
  body: Uint8Array | string,
  format: "proto" | "json",
  opts: { adminKey?: string; deadlineMs?: number } = {},
): Promise<RawAnswer> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: "POST",
    headers: {
      "content-type": `application/${format}`,
      "connect-protocol-version": "1",
      authorization: `Bearer ${opts.adminKey ?? ADMIN_KEY}`,
    },
    body: body as BodyInit,
    signal: AbortSignal.timeout(opts.deadlineMs ?? 5000),
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status === 200) return { code: 0, message: "", body: bytes, errorBytes: 0, httpStatus: 200 };
  let code: Code = Code.Unknown;
  let message = "";
  try {
    const j = JSON.parse(new TextDecoder().decode(bytes)) as { code?: string; message?: string };
    code = CODE_OF_STRING.get(j.code ?? "") ?? Code.Unknown;
    message = j.message ?? "";
  } catch {
    message = `HTTP ${res.status} without a Connect error body`;
  }
  return { code, message, errorBytes: bytes.byteLength, httpStatus: res.status, errorBody: bytes };
}
