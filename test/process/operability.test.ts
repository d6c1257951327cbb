// What operators touch: grpcurl lists the services through reflection, the health check answers, bad settings
// end the process at start with one clear line and a non-zero exit, never a stack trace.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

// The server runs in this process: grpcurl must run asynchronously or it would wait on a blocked event loop.
const run$ = promisify(execFile);
const BIN = join(import.meta.dirname, "../../bin/flux-apikeys.mjs");
let grpcurl: string;
let t: TestServer;
beforeAll(async () => {
  grpcurl = join(execFileSync("bash", ["scripts/ensure-go-tools.sh"], { encoding: "utf8" }).trim(), "grpcurl");
  t = await startTestServer("embedded", "operability");
});
afterAll(() => t?.stop());

describe("a running server", () => {
  it("lists its services to grpcurl through reflection", async () => {
    const { stdout: out } = await run$(grpcurl, ["-plaintext", `127.0.0.1:${t.server.grpcPort}`, "list"]);
    expect(out.split("\n")).toEqual(expect.arrayContaining(["flux.apikeys.v1.ApiKeyService", "flux.apikeys.v1.AdminKeyService", "grpc.health.v1.Health"]));
  });

  it("answers the gRPC health check and /healthz", async () => {
    const { stdout: out } = await run$(grpcurl, ["-plaintext", `127.0.0.1:${t.server.grpcPort}`, "grpc.health.v1.Health/Check"]);
    expect(JSON.parse(out)).toEqual({ status: "SERVING" });
    const res = await fetch(`http://127.0.0.1:${t.server.httpPort}/healthz`);
    expect(res.status).toBe(200);
  });
});

describe("metrics", () => {
  it("count validations by outcome and expose latency, cache and flush figures on /metrics", async () => {
    const { createKey, validate } = await import("../support/fixtures.js");
    const c = t.callers[0]!;
    const { secret } = await createKey(c);
    for (let i = 0; i < 3; i++) await validate(c, secret);
    await validate(c, "garbage");
    const res = await fetch(`http://127.0.0.1:${t.server.httpPort}/metrics`);
    const body = await res.text();
    expect(res.headers.get("content-type")).toContain("text/plain");
    expect(body).toMatch(/flux_validations_total\{outcome="VALID"\} 3\b/);
    expect(body).toMatch(/flux_validations_total\{outcome="MALFORMED"\} 1\b/);
    expect(body).toMatch(/flux_rpc_duration_seconds_count\{method="\/flux.apikeys.v1.ApiKeyService\/ValidateApiKey"\} 4\b/);
    expect(body).toMatch(/flux_key_cache_hits_total 2\b/);
    expect(body).toContain("flux_usage_flush_lag_seconds");
  });

  it("expose the process and Node.js figures under their standard names, which off-the-shelf dashboards expect", async () => {
    const body = await (await fetch(`http://127.0.0.1:${t.server.httpPort}/metrics`)).text();
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds", "nodejs_eventloop_lag_seconds", "nodejs_heap_size_used_bytes"]) {
      expect(body).toMatch(new RegExp(`^${name} `, "m"));
    }
    expect(body).not.toContain("flux_process_");
  });
});

describe("bad configuration at start", () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [BIN, "serve"], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, encoding: "utf8", timeout: 30_000 });

  it.each([
    ["a malformed address and a short admin key, reported together", { FLUX_GRPC_ADDR: "nonsense", FLUX_ADMIN_KEY: "short" }, 2, /FLUX_GRPC_ADDR[\s\S]*FLUX_ADMIN_KEY/],
    ["an unreachable MongoDB", { FLUX_MONGODB_URI: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500", FLUX_ADMIN_KEY: "x".repeat(20) }, 1, /MongoDB is unreachable/],
  ])("ends with one clear message for %s", (_label, env, code, pattern) => {
    const res = run(env);
    expect(res.status).toBe(code);
    expect(res.stderr).toMatch(pattern);
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("ends with one clear message for an unwritable data dir", () => {
    const dir = mkdtempSync(join(tmpdir(), "flux-ro-"));
    const file = join(dir, "not-a-dir");
    writeFileSync(file, "x");
    try {
      const res = run({ FLUX_DATA_DIR: join(file, "data"), FLUX_ADMIN_KEY: "x".repeat(20) });
      expect(res.status).toBe(1);
      expect(res.stderr).toMatch(/cannot open the embedded store/);
      expect(res.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("ends with one clear message when the port is taken", () => {
    const res = run({ FLUX_GRPC_ADDR: `127.0.0.1:${t.server.grpcPort}`, FLUX_HTTP_ADDR: "127.0.0.1:0", FLUX_DATA_DIR: mkdtempSync(join(tmpdir(), "flux-port-")), FLUX_ADMIN_KEY: "x".repeat(20) });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/cannot listen/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });
});
