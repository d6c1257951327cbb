// Goal 5 (issue 13): several cores. Cache-hot validate throughput of FLUX_WORKERS=2 against FLUX_WORKERS=1 on the
// embedded store, alternating rounds. Here nothing is pinned: the servers may use both cores, and the load generator
// (bench/connect-load) shares them, so its CPU is measured too (the bench's reaped children: /proc/self/stat
// cutime + cstime) beside the servers' (primary and workers: /proc/<pid>/stat).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type BodyFiles, median } from "./load.js";
import { cpuSeconds, startFlux, type Target } from "./proc.js";
import { seedKeys } from "./seed.js";

export interface WorkersRun {
  rps: number;
  errors: number;
  /** Cores the server processes (primary + workers) used meanwhile. */
  serverCores: number;
  /** Cores the load generator used meanwhile. */
  loadCores: number;
}

export interface WorkersVariant {
  variant: string;
  connections: number;
  one: WorkersRun;
  two: WorkersRun;
  ratios: number[];
  ratio: number;
}

export interface WorkersReport {
  keys: number;
  hotKeys: number;
  roundS: number;
  variants: WorkersVariant[];
}

const ALL_CORES = os.cpus().map((_, i) => i).join(",");
const GOAL = 1.7;

function allCores(pid: number): void {
  try {
    execFileSync("taskset", ["-a", "-p", "-c", ALL_CORES, String(pid)], { stdio: "ignore" });
  } catch {}
}

function children(pid: number): number[] {
  try {
    return execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU seconds of this process's reaped children (the load generators once they exited). */
function reapedChildrenCpu(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) / 100; // cutime, cstime
}

function serverCpu(t: Target): number {
  return [t.pid, ...children(t.pid)].reduce((s, pid) => s + (() => { try { return cpuSeconds(pid); } catch { return 0; } })(), 0);
}

interface Load {
  variant: string;
  connections: number;
  /** connect-load invocations run side by side (each a process of its own). */
  argv: (t: Target) => string[][];
}

function runLoad(bin: string, argvs: string[][]): Promise<{ count: number; errors: number }> {
  return Promise.all(
    argvs.map(
      (argv) =>
        new Promise<{ count: number; errors: number }>((resolve, reject) => {
          const child = spawn("taskset", ["-c", ALL_CORES, bin, ...argv], { stdio: ["ignore", "pipe", "inherit"] });
          let out = "";
          child.stdout.on("data", (d) => (out += d));
          // "close", not "exit": exit can come before the last of stdout has been read.
          child.once("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`connect-load exited with ${code}`))));
        }),
    ),
  ).then((rs) => rs.reduce((a, r) => ({ count: a.count + r.count, errors: a.errors + r.errors }), { count: 0, errors: 0 }));
}

async function measure(bin: string, t: Target, load: Load, seconds: number): Promise<WorkersRun> {
  const s0 = serverCpu(t);
  const l0 = reapedChildrenCpu();
  const t0 = performance.now();
  const r = await runLoad(bin, load.argv(t));
  const wall = (performance.now() - t0) / 1000;
  return { rps: r.count / seconds, errors: r.errors, serverCores: (serverCpu(t) - s0) / wall, loadCores: (reapedChildrenCpu() - l0) / wall };
}

export async function benchWorkers(
  goBin: string,
  adminKey: string,
  files: BodyFiles,
  o: { keys: number; hotKeys: number; rounds: number; roundS: number },
  log: (s: string) => void,
): Promise<WorkersReport> {
  const dirs: string[] = [];
  const servers: Target[] = [];
  try {
    for (const workers of [1, 2]) {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), "flux-bench-workers-"));
      dirs.push(dataDir);
      const secrets = await seedKeys({ kind: "embedded", dataDir }, o.keys);
      const t = await startFlux({ FLUX_ADMIN_KEY: adminKey, FLUX_DATA_DIR: dataDir, FLUX_WORKERS: String(workers) });
      for (const pid of [t.pid, ...children(t.pid)]) allCores(pid); // startFlux pinned the primary to core 0
      (t as Target & { bodies?: string }).bodies = files.write(secrets.slice(0, o.hotKeys));
      servers.push(t);
    }
    const auth = ["-H", `authorization: Bearer ${adminKey}`, "-expect-prefix", "0801"];
    const rpc = "flux.apikeys.v1.ApiKeyService/ValidateApiKey";
    const bodies = (t: Target) => ["-bodies", (t as Target & { bodies?: string }).bodies!];
    const loads: Load[] = [
      {
        variant: "gRPC, 4 h2c connections × 16 concurrent calls",
        connections: 4,
        argv: (t) => Array.from({ length: 4 }, () => ["-url", `http://127.0.0.1:${t.grpcPort}/${rpc}`, "-grpc", "-c", "16", "-z", `${o.roundS}s`, ...bodies(t), ...auth]),
      },
      {
        variant: "Connect binary, 50 HTTP/1.1 connections",
        connections: 50,
        argv: (t) => [["-url", `http://127.0.0.1:${t.httpPort}/${rpc}`, "-http1", "-c", "50", "-z", `${o.roundS}s`, ...bodies(t), ...auth]],
      },
    ];
    const variants: WorkersVariant[] = [];
    for (const load of loads) {
      for (const t of servers) await measure(goBin, t, load, Math.min(1, o.roundS)); // warm: caches, JIT, leases
      const ones: WorkersRun[] = [];
      const twos: WorkersRun[] = [];
      for (let i = 0; i < o.rounds; i++) {
        ones.push(await measure(goBin, servers[0]!, load, o.roundS));
        twos.push(await measure(goBin, servers[1]!, load, o.roundS));
      }
      const ratios = twos.map((r, i) => r.rps / ones[i]!.rps);
      const mid = (rs: WorkersRun[]) => [...rs].sort((a, b) => a.rps - b.rps)[Math.floor(rs.length / 2)]!;
      const v: WorkersVariant = { variant: load.variant, connections: load.connections, one: mid(ones), two: mid(twos), ratios, ratio: median(ratios) };
      variants.push(v);
      log(`  goal 5, ${describe(v)}`);
    }
    return { keys: o.keys, hotKeys: o.hotKeys, roundS: o.roundS, variants };
  } finally {
    for (const t of servers) await t.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** µs of CPU per call. */
const perCall = (cores: number, rps: number) => (cores / rps) * 1e6;

/**
 * The most FLUX_WORKERS=2 could reach against FLUX_WORKERS=1's rate on this machine if it had every cycle of all
 * cores but the load generator's: cores / (server µs per call + load generator µs per call), as measured.
 */
export function ceiling(v: WorkersVariant): number {
  const us = perCall(v.two.serverCores, v.two.rps) + perCall(v.two.loadCores, v.two.rps);
  return os.cpus().length / (us / 1e6) / v.one.rps;
}

/**
 * What the server CPU per call says two workers could serve on two cores of their own (load from elsewhere) against
 * one worker on one: 2 × (µs per call with 1 worker ÷ µs per call with 2). A projection from measured CPU, not a rate.
 */
export function dedicatedProjection(v: WorkersVariant): number {
  return (2 * perCall(v.one.serverCores, v.one.rps)) / perCall(v.two.serverCores, v.two.rps);
}

export function describe(v: WorkersVariant): string {
  const run = (r: WorkersRun) =>
    `${Math.round(r.rps).toLocaleString("en")}/s (server ${r.serverCores.toFixed(2)} cores = ${perCall(r.serverCores, r.rps).toFixed(0)} µs/call, ` +
    `load generator ${r.loadCores.toFixed(2)} cores = ${perCall(r.loadCores, r.rps).toFixed(0)} µs/call${r.errors ? `, ${r.errors} errors` : ""})`;
  return (
    `${v.variant}: FLUX_WORKERS=1 ${run(v.one)}; FLUX_WORKERS=2 ${run(v.two)}: ×${v.ratio.toFixed(2)} ` +
    `(rounds ${v.ratios.map((x) => x.toFixed(2)).join(" ")}) — ${v.ratio >= GOAL ? "met" : "not met"} (≥ ${GOAL}×); ` +
    `ceiling with the load generator on the same ${os.cpus().length} cores: ×${ceiling(v).toFixed(2)}; ` +
    `projected from server CPU per call with the load elsewhere (2 cores vs 1): ×${dedicatedProjection(v).toFixed(2)}`
  );
}

export const WORKERS_GOAL = GOAL;
