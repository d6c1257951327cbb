// Two real clients with one shape: grpc-js against the gRPC address, connect-node (Connect protocol, HTTP/1.1)
// against the HTTP address, so every RPC test runs the same table through both transports.
import { create, type DescMessage, type DescService, fromBinary, type MessageInitShape, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../gen/ts/google/rpc/status_pb.js";

export class RpcFailure extends Error {
  constructor(readonly code: Code, message: string, readonly reason?: string, readonly metadata: Record<string, string> = {}, readonly retryDelayMs?: number) {
    super(`${Code[code]}: ${message}`);
  }
}

type Method<S extends DescService> = keyof S["method"] & string;
type In<S extends DescService, M extends Method<S>> = S["method"][M] extends { input: infer I extends DescMessage } ? MessageInitShape<I> : never;
type Out<S extends DescService, M extends Method<S>> = S["method"][M] extends { output: infer O extends DescMessage } ? MessageShape<O> : never;

export interface Caller {
  name: "grpc" | "connect";
  call<S extends DescService, M extends Method<S>>(service: S, method: M, req: In<S, M>, adminKey?: string): Promise<Out<S, M>>;
  close(): void;
}

export function grpcCaller(port: number): Caller {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    name: "grpc",
    call(service, method, req, adminKey) {
      const m = service.method[method] as unknown as { name: string; input: DescMessage; output: DescMessage };
      const md = new grpc.Metadata();
      if (adminKey !== undefined) md.set("authorization", `Bearer ${adminKey}`);
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          `/${service.typeName}/${m.name}`,
          (v: unknown) => Buffer.from(toBinary(m.input, create(m.input, v as never))),
          (b: Buffer) => fromBinary(m.output, b),
          req,
          md,
          (err, res) => (err ? reject(fromGrpcError(err)) : resolve(res as never)),
        );
      });
    },
    close: () => client.close(),
  };
}

function fromGrpcError(err: grpc.ServiceError): RpcFailure {
  const raw = err.metadata?.get("grpc-status-details-bin")[0];
  if (!raw) return new RpcFailure(err.code as number as Code, err.details);
  const status = fromBinary(StatusSchema, raw as Buffer);
  let info, retry;
  for (const any of status.details) {
    info ??= anyUnpack(any, ErrorInfoSchema);
    retry ??= anyUnpack(any, RetryInfoSchema);
  }
  const retryMs = retry?.retryDelay ? Number(retry.retryDelay.seconds) * 1000 + retry.retryDelay.nanos / 1e6 : undefined;
  return new RpcFailure(err.code as number as Code, err.details, info?.reason, info?.metadata, retryMs);
}

export function connectCaller(port: number): Caller {
  const transport = createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" });
  return {
    name: "connect",
    async call(service, method, req, adminKey) {
      const client = createClient(service, transport) as unknown as Record<string, (r: unknown, o: unknown) => Promise<unknown>>;
      const headers: Record<string, string> = adminKey !== undefined ? { authorization: `Bearer ${adminKey}` } : {};
      try {
        return (await client[method]!(req, { headers })) as never;
      } catch (err) {
        const ce = ConnectError.from(err);
        const info = ce.findDetails(ErrorInfoSchema)[0];
        const retry = ce.findDetails(RetryInfoSchema)[0];
        const retryMs = retry?.retryDelay ? Number(retry.retryDelay.seconds) * 1000 + retry.retryDelay.nanos / 1e6 : undefined;
        throw new RpcFailure(ce.code, ce.rawMessage, info?.reason, info?.metadata, retryMs);
      }
    },
    close: () => {},
  };
}

/** Awaits a call that must fail, returning the failure. */
export async function failure(p: Promise<unknown>): Promise<RpcFailure> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RpcFailure) return err;
    throw err;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/**
 * UNAVAILABLE is the API's documented "retry shortly" answer (e.g. a store read past its deadline on a starved
 * machine); tests about other guarantees retry it like a client would, a few times.
 */
export async function retryUnavailable<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof RpcFailure) || err.code !== Code.Unavailable || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 200 * i));
    }
  }
}
