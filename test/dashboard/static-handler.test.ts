// The dashboard's static handler over a fake build on a real HTTP server: what it serves, with which headers,
// and what it refuses (traversal, other methods, paths it does not own).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDashboardHandler } from "../../src/dashboard/static-handler.js";

let dir: string;
let server: http.Server;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flux-dash-"));
  mkdirSync(join(dir, "dist/assets"), { recursive: true });
  writeFileSync(join(dir, "dist/index.html"), `<!doctype html><title>Flux</title><script type="module" src="/assets/index-abc123.js"></script>`);
  writeFileSync(join(dir, "dist/assets/index-abc123.js"), `console.log(${JSON.stringify("x".repeat(2000))});`);
  writeFileSync(join(dir, "dist/assets/index-abc123.css"), "body{}");
  writeFileSync(join(dir, "dist/favicon.svg"), "<svg/>");
  writeFileSync(join(dir, "secret.txt"), "outside the build");
  const handler = createDashboardHandler(join(dir, "dist"));
  server = http.createServer((req, res) => {
    if (!handler(req, res)) {
      res.writeHead(418);
      res.end("not mine");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** Raw request, so paths like /assets/../x reach the server unnormalised. */
function get(path: string, headers: Record<string, string> = {}, method = "GET") {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const req = http.request({ hostname, port, path, method, headers }, (res) => {
      let body = "";
      res.setEncoding("latin1");
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("dashboard static handler", () => {
  it("serves index.html at / uncached, under a strict Content-Security-Policy", async () => {
    for (const path of ["/", "/index.html", "/?from=somewhere"]) {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(res.body).toContain("<title>Flux</title>");
      expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(res.headers["cache-control"]).toBe("no-store");
      const csp = String(res.headers["content-security-policy"]);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
    }
  });

  it("serves hashed assets with a year of immutable caching and the right content types", async () => {
    const js = await get("/assets/index-abc123.js");
    expect(js.status).toBe(200);
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(js.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    const css = await get("/assets/index-abc123.css");
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    const svg = await get("/favicon.svg");
    expect(svg.headers["content-type"]).toBe("image/svg+xml");
    expect(svg.headers["cache-control"]).not.toContain("immutable");
  });

  it("compresses text assets for clients that accept gzip", async () => {
    const res = await get("/assets/index-abc123.js", { "accept-encoding": "gzip, br" });
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(Number(res.headers["content-length"])).toBeLessThan(2000);
    expect(res.headers["vary"]).toBe("accept-encoding");
  });

  it.each(["/assets/../secret.txt", "/assets/%2e%2e/secret.txt", "/assets/..%2fsecret.txt", "/assets/..%5csecret.txt", "/assets/%00index-abc123.js", "/assets/"])(
    "never serves anything outside the build: %s",
    async (path) => {
      const res = await get(path);
      expect(res.status).toBe(404);
      expect(res.body).not.toContain("outside the build");
    },
  );

  it("answers 404 for a missing asset and leaves paths it does not own to the caller", async () => {
    expect((await get("/assets/nope-123.js")).status).toBe(404);
    for (const path of ["/healthz", "/metrics", "/flux.apikeys.v1.ApiKeyService/ListScopes", "/secret.txt", "/%zz"]) {
      expect((await get(path)).status).toBe(418);
    }
  });

  it("answers HEAD without a body and refuses other methods", async () => {
    const head = await get("/", {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
    const post = await get("/", {}, "POST");
    expect(post.status).toBe(405);
    expect(post.headers["allow"]).toBe("GET, HEAD");
  });

  it("explains how to build the dashboard when no build exists", async () => {
    const empty = mkdtempSync(join(tmpdir(), "flux-dash-empty-"));
    const handler = createDashboardHandler(join(empty, "missing"));
    const s = http.createServer((req, res) => void (handler(req, res) || res.end()));
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("npm run build:dashboard");
    await new Promise((r) => s.close(r));
    rmSync(empty, { recursive: true, force: true });
  });
});
