// Shared by the SDK suites: an in-process Flux server (the repo's test harness) and SDK clients for it over
// each transport, closed again in teardown.
import { randomBytes } from "node:crypto";
import { ADMIN_KEY, startTestServer, type TestServer } from "../../../test/support/server.js";
import { Flux, type NodeProtocol } from "../src/node.js";

export { ADMIN_KEY };
export type { TestServer };

export const PROTOCOLS: NodeProtocol[] = ["grpc", "connect"];

export const newOrg = () => `org_${randomBytes(4).toString("hex")}`;

/** The server's address for a protocol: the gRPC port, or the HTTP port for Connect. */
export function urlFor(t: TestServer, protocol: NodeProtocol | "http"): string {
  return `http://127.0.0.1:${protocol === "grpc" ? t.server.grpcPort : t.server.httpPort}`;
}

export interface SdkServer {
  t: TestServer;
  /** A client over `protocol`; closed by stop(). */
  flux(protocol: NodeProtocol, adminKey?: string): Flux;
  stop(): Promise<void>;
}

/** Starts a server with the given scopes defined. */
export async function startSdkServer(label: string, scopes: string[] = []): Promise<SdkServer> {
  const t = await startTestServer("mongodb", `sdk-ts-${label}`);
  const clients: Flux[] = [];
  const flux = (protocol: NodeProtocol, adminKey = ADMIN_KEY) => {
    const c = Flux.init(adminKey, { url: urlFor(t, protocol), transport: protocol });
    clients.push(c);
    return c;
  };
  for (const name of scopes) await flux("grpc").apiKeys.defineScope(name, `lets a key ${name}`);
  return {
    t,
    flux,
    async stop() {
      for (const c of clients) c.close();
      await t.stop();
    },
  };
}

/** Awaits a promise that must reject, returning the rejection. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection, but the promise resolved");
}
