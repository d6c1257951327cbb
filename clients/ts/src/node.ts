// Node entry (`@flux/sdk` under Node): Flux.init builds a connect-node transport — gRPC over HTTP/2 by default,
// or the Connect protocol over HTTP/1.1 — from `url`, the environment, or the local defaults.
import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Flux as CoreFlux } from "./flux.js";
import { NodeApiKeys } from "./local-api-keys.js";
import type { RawClients } from "./raw-client.js";

export * from "./index.js";
export { NodeApiKeys, type LocalValidatorOptions, type LocalValidatorState, type LocalValidatorStats } from "./local-api-keys.js";
export { LocalValidator } from "./local-validator.js";

/** Wire protocols Flux.init can build a transport for in Node. */
export type NodeProtocol = "grpc" | "connect";

export interface NodeFluxOptions {
  /**
   * Server address, e.g. "http://127.0.0.1:50051". Defaults: FLUX_URL, else http://127.0.0.1:50051 (gRPC);
   * FLUX_HTTP_URL, else http://127.0.0.1:8080 (Connect).
   */
  url?: string;
  /** A protocol to build a transport for ("grpc" by default), or a ready Transport (then `url` is ignored). */
  transport?: Transport | NodeProtocol;
  /** Deadline of every call, in ms; none by default. */
  timeoutMs?: number;
  /** For an `https://` url: trust only this CA (PEM) instead of Node's bundled roots, e.g. a private CA's ca.pem. */
  ca?: string | Uint8Array;
  /** For a server that requires client certificates (mTLS): this client's certificate and key, both PEM. */
  clientCert?: string | Uint8Array;
  clientKey?: string | Uint8Array;
}

/** The TLS part of the options, as Node's tls/https/http2 options (all unset for cleartext). */
function tlsOptions(url: string, options: Pick<NodeFluxOptions, "ca" | "clientCert" | "clientKey">) {
  const { ca, clientCert: cert, clientKey: key } = options;
  if (ca === undefined && cert === undefined && key === undefined) return {};
  if (!url.startsWith("https://")) throw new TypeError("Flux: ca, clientCert and clientKey need an https:// url");
  if ((cert === undefined) !== (key === undefined)) throw new TypeError("Flux: clientCert and clientKey go together (mTLS)");
  const pem = (v: string | Uint8Array | undefined) => (v === undefined || typeof v === "string" ? v : Buffer.from(v));
  return { ...(ca !== undefined ? { ca: pem(ca) } : {}), ...(cert !== undefined ? { cert: pem(cert), key: pem(key) } : {}) };
}

export const DEFAULT_GRPC_URL = "http://127.0.0.1:50051";
export const DEFAULT_CONNECT_URL = "http://127.0.0.1:8080";

/** The address Flux.init uses for `protocol` when no url is given. */
export function defaultUrl(protocol: NodeProtocol, env: Record<string, string | undefined> = process.env): string {
  if (protocol === "connect") return env.FLUX_HTTP_URL || DEFAULT_CONNECT_URL;
  return env.FLUX_URL || DEFAULT_GRPC_URL;
}

/** A connect-node transport for `protocol`, and what releases its connection. */
export function createNodeTransport(
  protocol: NodeProtocol,
  url: string,
  options: Pick<NodeFluxOptions, "timeoutMs" | "ca" | "clientCert" | "clientKey"> = {},
): { transport: Transport; close: () => void } {
  const tls = tlsOptions(url, options);
  if (protocol === "connect") {
    const transport = createConnectTransport({ baseUrl: url, httpVersion: "1.1", defaultTimeoutMs: options.timeoutMs, nodeOptions: tls });
    return { transport, close: () => {} };
  }
  // Our own session manager, so close() can end the HTTP/2 session instead of waiting for its idle timeout.
  const sessionManager = new Http2SessionManager(url, undefined, tls);
  const transport = createGrpcTransport({ baseUrl: url, sessionManager, defaultTimeoutMs: options.timeoutMs });
  return { transport, close: () => sessionManager.abort() };
}

/** The Flux client with Node defaults. */
export class Flux extends CoreFlux {
  /** Issue, validate, rotate, … keys, and `localValidator()` to validate in this process. */
  declare readonly apiKeys: NodeApiKeys;

  protected override createApiKeys(raw: RawClients): NodeApiKeys {
    return new NodeApiKeys(raw.apiKeys, raw.localValidation);
  }

  /**
   * `Flux.init("admin key")` → gRPC to FLUX_URL (or http://127.0.0.1:50051).
   * `Flux.init("admin key", { url, transport: "connect" })` → the Connect protocol over HTTP/1.1.
   * `Flux.init("admin key", { url: "https://flux.internal:50051", ca })` → TLS, trusting `ca` (PEM).
   */
  static override init(adminKey: string, options: NodeFluxOptions = {}): Flux {
    if (options.transport !== undefined && typeof options.transport !== "string") {
      return new Flux(options.transport, adminKey);
    }
    const protocol = options.transport ?? "grpc";
    if (protocol !== "grpc" && protocol !== "connect") throw new TypeError(`Flux: unknown transport ${JSON.stringify(protocol)}`);
    const { transport, close } = createNodeTransport(protocol, options.url ?? defaultUrl(protocol), options);
    return new Flux(transport, adminKey, { onClose: close });
  }
}
