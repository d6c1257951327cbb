// bench/connect-load, a small Go program on net/http's h2c client (one connection, like ghz): all the Connect load
// (ghz cannot speak Connect), and the saturating gRPC runs, where it costs ~3× less CPU per call than ghz, which on
// one core cannot keep a one-core Node server busy. Binary protobuf bodies; pinned to the load core.
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { Loader, LoadResult } from "./load.js";
import { LOAD_CORE, pinned, ROOT, type Target } from "./proc.js";

const run = promisify(execFile);
const SRC = path.join(ROOT, "bench/connect-load");

/** Builds connect-load once per source version into the cache; returns the binary. */
export function buildConnectLoad(): string {
  const h = createHash("sha256");
  for (const f of ["go.mod", "main.go"]) h.update(readFileSync(path.join(SRC, f)));
  const dir = path.join(process.env.FLUX_CACHE_DIR ?? path.join(os.homedir(), ".cache/flux-apikeys"), "go-bin");
  const bin = path.join(dir, `connect-load-${h.digest("hex").slice(0, 12)}`);
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    execFileSync("go", ["build", "-trimpath", "-o", bin, "."], { cwd: SRC, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, CGO_ENABLED: "0" } });
  }
  return bin;
}

/** Connect only: HTTP/1.1 with `concurrency` connections instead of one h2c connection; JSON instead of binary bodies. */
export interface ConnectVariant {
  http1?: boolean;
  json?: boolean;
}

export function goLoader(bin: string, target: Target, adminKey: string, protocol: "grpc" | "connect", variant: ConnectVariant = {}): Loader {
  return async (spec) => {
    const validate = spec.method === "validate";
    const rpc = validate ? "flux.apikeys.v1.ApiKeyService/ValidateApiKey" : "flux.apikeys.v1.PingService/Ping";
    const port = protocol === "grpc" ? target.grpcPort : target.httpPort;
    const args = ["-url", `http://127.0.0.1:${port}/${rpc}`, "-c", String(spec.concurrency), "-z", `${spec.durationS}s`];
    if (protocol === "grpc") args.push("-grpc");
    if (variant.http1) args.push("-http1");
    if (variant.json) args.push("-json", "-expect-text", validate ? '{"valid":true' : "{");
    if (validate) args.push("-bodies", spec.bodies!, "-H", `authorization: Bearer ${adminKey}`, "-expect-prefix", "0801");
    if (spec.total) args.push("-n", String(spec.total), "-z", `${spec.durationS * 4 + 10}s`);
    if (spec.rps) args.push("-rps", String(spec.rps));
    const [cmd, full] = pinned(LOAD_CORE, bin, args);
    const { stdout } = await run(cmd, full, { maxBuffer: 16 << 20 });
    const r = JSON.parse(stdout) as LoadResult & { firstError?: string };
    if (r.errors && r.firstError) process.stderr.write(`  connect-load: ${r.errors} errors, first: ${r.firstError.slice(0, 200)}\n`);
    return { count: r.count, errors: r.errors, rps: r.rps, meanMs: r.meanMs, p50Ms: r.p50Ms, p99Ms: r.p99Ms, sendLateP99Ms: r.sendLateP99Ms };
  };
}
