// ghz, the external gRPC load generator, pinned to the load core: here for cold keys and as a cross-check of the
// fixed-rate runs. It costs about as much CPU per call as the server, so it cannot saturate a one-core server from
// one core: the saturating runs use bench/connect-load (connect.ts).
import { execFile } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { Loader } from "./load.js";
import { LOAD_CORE, pinned, ROOT, type Target } from "./proc.js";

const run = promisify(execFile);

export function ghzBin(): string {
  return process.env.GHZ_BIN ?? path.join(process.env.FLUX_CACHE_DIR ?? path.join(os.homedir(), ".cache/flux-apikeys"), "go-bin/ghz");
}

interface GhzReport {
  count: number;
  rps: number;
  average: number;
  latencyDistribution: { percentage: number; latency: number }[] | null;
  statusCodeDistribution?: Record<string, number>;
  errorDistribution?: Record<string, number>;
}

export function ghzLoader(target: Target, adminKey: string): Loader {
  return async (spec) => {
    const validate = spec.method === "validate";
    const args = [
      "--insecure",
      "--proto", path.join(ROOT, "proto/flux/apikeys/v1", validate ? "api_key_service.proto" : "ping_service.proto"),
      "--import-paths", path.join(ROOT, "proto"),
      "--call", validate ? "flux.apikeys.v1.ApiKeyService.ValidateApiKey" : "flux.apikeys.v1.PingService.Ping",
      "-c", String(spec.concurrency),
      "--connections", "1",
      "-O", "json",
      "--duration-stop", "ignore",
    ];
    if (validate) args.push("-B", spec.bodies!, "-m", JSON.stringify({ authorization: `Bearer ${adminKey}` }));
    else args.push("-d", "{}");
    if (spec.total) args.push("-n", String(spec.total)); // ghz's -x would override -n
    else args.push("-z", `${spec.durationS}s`);
    if (spec.rps) args.push("--rps", String(Math.round(spec.rps)));
    args.push(`127.0.0.1:${target.grpcPort}`);
    const [cmd, full] = pinned(LOAD_CORE, ghzBin(), args);
    const { stdout } = await run(cmd, full, { maxBuffer: 1 << 30 /* the JSON report lists every call */ });
    const r = JSON.parse(stdout) as GhzReport;
    const pct = (p: number) => (r.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? NaN) / 1e6;
    const ok = r.statusCodeDistribution?.OK ?? 0;
    return { count: r.count, errors: r.count - ok, rps: r.rps, meanMs: r.average / 1e6, p50Ms: pct(50), p99Ms: pct(99) };
  };
}
