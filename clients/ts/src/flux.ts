// The client: built from any Connect Transport, so the same core serves Node (gRPC or Connect) and browsers
// (Connect-Web). Choosing and building a transport from a URL is left to the entry files node.ts and web.ts.
import type { Transport } from "@connectrpc/connect";
import { ApiKeys } from "./api-keys.js";
import { Organizations } from "./organizations.js";
import { createRawClients, type RawClients } from "./raw-client.js";

export interface FluxTransportOptions {
  /** Any Connect transport: connect-node's createGrpcTransport / createConnectTransport, connect-web's, a router transport. */
  transport: Transport;
}

export interface FluxConstructorOptions {
  /** Called by close(): releases what the entry file opened for this client (e.g. an HTTP/2 session). */
  onClose?: () => void;
}

export class Flux {
  /** Issue, validate, rotate, update, list, revoke and meter keys; define the scopes they carry. */
  readonly apiKeys: ApiKeys;
  /** Usage rolled up per organisation. */
  readonly organizations: Organizations;
  /** The generated clients (ApiKeyService, AdminKeyService, PingService), authorised and with typed errors. */
  readonly raw: RawClients;
  readonly #onClose: (() => void) | undefined;

  /** Prefer `Flux.init` (node/web entry) or `Flux.fromTransport`. */
  constructor(transport: Transport, adminKey: string, options: FluxConstructorOptions = {}) {
    if (typeof adminKey !== "string") throw new TypeError("Flux: the admin key must be a string");
    this.raw = createRawClients(transport, adminKey);
    this.apiKeys = this.createApiKeys(this.raw);
    this.organizations = new Organizations(this.raw.organizations);
    this.#onClose = options.onClose;
  }

  /** The `apiKeys` facade; the Node entry's adds `localValidator()`. */
  protected createApiKeys(raw: RawClients): ApiKeys {
    return new ApiKeys(raw.apiKeys);
  }

  /** A client over any Connect transport, e.g. the dashboard's Connect-Web transport. */
  static fromTransport<T extends Flux>(
    this: new (transport: Transport, adminKey: string) => T,
    transport: Transport,
    adminKey: string,
  ): T {
    return new this(transport, adminKey);
  }

  /**
   * The core needs an explicit transport; the entry files (`@flux/sdk` in Node or a browser) add URL defaults.
   */
  static init(adminKey: string, options: FluxTransportOptions): Flux {
    return new Flux(options.transport, adminKey);
  }

  /** Resolves when the server answers; rejects with UnavailableError when it cannot be reached. */
  async ping(): Promise<void> {
    await this.raw.ping.ping({});
  }

  /**
   * Ends connections the client opened itself now rather than at their idle timeout (nothing for a transport
   * passed in). Idempotent; a later call reconnects.
   */
  close(): void {
    this.#onClose?.();
  }
}
