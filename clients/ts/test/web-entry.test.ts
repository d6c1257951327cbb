// The browser entry against a real server: Connect-Web's fetch transports (Node 20 has fetch), Flux.fromTransport,
// and a check that the core and the web entry import nothing Node-only, so Vite can bundle them for the dashboard.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createConnectTransport } from "@connectrpc/connect-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Flux as CoreFlux } from "../src/index.js";
import { AuthenticationError, defaultWebUrl, DEFAULT_HTTP_URL, Flux, InvalidKeyError, RateLimitedError, type WebProtocol } from "../src/web.js";
import { ADMIN_KEY, newOrg, rejection, type SdkServer, startSdkServer, urlFor } from "./helpers.js";

let s: SdkServer;
beforeAll(async () => {
  s = await startSdkServer("web", ["data:read"]);
});
afterAll(() => s?.stop());

describe.each(["connect", "grpc-web"] as WebProtocol[])("Flux.init from the web entry over %s", (protocol) => {
  const flux = (adminKey = ADMIN_KEY) => Flux.init(adminKey, { url: urlFor(s.t, "http"), transport: protocol });

  it("runs the product page's flow: create, validate with hasScope, rotate, rate limit, usage", async () => {
    const key = await flux().apiKeys.create({ orgId: newOrg(), name: "web", scopes: ["data:read"], rateLimit: { requests: 2, windowSeconds: 60 } });
    expect((await flux().apiKeys.validate(key.secret)).hasScope("data:read")).toBe(true);
    const rotated = await flux().apiKeys.rotate(key.id);
    expect(await rejection(flux().apiKeys.validate(key.secret))).toMatchObject({ outcome: "NOT_FOUND" });
    await flux().apiKeys.validate(rotated.secret);
    const limited = await rejection(flux().apiKeys.validate(rotated.secret));
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect((limited as RateLimitedError).retryAfterMs).toBeGreaterThan(0);
    // The rejected old secret matched no key, so it counts for none: two VALID, one RATE_LIMITED.
    const usage = await flux().apiKeys.getUsage(key.id);
    expect(usage).toMatchObject({ requestsCurrentPeriod: 3, errorsCurrentPeriod: 1, outcomes: { VALID: 2, RATE_LIMITED: 1 } });
  });

  it("maps errors by reason as the Node transports do", async () => {
    const err = await rejection(flux("wrong-admin-key-0123456789abcdef").apiKeys.listScopes());
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toMatchObject({ reason: "ADMIN_KEY_INVALID" });
    expect(await rejection(flux().apiKeys.get("key_missing"))).toMatchObject({ reason: "KEY_NOT_FOUND" });
  });
});

describe("Flux.fromTransport", () => {
  it("builds a working client from any transport, as the dashboard does with Connect-Web", async () => {
    const flux = CoreFlux.fromTransport(createConnectTransport({ baseUrl: urlFor(s.t, "http") }), ADMIN_KEY);
    const key = await flux.apiKeys.create({ orgId: newOrg(), name: "dashboard" });
    expect((await flux.apiKeys.get(key.id)).name).toBe("dashboard");
    expect(await rejection(flux.apiKeys.validate("nope"))).toBeInstanceOf(InvalidKeyError);
  });

  it("returns an instance of the class it is called on", () => {
    const transport = createConnectTransport({ baseUrl: DEFAULT_HTTP_URL });
    expect(Flux.fromTransport(transport, "k")).toBeInstanceOf(Flux);
    expect(CoreFlux.fromTransport(transport, "k")).toBeInstanceOf(CoreFlux);
  });

  it("defaults the web entry's url to the page's origin, else the local HTTP address", () => {
    expect(defaultWebUrl()).toBe(DEFAULT_HTTP_URL);
  });
});

describe("browser safety", () => {
  const srcDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "../src");

  /** Every module specifier the file imports (static or re-exported), following relative imports inside src (src/gen included). */
  function importGraph(entry: string, seen = new Map<string, string[]>()): Map<string, string[]> {
    if (seen.has(entry)) return seen;
    const text = readFileSync(path.join(srcDir, entry), "utf8");
    const specs = [...text.matchAll(/(?:import|export)\s[^;]*?from\s+"([^"]+)"/g)].map((m) => m[1]!);
    seen.set(entry, specs);
    for (const spec of specs) {
      if (spec.startsWith(".")) importGraph(path.posix.join(path.posix.dirname(entry), spec).replace(/\.js$/, ".ts"), seen);
    }
    return seen;
  }

  it.each(["index.ts", "web.ts"])("%s reaches no node: module, no connect-node and no process global", (entry) => {
    const graph = importGraph(entry);
    expect(graph.size).toBeGreaterThan(5);
    for (const [file, specs] of graph) {
      expect(specs.filter((x) => x.startsWith("node:") || x === "@connectrpc/connect-node"), file).toEqual([]);
      expect(readFileSync(path.join(srcDir, file), "utf8"), file).not.toMatch(/\bprocess\./);
    }
  });
});
