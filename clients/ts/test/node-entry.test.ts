// The Node entry's Flux.init: where it connects when no url is given (FLUX_URL / FLUX_HTTP_URL, then the local
// defaults), which protocols it speaks, and what close() releases.
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { DEFAULT_CONNECT_URL, DEFAULT_GRPC_URL, defaultUrl, Flux, UnavailableError } from "../src/node.js";
import { ADMIN_KEY, newOrg, rejection, type SdkServer, startSdkServer, urlFor } from "./helpers.js";

let s: SdkServer;
beforeAll(async () => {
  s = await startSdkServer("node-entry", ["data:read"]);
});
afterAll(() => s?.stop());
afterEach(() => {
  vi.unstubAllEnvs();
});

describe("defaultUrl", () => {
  it("uses FLUX_URL for gRPC and FLUX_HTTP_URL for Connect, else the local addresses", () => {
    expect(defaultUrl("grpc", {})).toBe(DEFAULT_GRPC_URL);
    expect(defaultUrl("connect", {})).toBe(DEFAULT_CONNECT_URL);
    expect(DEFAULT_GRPC_URL).toBe("http://127.0.0.1:50051");
    expect(DEFAULT_CONNECT_URL).toBe("http://127.0.0.1:8080");
    const env = { FLUX_URL: "http://flux:1", FLUX_HTTP_URL: "http://flux:2" };
    expect(defaultUrl("grpc", env)).toBe("http://flux:1");
    expect(defaultUrl("connect", env)).toBe("http://flux:2");
  });
});

describe("Flux.init", () => {
  it("connects over gRPC to FLUX_URL when given only the admin key, as on the product page", async () => {
    vi.stubEnv("FLUX_URL", urlFor(s.t, "grpc"));
    const flux = Flux.init(ADMIN_KEY);
    try {
      const key = await flux.apiKeys.create({ orgId: newOrg(), name: "env", scopes: ["data:read"] });
      expect((await flux.apiKeys.validate(key.secret)).hasScope("data:read")).toBe(true);
    } finally {
      flux.close();
    }
  });

  it("speaks Connect to FLUX_HTTP_URL with transport: \"connect\"", async () => {
    vi.stubEnv("FLUX_HTTP_URL", urlFor(s.t, "http"));
    const flux = Flux.init(ADMIN_KEY, { transport: "connect" });
    expect((await flux.apiKeys.listScopes()).map((x) => x.name)).toContain("data:read");
  });

  it("uses a Transport passed in, ignoring url", async () => {
    const transport = createGrpcTransport({ baseUrl: urlFor(s.t, "grpc") });
    const flux = Flux.init(ADMIN_KEY, { transport, url: "http://127.0.0.1:1" });
    await flux.ping();
  });

  it("rejects an unknown protocol and a non-string admin key at once", () => {
    expect(() => Flux.init(ADMIN_KEY, { transport: "carrier-pigeon" as never })).toThrow(TypeError);
    expect(() => Flux.init(undefined as never)).toThrow(TypeError);
  });

  it("gives each call a deadline with timeoutMs", async () => {
    const flux = Flux.init(ADMIN_KEY, { url: urlFor(s.t, "grpc"), timeoutMs: 5_000 });
    try {
      await flux.ping();
    } finally {
      flux.close();
    }
  });

  it("ends its HTTP/2 session on close() instead of at the idle timeout; a later call reconnects", async () => {
    const abort = vi.spyOn(Http2SessionManager.prototype, "abort");
    const flux = Flux.init(ADMIN_KEY, { url: urlFor(s.t, "grpc") });
    try {
      await flux.ping();
      flux.close();
      expect(abort).toHaveBeenCalledTimes(1);
      flux.close();
      await flux.ping();
    } finally {
      abort.mockRestore();
      flux.close();
    }
  });

  it("turns a call to an address nothing listens on into UnavailableError", async () => {
    const flux = Flux.init(ADMIN_KEY, { url: "http://127.0.0.1:1" });
    try {
      expect(await rejection(flux.ping())).toBeInstanceOf(UnavailableError);
    } finally {
      flux.close();
    }
  });
});
