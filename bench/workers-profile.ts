// `npm run bench -- --workers-only --profile`: where a worker's CPU goes under FLUX_WORKERS=2 against one process,
// at the same fixed gRPC rate (so neither is starved by the load generator): each process samples itself
// (cpu-profile.cjs, inherited by the workers through NODE_OPTIONS); self time per call by component, summed over the
// workers. Writes bench/results/workers-profile-latest.md.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BodyFiles, Loader } from "./load.js";
import { ROOT, startFlux, type Target } from "./proc.js";
import { summarise } from "./profile.js";
import { seedKeys } from "./seed.js";

const RATE = 4000;

type Summary = ReturnType<typeof summarise>;

async function profileWorkers(workers: number, adminKey: string, files: BodyFiles, loader: (t: Target) => Loader, durationS: number) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "flux-bench-wprof-"));
  const dir = path.join(ROOT, "bench/results/profiles", `workers-${workers}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  mkdirSync(dir, { recursive: true });
  try {
    const secrets = await seedKeys({ kind: "embedded", dataDir }, 1_000);
    const bodies = files.write(secrets.slice(0, 500));
    const env = {
      FLUX_ADMIN_KEY: adminKey,
      FLUX_DATA_DIR: dataDir,
      FLUX_WORKERS: String(workers),
      NODE_OPTIONS: `--require ${path.join(ROOT, "bench/cpu-profile.cjs")}`,
      FLUX_BENCH_CPU_PROF_DIR: dir,
    };
    const server = await startFlux(env);
    const cores = os.cpus().map((_, i) => i).join(",");
    for (const pid of [server.pid, ...children(server.pid)]) execFileSync("taskset", ["-a", "-p", "-c", cores, String(pid)], { stdio: "ignore" });
    let from: number;
    let to: number;
    let rps: number;
    try {
      const load = loader(server);
      await load({ method: "validate", bodies, concurrency: 16, durationS: 3, rps: RATE }); // cache, JIT, leases
      from = Date.now();
      rps = (await load({ method: "validate", bodies, concurrency: 16, durationS, rps: RATE })).rps;
      to = Date.now();
    } finally {
      await server.stop(); // each process writes its profile at exit
    }
    const profiles = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
    const sums = profiles.map((f) => summarise(JSON.parse(readFileSync(path.join(dir, f), "utf8")), from + 200, to - 200));
    const calls = (rps * (to - from - 400)) / 1000;
    return { workers, profiles: profiles.length, sums, calls, dir: path.relative(ROOT, dir) };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function children(pid: number): number[] {
  try {
    return execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** µs of self time per call in `name`, summed over the processes' profiles. */
const usIn = (sums: Summary[], calls: number, name: string) => sums.reduce((s, x) => s + (x.components.find((c) => c.name === name)?.share ?? 0) * x.busyUs, 0) / calls;
const usAll = (sums: Summary[], calls: number) => sums.reduce((s, x) => s + x.busyUs, 0) / calls;

export async function runWorkersProfile(adminKey: string, files: BodyFiles, loader: (t: Target) => Loader, durationS: number, log: (s: string) => void) {
  const one = await profileWorkers(1, adminKey, files, loader, durationS);
  const two = await profileWorkers(2, adminKey, files, loader, durationS);
  const names = [...new Set([...one.sums, ...two.sums].flatMap((s) => s.components.map((c) => c.name)))].sort(
    (a, b) => usIn(two.sums, two.calls, b) - usIn(two.sums, two.calls, a),
  );
  const lines = [
    `## Server CPU per call, FLUX_WORKERS=1 vs 2 (gRPC validate at ${RATE}/s, 500 hot keys, sampled every 250 µs)`,
    "",
    `CPU per call (all processes that serve; the primary only hands over connections and is not sampled): ` +
      `1 worker ${usAll(one.sums, one.calls).toFixed(0)} µs, 2 workers ${usAll(two.sums, two.calls).toFixed(0)} µs ` +
      `(profiles: ${one.dir} (${one.profiles}), ${two.dir} (${two.profiles})).`,
    "",
    "| component (self time), µs per call | 1 worker | 2 workers |",
    "| --- | ---: | ---: |",
  ];
  for (const n of names.filter((n) => Math.max(usIn(one.sums, one.calls, n), usIn(two.sums, two.calls, n)) >= 0.3)) {
    lines.push(`| \`${n}\` | ${usIn(one.sums, one.calls, n).toFixed(1)} | ${usIn(two.sums, two.calls, n).toFixed(1)} |`);
  }
  const md = lines.join("\n") + "\n";
  const out = path.join(ROOT, "bench/results/workers-profile-latest.md");
  writeFileSync(out, md);
  log(`${md}\nwritten: ${path.relative(ROOT, out)}`);
}
