// The gRPC adapter for backend services: @grpc/grpc-js (several times cheaper per call than connect-node's gRPC
// path), plus grpc.health.v1 and server reflection.
import { create, type DescMethod, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import type { FluxError } from "../domain/errors.js";
import { StatusSchema } from "../../gen/ts/google/rpc/status_pb.js";
import { CODE_OF, errorDetails } from "./error-table.js";
import type { NowHandler, ServedService } from "./handlers.js";
import { type CallObserver, instrument, instrumentNow } from "./invoke.js";
import { addReflection } from "./reflection.js";
import { decodeValidateRequest, encodeValidateResponse } from "./hot-codec.js";
import { ValidateApiKeyRequestSchema, ValidateApiKeyResponseSchema } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { guarded, MalformedRequest } from "./request-checks.js";
import { instrumentStream, type StreamHandler } from "./stream-calls.js";


export interface GrpcServer {
  server: grpc.Server;
  health: HealthImplementation;
  port: number;
}

export async function startGrpcServer(
  served: ServedService[],
  addr: string,
  log: Logger,
  observer?: CallObserver,
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(), // tls.ts: grpcServerCredentials
): Promise<GrpcServer> {
  // No channelz: Flux serves no channelz service, so its per-call bookkeeping (call counters, traces) was never read.
  const server = new grpc.Server({ "grpc.max_receive_message_length": 1 << 20, "grpc.enable_channelz": 0 });
  for (const { service, handlers, now } of served) {
    const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    const impl: grpc.UntypedServiceImplementation = {};
    for (const m of service.methods) {
      definition[m.localName] = {
        path: `/${service.typeName}/${m.name}`,
        requestStream: false,
        responseStream: m.methodKind === "server_streaming",
        requestSerialize: (v: any) => Buffer.from(toBinary(m.input, v)),
        ...serverCodec(m),
        responseDeserialize: (b: Buffer) => fromBinary(m.output, b),
      };
      const handler = (handlers as Record<string, never>)[m.localName];
      if (!handler) continue; // grpc-js answers UNIMPLEMENTED for a method without an implementation
      if (m.methodKind === "server_streaming") {
        impl[m.localName] = serveStream(instrumentStream(`/${service.typeName}/${m.name}`, m.input, handler as StreamHandler, log));
        continue;
      }
      const path = `/${service.typeName}/${m.name}`;
      const run = instrument(path, guarded(m.input, handler), log, observer);
      const nowHandler = (now as Record<string, NowHandler | undefined> | undefined)?.[m.localName];
      const fast = nowHandler && instrumentNow(path, nowHandler, log, observer);
      impl[m.localName] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const authorization = call.metadata.get("authorization")[0];
        const requestId = call.metadata.get("x-request-id")[0];
        const ctx = {
          authorization: typeof authorization === "string" ? authorization : undefined,
          requestId: typeof requestId === "string" ? requestId.slice(0, 100) : undefined,
          peer: call.getPeer(),
        };
        const answer = fast?.(call.request, ctx);
        if (answer !== undefined) return callback(null, answer);
        run(call.request, ctx).then(
          (res) => callback(null, res),
          (err: FluxError) => callback(toServiceError(err)),
        );
      };
    }
    server.addService(definition as grpc.ServiceDefinition, impl);
  }
  const health = new HealthImplementation({ "": "SERVING", ...Object.fromEntries(served.map((s) => [s.service.typeName, "SERVING"])) });
  health.addToServer(server);
  addReflection(server, served);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(addr, credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, health, port };
}

/** A server-streaming call: writes each message (waiting when the client reads slowly), then the status. */
function serveStream(run: ReturnType<typeof instrumentStream>) {
  return (call: grpc.ServerWritableStream<unknown, unknown>) => {
    const authorization = call.metadata.get("authorization")[0];
    const requestId = call.metadata.get("x-request-id")[0];
    const aborted = new AbortController();
    call.on("cancelled", () => aborted.abort());
    call.on("close", () => aborted.abort());
    const messages = run(call.request, {
      authorization: typeof authorization === "string" ? authorization : undefined,
      requestId: typeof requestId === "string" ? requestId.slice(0, 100) : undefined,
      peer: call.getPeer(),
      signal: aborted.signal,
    });
    void (async () => {
      try {
        for await (const m of messages) {
          if (aborted.signal.aborted) break;
          if (!call.write(m)) await new Promise<void>((r) => (call.once("drain", r), aborted.signal.addEventListener("abort", () => r(), { once: true })));
        }
        if (!aborted.signal.aborted) call.end();
      } catch (err) {
        if (!aborted.signal.aborted) call.emit("error", toServiceError(err as FluxError));
      }
    })();
  };
}

/**
 * How a method's request is read and its answer written: the hot codec for ValidateApiKey; for messages without
 * fields (Ping's), empty bytes read as an empty message and an answer without unknown fields is written as no bytes
 * (protobuf-es's reader and writer cost a no-op call ~2 µs); protobuf-es for the rest. test/unit/grpc-codec.test.ts
 * checks all of them against protobuf-es.
 */
export function serverCodec(m: DescMethod): Pick<grpc.MethodDefinition<unknown, unknown>, "requestDeserialize" | "responseSerialize"> {
  const hot = m.input.typeName === ValidateApiKeyRequestSchema.typeName;
  const decode = hot
    ? decodeValidateRequest
    : m.input.fields.length === 0
      ? (b: Uint8Array) => (b.length === 0 ? create(m.input) : fromBinary(m.input, b)) // unknown fields: kept, as protobuf-es keeps them
      : (b: Uint8Array) => fromBinary(m.input, b);
  const encode = hot
    ? (v: unknown) => encodeValidateResponse(create(ValidateApiKeyResponseSchema, v as never))
    : m.output.fields.length === 0
      ? (v: unknown) => ((v as { $unknown?: unknown } | undefined)?.$unknown ? toBinary(m.output, create(m.output, v as never)) : NO_BYTES)
      : (v: unknown) => toBinary(m.output, create(m.output, v as never));
  return {
    // grpc-js answers a throwing deserializer with INTERNAL: bad bytes go on as a value the handler refuses.
    requestDeserialize: (b: Buffer) => {
      try {
        return decode(b);
      } catch (e) {
        return new MalformedRequest(m.input.typeName, e);
      }
    },
    responseSerialize: (v: unknown) => {
      const out = encode(v);
      return Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    },
  };
}

const NO_BYTES = Buffer.alloc(0);

function toServiceError(e: FluxError): Partial<grpc.StatusObject> {
  const code = CODE_OF[e.reason] as number as grpc.status;
  const status = create(StatusSchema, {
    code,
    message: e.message,
    details: errorDetails(e).map((d) => anyPack(d.desc, d.value)),
  });
  const metadata = new grpc.Metadata();
  metadata.set("grpc-status-details-bin", Buffer.from(toBinary(StatusSchema, status)));
  return { code, details: e.message, metadata };
}

/** Stops accepting, lets in-flight calls finish (up to graceMs), then forces the rest closed. */
export async function stopGrpcServer(g: GrpcServer, graceMs: number): Promise<void> {
  g.health.setStatus("", "NOT_SERVING");
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      g.server.forceShutdown();
      resolve();
    }, graceMs);
    g.server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
