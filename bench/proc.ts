// Processes under test: the Flux server and the bare grpc-js server pinned to core 0 (the load generators run on
// core 1), plus what we read about them from /proc and GET /metrics.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
// @ts-expect-error plain ESM helper without types
import { freePort, startFluxProcess } from "../scripts/with-server.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const SERVER_CORE = 0;
export const LOAD_CORE = 1;

const hasTaskset = (() => {
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** Moves every thread of pid onto one core (no-op without taskset or with fewer cores). */
export function pin(pid: number, core: number): boolean {
  if (!hasTaskset) return false;
  try {
    execFileSync("taskset", ["-a", "-p", "-c", String(core), String(pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A command line prefixed with `taskset -c core` where that exists. */
export function pinned(core: number, cmd: string, args: string[]): [string, string[]] {
  return hasTaskset ? ["taskset", ["-c", String(core), cmd, ...args]] : [cmd, args];
}

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
}

/** Per core, jiffies since boot: busy (steal included), total, and steal (time the host ran something else). */
export function coreTimes(): { busy: number; total: number; steal: number }[] {
  const out: { busy: number; total: number; steal: number }[] = [];
  for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out[Number(m[1])] = { busy: total - v[3]! - v[4]!, total, steal: v[7]! }; // idle, iowait, steal
  }
  return out;
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Stops for everything started, run on SIGINT/SIGTERM so no server outlives an interrupted bench. */
export const running = new Set<() => Promise<unknown>>();
export function tracked<T extends { stop(): Promise<unknown> }>(t: T): T {
  const stop = t.stop.bind(t);
  const wrapped = () => (running.delete(wrapped), stop());
  running.add(wrapped);
  t.stop = wrapped;
  return t;
}

export interface Target {
  pid: number;
  grpcPort: number;
  /** Absent for the bare grpc-js server. */
  httpPort?: number;
  /** The longest GC pause since the previous call, ms (Flux: /metrics; the bare grpc-js server: SIGUSR2). */
  gcMaxMs?: () => Promise<number>;
  stop(): Promise<unknown>;
}

export async function startFlux(env: Record<string, string>): Promise<Target> {
  const s = await startFluxProcess({ FLUX_LOG_LEVEL: "warn", ...env });
  pin(s.child.pid, SERVER_CORE);
  const gcMaxMs = async () => ((await scrape(s.httpPort)).get("flux_gc_pause_max_seconds") ?? NaN) * 1000;
  return tracked({ pid: s.child.pid, grpcPort: s.grpcPort, httpPort: s.httpPort, gcMaxMs, stop: s.stop });
}

export async function startBareGrpc(env: Record<string, string> = {}): Promise<Target> {
  return startBare("bench/bare-grpc-server.ts", env, (port) => ({ grpcPort: port }), true);
}

/** node:http and node:http2 parsing the JSON body and answering a fixed JSON body (bench/bare-http-server.ts). */
export async function startBareHttp(env: Record<string, string> = {}): Promise<Target> {
  return startBare("bench/bare-http-server.ts", env, (port) => ({ grpcPort: 0, httpPort: port }));
}

/** reportsGc: the server answers SIGUSR2 with "gc-max MS" (without a handler, SIGUSR2 would end it). */
async function startBare(script: string, env: Record<string, string>, ports: (port: number) => Pick<Target, "grpcPort" | "httpPort">, reportsGc = false): Promise<Target> {
  const port: number = await freePort();
  const [cmd, args] = pinned(SERVER_CORE, process.execPath, ["--import", "tsx", path.join(ROOT, script), String(port)]);
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("listening")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  child.removeAllListeners("exit");
  // Lines "gc-max MS" answer SIGUSR2 (bare-grpc-server.ts), in order.
  const gcAnswers: ((ms: number) => void)[] = [];
  let pending = "";
  child.stdout!.on("data", (d) => {
    pending += d;
    for (let i = pending.indexOf("\n"); i >= 0; i = pending.indexOf("\n")) {
      const m = /^gc-max ([\d.]+)/.exec(pending.slice(0, i));
      pending = pending.slice(i + 1);
      if (m) gcAnswers.shift()?.(Number(m[1]));
    }
  });
  const gcMaxMs = () =>
    new Promise<number>((resolve) => {
      gcAnswers.push(resolve);
      child.kill("SIGUSR2");
      setTimeout(() => resolve(NaN), 2000).unref();
    });
  // taskset execs node in place, so child.pid is node's pid.
  return tracked({
    pid: child.pid!,
    ...ports(port),
    ...(reportsGc ? { gcMaxMs } : {}),
    stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve(0) : (child.once("exit", resolve), child.kill("SIGTERM")))),
  });
}

/** Prometheus text → value of each sample line (name{labels} → number). */
export async function scrape(httpPort: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Validations answered with anything but VALID, from the server's own counters. */
export async function nonValidCount(httpPort: number): Promise<number> {
  let n = 0;
  for (const [k, v] of await scrape(httpPort)) {
    if (k.startsWith("flux_validations_total{") && !k.includes('outcome="VALID"')) n += v;
  }
  return n;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
