// Browser entry (`@flux/sdk` in a bundler's browser build): Flux.init builds a Connect-Web transport (fetch),
// speaking the Connect protocol, or gRPC-Web, to Flux's HTTP address.
import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { Flux as CoreFlux } from "./flux.js";

export * from "./index.js";

/** Wire protocols a browser can speak to Flux's HTTP address. */
export type WebProtocol = "connect" | "grpc-web";

export interface WebFluxOptions {
  /** Flux's HTTP address (Connect and gRPC-Web). Default: the page's origin, else http://127.0.0.1:8080. */
  url?: string;
  /** A protocol to build a transport for ("connect" by default), or a ready Transport (then `url` is ignored). */
  transport?: Transport | WebProtocol;
  /** Deadline of every call, in ms; none by default. */
  timeoutMs?: number;
  /** A fetch to use instead of the global one, e.g. to set `credentials`. */
  fetch?: typeof globalThis.fetch;
}

export const DEFAULT_HTTP_URL = "http://127.0.0.1:8080";

/** The page's origin when there is one (the dashboard is served by Flux itself), else the local default. */
export function defaultWebUrl(): string {
  const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
  return origin && origin !== "null" ? origin : DEFAULT_HTTP_URL;
}

/** A Connect-Web transport for `protocol` at `url`. */
export function createWebTransport(
  protocol: WebProtocol,
  url: string,
  options: { timeoutMs?: number; fetch?: typeof globalThis.fetch } = {},
): Transport {
  const common = { baseUrl: url, defaultTimeoutMs: options.timeoutMs, fetch: options.fetch };
  return protocol === "grpc-web" ? createGrpcWebTransport(common) : createConnectTransport(common);
}

/** The Flux client with browser defaults. */
export class Flux extends CoreFlux {
  /** `Flux.init("admin key", { url })` → the Connect protocol over fetch. */
  static override init(adminKey: string, options: WebFluxOptions = {}): Flux {
    if (options.transport !== undefined && typeof options.transport !== "string") {
      return new Flux(options.transport, adminKey);
    }
    const protocol = options.transport ?? "connect";
    if (protocol !== "connect" && protocol !== "grpc-web") throw new TypeError(`Flux: unknown transport ${JSON.stringify(protocol)}`);
    return new Flux(createWebTransport(protocol, options.url ?? defaultWebUrl(), options), adminKey);
  }
}
