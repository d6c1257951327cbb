// The Connect and gRPC-Web adapter for browsers and curl, on one cleartext port that speaks HTTP/1.1 and h2c
// (the first bytes of a connection tell which), beside health, metrics and the dashboard.
import type { DescMethod } from "@bufbuild/protobuf";
import { ConnectError, type ConnectRouter, type ContextValues, createContextKey, createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { Logger } from "pino";
import type { FluxError } from "../domain/errors.js";
import { CODE_OF, errorDetails } from "./error-table.js";
import type { CallContext, NowHandler, ServedService } from "./handlers.js";
import { createConnectFastPath } from "./connect-fast-path.js";
import { type CallObserver, instrument, instrumentNow } from "./invoke.js";
import { answerCallerFaultsWithErrorInfo } from "./connect-parse-errors.js";
import { guarded } from "./request-checks.js";
import { instrumentStream, type StreamHandler } from "./stream-calls.js";

// connect-es ignores unknown JSON fields and enum names by default: a typo ("expiresAT") or "GRANULARITY_WEEK"
// would be dropped silently. Standard protobuf JSON rejects both, and so do we (INVALID_ARGUMENT).
const STRICT_JSON = { ignoreUnknownFields: false };

const PEER = createContextKey<string | undefined>(undefined, { description: "client address" });

export type HttpHandler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

export interface HttpServer {
  port: number;
  close(graceMs: number): Promise<void>;
}

export interface ConnectHandlerOptions {
  /** The fast lane for ValidateApiKey and Ping (connect-fast-path.ts); off only to compare it with connect-node. */
  fastPath?: boolean;
  /** Called for each call the fast lane took (tests prove it took them). */
  onFastPath?: () => void;
}

export function createConnectHandler(served: ServedService[], log: Logger, fallback: HttpHandler, observer?: CallObserver, opts: ConnectHandlerOptions = {}): HttpHandler {
  const runs = connectRuns(served, log, observer);
  const routes = (router: ConnectRouter) => {
    for (const { service, handlers } of served) {
      const impl: Record<string, (req: unknown, ctx: { requestHeader: Headers; values: ContextValues }) => Promise<unknown>> = {};
      for (const m of service.methods) {
        const handler = (handlers as Record<string, never>)[m.localName];
        if (handler && m.methodKind === "server_streaming") {
          impl[m.localName] = connectStream(instrumentStream(`/${service.typeName}/${m.name}`, m.input, handler as StreamHandler, log)) as never;
          continue;
        }
        const run = runs.get(m);
        if (!run) continue; // connect-node answers UNIMPLEMENTED for a method left out of the implementation
        impl[m.localName] = (req, ctx) =>
          run(req, {
            authorization: ctx.requestHeader.get("authorization") ?? undefined,
            requestId: ctx.requestHeader.get("x-request-id")?.slice(0, 100) ?? undefined,
            peer: ctx.values.get(PEER),
          });
      }
      router.service(service, impl as never);
    }
    answerCallerFaultsWithErrorInfo(router, (method) => observer?.onCall(method, 0, "INVALID_ARGUMENT"));
  };
  // The socket's address reaches handlers as a context value (connect-node passes the Node request here).
  const contextValues = (req: { socket?: { remoteAddress?: string } }) => createContextValues().set(PEER, req.socket?.remoteAddress);
  const adapter = connectNodeAdapter({ routes, fallback: fallback as never, readMaxBytes: READ_MAX_BYTES, contextValues, jsonOptions: STRICT_JSON }) as HttpHandler;
  if (opts.fastPath === false) return adapter;
  const fast = createConnectFastPath(
    [...runs].filter(([m]) => HOT_METHODS.has(`${m.parent.typeName}/${m.name}`)).map(([method, run]) => ({
      method,
      run,
      now: nowRun(served, method, log, observer),
      onParseFailure: () => observer?.onCall(`/${method.parent.typeName}/${method.name}`, 0, "INVALID_ARGUMENT"),
    })),
    { readMaxBytes: READ_MAX_BYTES, jsonOptions: STRICT_JSON },
  );
  const taken = opts.onFastPath;
  return (req, res) => {
    if (!fast(req, res)) adapter(req, res);
    else taken?.();
  };
}

/** A server-streaming method as connect-node serves it: an async generator, failing with ConnectErrors. */
function connectStream(run: ReturnType<typeof instrumentStream>) {
  return async function* (req: unknown, ctx: { requestHeader: Headers; values: ContextValues; signal: AbortSignal }) {
    try {
      yield* run(req, {
        authorization: ctx.requestHeader.get("authorization") ?? undefined,
        requestId: ctx.requestHeader.get("x-request-id")?.slice(0, 100) ?? undefined,
        peer: ctx.values.get(PEER),
        signal: ctx.signal,
      });
    } catch (err) {
      toConnectError(err as FluxError);
    }
  };
}

const READ_MAX_BYTES = 1 << 20;
const HOT_METHODS = new Set(["flux.apikeys.v1.ApiKeyService/ValidateApiKey", "flux.apikeys.v1.PingService/Ping"]);

/** Each method's instrumented, guarded handler, failing with the ConnectError its FluxError maps to. */
function connectRuns(served: ServedService[], log: Logger, observer?: CallObserver): Map<DescMethod, (req: unknown, ctx: CallContext) => Promise<unknown>> {
  const runs = new Map<DescMethod, (req: unknown, ctx: CallContext) => Promise<unknown>>();
  for (const { service, handlers } of served) {
    for (const m of service.methods) {
      const handler = (handlers as Record<string, never>)[m.localName];
      if (!handler || m.methodKind !== "unary") continue;
      const run = instrument(`/${service.typeName}/${m.name}`, guarded(m.input, handler), log, observer);
      runs.set(m, (req, ctx) => run(req, ctx).catch(toConnectError));
    }
  }
  return runs;
}

/** The method's instrumented synchronous answer (ServedService.now), when it has one. */
function nowRun(served: ServedService[], m: DescMethod, log: Logger, observer?: CallObserver) {
  const now = served.find((s) => s.service.typeName === m.parent.typeName)?.now as Record<string, NowHandler | undefined> | undefined;
  const handler = now?.[m.localName];
  return handler && instrumentNow(`/${m.parent.typeName}/${m.name}`, handler, log, observer);
}

function toConnectError(e: FluxError): never {
  throw new ConnectError(e.message, CODE_OF[e.reason], undefined, errorDetails(e));
}

export async function startHttpServer(handler: HttpHandler, addr: { host: string; port: number }): Promise<HttpServer> {
  const h1 = http.createServer(handler as http.RequestListener);
  const h2 = http2.createServer({}, handler as never);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.once("readable", () => {
      const head: Buffer | null = socket.read();
      if (!head) return void socket.destroy();
      socket.unshift(head);
      // h2c with prior knowledge starts with "PRI * HTTP/2.0"; no HTTP/1.1 method we serve starts with "PR".
      (head[0] === 0x50 && head[1] === 0x52 ? h2 : h1).emit("connection", socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(addr.port, addr.host, () => resolve());
  });
  const port = (tcp.address() as net.AddressInfo).port;
  return {
    port,
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        tcp.close();
        h1.closeIdleConnections?.();
        for (const s of sessions) s.close();
        const timer = setTimeout(() => {
          for (const s of sockets) s.destroy();
          resolve();
        }, graceMs);
        const poll = setInterval(() => {
          h1.closeIdleConnections?.();
          if (sockets.size === 0) {
            clearInterval(poll);
            clearTimeout(timer);
            resolve();
          }
        }, 20);
        timer.unref();
      }),
  };
}
