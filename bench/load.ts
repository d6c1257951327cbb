// What every load generator shares: what to call, how hard, what came back, the server's CPU meanwhile, runs of
// two loads interleaved (this machine's speed drifts by ±20% from one few-second run to the next), request bodies.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { coreTimes, cpuSeconds, LOAD_CORE, SERVER_CORE, type Target } from "./proc.js";

export interface LoadSpec {
  method: "ping" | "validate";
  /** validate: file of varint-length-prefixed ValidateApiKeyRequest messages, used round-robin. */
  bodies?: string;
  concurrency: number;
  durationS: number;
  /** Fixed rate; closed loop (as fast as answered) when absent. */
  rps?: number;
  /** Stop after this many calls (each body once when total = number of bodies). */
  total?: number;
}

export interface LoadResult {
  count: number;
  errors: number;
  rps: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Share of one core the server used while loaded (1 = saturated). */
  serverCpu?: number;
  /** How busy the server's core and the load generator's core were (anything beyond serverCpu on core 0 is noise). */
  serverCoreBusy?: number;
  loadCoreBusy?: number;
  /** Share of the server core's time the host gave to other guests (steal): the VM stood still, calls waited. */
  serverCoreSteal?: number;
  /** Open loop (connect-load): p99 of how late calls went out; high when the server stalled and calls piled up. */
  sendLateP99Ms?: number;
}

export type Loader = (spec: LoadSpec) => Promise<LoadResult>;

/** Runs the load and measures the server's CPU share meanwhile. */
export async function measured(target: Target, load: () => Promise<LoadResult>): Promise<LoadResult> {
  const cpu0 = cpuSeconds(target.pid);
  const cores0 = coreTimes();
  const t0 = performance.now();
  const r = await load();
  const cores1 = coreTimes();
  const share = (i: number) => (cores1[i] && cores0[i] ? (cores1[i].busy - cores0[i].busy) / (cores1[i].total - cores0[i].total) : NaN);
  r.serverCpu = (cpuSeconds(target.pid) - cpu0) / ((performance.now() - t0) / 1000);
  r.serverCoreBusy = share(SERVER_CORE);
  const c0 = cores0[SERVER_CORE];
  const c1 = cores1[SERVER_CORE];
  r.serverCoreSteal = c0 && c1 ? (c1.steal - c0.steal) / (c1.total - c0.total) : NaN;
  r.loadCoreBusy = share(LOAD_CORE);
  return r;
}

/** Temporary files of request bodies: ValidateApiKeyRequest{key} per secret, each length-prefixed. */
export class BodyFiles {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), "flux-bench-"));
  private n = 0;

  write(secrets: string[]): string {
    const parts: Buffer[] = [];
    for (const s of secrets) {
      const key = Buffer.from(s);
      if (key.length > 127) throw new Error("secret too long for a one-byte length");
      parts.push(Buffer.from([key.length + 2, 0x0a, key.length]), key);
    }
    const file = path.join(this.dir, `bodies-${this.n++}.bin`);
    writeFileSync(file, Buffer.concat(parts));
    return file;
  }

  remove() {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export interface Interleaved {
  /** The run of each side whose rate is the median of its rounds. */
  a: LoadResult;
  b: LoadResult;
  /** b's rate over a's, per round (adjacent runs), and their median. */
  ratios: number[];
  ratio: number;
  /** a's server CPU per call over b's, per round, and their median: the rate ratio of two saturated servers on a host
   * that stole no time (CPU time does not count what the host took, so this moves less between rounds). */
  cpuRatios: number[];
  cpuRatio: number;
}

/** Alternates two loads round by round (each measured on its own server), so drift of the machine hits both alike. */
export async function interleaved(a: [Target, () => Promise<LoadResult>], b: [Target, () => Promise<LoadResult>], rounds: number): Promise<Interleaved> {
  const as: LoadResult[] = [];
  const bs: LoadResult[] = [];
  for (let i = 0; i < rounds; i++) {
    as.push(await measured(...a));
    bs.push(await measured(...b));
  }
  const mid = (rs: LoadResult[]) => [...rs].sort((x, y) => x.rps - y.rps)[Math.floor(rs.length / 2)]!;
  const ratios = bs.map((r, i) => r.rps / as[i]!.rps);
  const errors = (rs: LoadResult[]) => rs.reduce((n, r) => n + r.errors, 0);
  const cpuPerCall = (r: LoadResult) => (r.serverCpu ?? NaN) / r.rps;
  const cpuRatios = bs.map((r, i) => cpuPerCall(as[i]!) / cpuPerCall(r));
  return { a: { ...mid(as), errors: errors(as) }, b: { ...mid(bs), errors: errors(bs) }, ratios, ratio: median(ratios), cpuRatios, cpuRatio: median(cpuRatios) };
}

