// Ratios, targets met or not, and the markdown table; writes bench/results/<time>.json and .md (and latest.*).
import { type LocalBenchReport, renderLocal } from "./local-bench.js";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { LoadResult } from "./load.js";
import { PROTOCOLS, type Protocol, type ScaleResult } from "./scenario.js";
import { describe as describeWorkers, WORKERS_GOAL, type WorkersReport } from "./workers.js";

export interface StoreReport {
  hotKeys: number;
  scales: ScaleResult[];
}

export interface BenchReport {
  startedAt: string;
  elapsedS?: number;
  machine: { cpus: number; cpu: string; node: string; loadavg: number[]; priority: string };
  settings: Record<string, unknown> & { durationS: number; rounds: number; roundS: number; concurrency: number; cacheSize: number };
  /** The bare grpc-js server's no-op, and Flux's measured alternately with it (ratio = Flux / bare). */
  bare?: LoadResult & { flux: LoadResult; ratio: number; ratios: number[]; cpuRatio?: number; sized?: { rps: number; ratio: number; ratios: number[]; cpuRatio?: number } };
  /** Goal 3's floor: the bare grpc-js server and Flux's no-op at half the bare server's capacity, alternating. */
  bareFixed?: { rps: number; bare: FloorRun[]; flux: FloorRun[] };
  /** Connect validate against bare node:http / node:http2 (JSON in, fixed JSON out), per HTTP version and codec. */
  connectBare?: { variant: string; bare: LoadResult; flux: LoadResult; ratio: number; ratios: number[] }[];
  stores: Partial<Record<"embedded" | "mongodb", StoreReport>>;
  targets?: TargetRow[];
  /** Goal 5: FLUX_WORKERS=2 against 1 on the embedded store (bench/workers.ts). */
  workers?: WorkersReport;
  /** Local validators (bench/local-bench.ts). */
  local?: LocalBenchReport;
}

export interface TargetRow {
  target: string;
  where: string;
  measured: string;
  met: boolean;
}

const NAMES = { grpc: "gRPC", connect: "Connect" } as const;
const k = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}k` : String(n));
const ms = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "-" : x < 10 ? x.toFixed(2) : x.toFixed(0));
const x = (v: number) => `${v.toFixed(2)}×`;
const rps = (r: LoadResult) => `${Math.round(r.rps).toLocaleString("en")}/s`;
const lat = (r: LoadResult | undefined) => (r ? `${ms(r.p50Ms)} / ${ms(r.p99Ms)} ms` : "-");
const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : "-");
const spread = (rs: number[]) => `${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)}`;

/** Validate throughput at a key count against the baseline, normalised by each server's own no-op. */
const scaleThr = (big: ScaleResult, small: ScaleResult, p: Protocol) => big[p].thrRatio / small[p].thrRatio;
const scaleP99 = (big: ScaleResult, small: ScaleResult, p: Protocol) => big[p].validateRef.p99Ms / small[p].validateRef.p99Ms;

/** One fixed-rate run of goal 3's floor: its p99, the server's longest GC pause, the host's steal on its core. */
export interface FloorRun {
  p99Ms: number;
  gcMaxMs: number;
  steal: number;
}

/** The same ratio by the server's CPU per call (load.ts › Interleaved.cpuRatio), when it was measured. */
const byCpu = (ratio: number | undefined) => (ratio === undefined || Number.isNaN(ratio) ? "" : `; by server CPU per call ${x(ratio)}`);

export function targets(r: BenchReport): TargetRow[] {
  const rows: TargetRow[] = [];
  for (const [store, s] of Object.entries(r.stores)) {
    const [small, big] = [s!.scales[0]!, s!.scales.at(-1)!];
    for (const p of PROTOCOLS) {
      const where = `${store}, ${NAMES[p]}`;
      const a = small[p];
      const floor = p === "grpc" && r.bare?.sized ? `; floor: bare grpc-js at validate's sizes ${x(r.bare.sized.ratio)}` : "";
      rows.push({ target: "cache-hot validate ≥ 0.90× no-op throughput", where, measured: `${x(a.thrRatio)} (rounds ${spread(a.thrRatios)})${byCpu(a.cpuRatio)}${floor}`, met: a.thrRatio >= 0.9 });
      const dp = a.p99Delta!;
      const signed = (d: number) => `${d >= 0 ? "+" : ""}${ms(d)}`;
      rows.push({ target: "at 50% of no-op capacity: validate p99 ≤ no-op p99 + 1 ms", where, measured: `${signed(dp)} ms (rounds ${a.p99Deltas!.map(signed).join(" ")}; host steal ${a.fixedSteal!.map(pct).join(" ")})`, met: dp <= 1 });
      if (a.gcMaxMs) {
        const g = Math.max(a.gcMaxMs.ping, a.gcMaxMs.validate);
        rows.push({ target: "at 50% of no-op capacity: no GC pause over 5 ms", where, measured: `longest ${ms(g)} ms (validate run ${ms(a.gcMaxMs.validate)} ms)`, met: g <= 5 });
      }
      if (big !== small) {
        const t = scaleThr(big, small, p);
        const q = scaleP99(big, small, p);
        rows.push({ target: `${k(big.keys)} vs ${k(small.keys)} keys: validate throughput ≥ 0.9×`, where, measured: x(t), met: t >= 0.9 });
        rows.push({ target: `${k(big.keys)} vs ${k(small.keys)} keys: validate p99 ≤ 1.2×`, where, measured: x(q), met: q <= 1.2 });
      }
      {
        for (const sc of s!.scales) {
          const c = sc[p].cold;
          rows.push({ target: `cold-key p99 ≤ 5 ms (${k(sc.keys)} keys)`, where, measured: `${ms(c.p99Ms)} ms at ${c.rate}/s`, met: c.p99Ms <= 5 && !c.errors });
        }
      }
    }
    if (big.memory) {
      const b = big.memory.bytesPerKey;
      rows.push({ target: "≤ 1 KB resident per cached key", where: store, measured: `${b.toFixed(0)} B`, met: b <= 1024 });
    }
  }
  if (r.bare) {
    rows.push({ target: "gRPC no-op ≥ 0.9× bare grpc-js", where: "gRPC address", measured: `${x(r.bare.ratio)} (rounds ${spread(r.bare.ratios)})${byCpu(r.bare.cpuRatio)}`, met: r.bare.ratio >= 0.9 });
  }
  for (const c of r.connectBare ?? []) {
    rows.push({ target: "Connect validate ≥ 0.4× bare node:http (JSON in, fixed JSON out)", where: `Connect ${c.variant}`, measured: `${x(c.ratio)} (rounds ${spread(c.ratios)})`, met: c.ratio >= 0.4 });
  }
  for (const v of r.workers?.variants ?? []) {
    rows.push({ target: `several cores: FLUX_WORKERS=2 validate ≥ ${WORKERS_GOAL}× FLUX_WORKERS=1`, where: `embedded, ${v.variant}`, measured: `${x(v.ratio)} (rounds ${spread(v.ratios)})`, met: v.ratio >= WORKERS_GOAL });
  }
  for (const l of r.local?.sdks ?? []) {
    rows.push({ target: `local validate ≥ ${r.local!.goal}× the RPC per core`, where: `${l.sdk} SDK`, measured: `${l.ratio.toFixed(0)}× (${Math.round(l.perS).toLocaleString("en")}/s)`, met: l.ratio >= r.local!.goal });
  }
  if (r.local) {
    const v = r.local.revoke;
    rows.push({ target: "every connected validator refuses a revoked key when RevokeApiKey returns", where: `${v.validators.length} validators`, measured: `p50 ${v.p50Ms.toFixed(1)} ms, p99 ${v.p99Ms.toFixed(1)} ms`, met: v.refusedEverywhere });
  }
  return rows;
}

function storeTable(store: string, s: StoreReport): string[] {
  const [small, ...rest] = s.scales as [ScaleResult, ...ScaleResult[]];
  const row = (label: string, f: (p: Protocol) => string) => `| ${label} | ${PROTOCOLS.map(f).join(" | ")} |`;
  const out = [
    `### ${store} store (hot set: ${s.hotKeys} keys, round-robin)`,
    "",
    `| ${k(small.keys)} keys | gRPC | Connect |`,
    "| --- | --- | --- |",
    row("no-op throughput (saturated)", (p) => `${rps(small[p].pingThr)}`),
    row("validate throughput (saturated)", (p) => `${rps(small[p].validateThr)}`),
    row("**validate / no-op throughput**", (p) => `**${x(small[p].thrRatio)}** (rounds ${spread(small[p].thrRatios)})`),
    row("fixed rate: 50% of no-op capacity", (p) => `${small[p].fixedRps}/s`),
    row("no-op p50 / p99", (p) => lat(small[p].pingFixed)),
    row("validate p50 / p99", (p) => lat(small[p].validateFixed)),
    row("**validate p99 − no-op p99** (median of rounds)", (p) => `**${ms(small[p].p99Delta!)} ms**`),
    row("longest GC pause in those runs: no-op, validate", (p) => (small[p].gcMaxMs ? `${ms(small[p].gcMaxMs!.ping)} ms, ${ms(small[p].gcMaxMs!.validate)} ms` : "-")),
    row("same runs through ghz: no-op, validate p50 / p99", (p) => {
      const g = small[p].ghzFixed;
      return g ? `${lat(g.ping)}; ${lat(g.validate)} (ghz sent ${rps(g.validate)})` : "";
    }),
    row("validate p50 / p99 at 50% of validate capacity", (p) => `${lat(small[p].validateRef)} at ${small[p].refRps}/s`),
    row("cold-key p50 / p99 (each key once)", (p) => `${lat(small[p].cold)} (${small[p].cold.count} keys at ${small[p].cold.rate}/s${small[p].cold.errors ? `, ${small[p].cold.errors} failed` : ""})`),
  ];
  for (const big of rest) {
    out.push(
      `| **${k(big.keys)} keys** | | |`,
      row("no-op / validate throughput", (p) => `${rps(big[p].pingThr)} / ${rps(big[p].validateThr)}`),
      row("validate / no-op throughput", (p) => `${x(big[p].thrRatio)} (rounds ${spread(big[p].thrRatios)})`),
      row(`**validate throughput vs ${k(small.keys)} keys** (normalised by each no-op; raw)`, (p) => `**${x(scaleThr(big, small, p))}**; ${x(big[p].validateThr.rps / small[p].validateThr.rps)}`),
      row(`validate p50 / p99 at ${k(small.keys)}'s reference rate`, (p) => `${lat(big[p].validateRef)} at ${big[p].refRps}/s`),
      row(`**validate p99 vs ${k(small.keys)} keys**`, (p) => `**${x(scaleP99(big, small, p))}**`),
      row("cold-key p50 / p99", (p) => `${lat(big[p].cold)} (${big[p].cold.count} keys at ${big[p].cold.rate}/s${big[p].cold.errors ? `, ${big[p].cold.errors} failed` : ""})`),
    );
    if (big.wide) out.push(`| gRPC validate over all ${k(big.wide.keys)} cached keys | ${rps(big.wide)}, ${x(big.wide.ratio)} no-op | |`);
    if (big.memory) {
      const m = big.memory;
      out.push(
        `| resident memory per cached key (slope over 4 steps) | ${m.bytesPerKey.toFixed(0)} B; V8 old space ${m.oldSpaceBytesPerKey.toFixed(0)} B (RSS ${(m.rssBefore / 1048576).toFixed(0)} → ${(m.rssAfter / 1048576).toFixed(0)} MiB over ${k(m.keys)} keys) | |`,
      );
    }
  }
  const warnings = s.scales.flatMap((sc) => sc.warnings.map((w) => `- ${k(sc.keys)} keys: ${w}`));
  return [...out, "", ...(warnings.length ? ["Warnings:", "", ...warnings, ""] : [])];
}

export function renderMarkdown(r: BenchReport): string {
  const st = r.settings;
  const lines = [
    `## Flux API Keys benchmark — ${r.startedAt}`,
    "",
    `${r.machine.cpus} × ${r.machine.cpu}, Node ${r.machine.node}; server pinned to core 0; load generators and FerretDB on core 1; ` +
      `${r.machine.priority}; load average at start ${r.machine.loadavg.map((l) => l.toFixed(1)).join(" ")}. ` +
      `Saturated: ${st.concurrency} concurrent calls on one h2c connection from bench/connect-load, no-op and validate alternating ` +
      `${st.rounds} × ${st.roundS} s (medians). Fixed rates: ${st.durationS} s open loop (latency from each call's scheduled start). ` +
      `gRPC cold keys through ghz. Key cache ${st.cacheSize}; every key rate-limited (1e9 per 60 s) and its usage counted.` +
      (st.serverNodeOptions ? ` Server NODE_OPTIONS: \`${st.serverNodeOptions}\`.` : ""),
    "",
  ];
  for (const [store, s] of Object.entries(r.stores)) lines.push(...storeTable(store, s!));
  if (r.connectBare?.length) {
    lines.push("| Connect, cache-hot validate vs bare node:http(2) | bare (JSON) | Flux validate | ratio (rounds) | load core busy (bare / Flux) |", "| --- | --- | --- | --- | --- |");
    for (const c of r.connectBare) {
      const busy = (v: number | undefined) => (v === undefined ? "?" : `${Math.round(v * 100)}%`);
      lines.push(`| ${c.variant} | ${rps(c.bare)} | ${rps(c.flux)} | **${x(c.ratio)}** (${c.ratios.map((v) => v.toFixed(2)).join(" ")}) | ${busy(c.bare.loadCoreBusy)} / ${busy(c.flux.loadCoreBusy)} |`);
    }
    lines.push("");
  }
  if (r.bare) {
    lines.push(`Bare @grpc/grpc-js Ping server ${rps(r.bare)} vs Flux gRPC no-op ${rps(r.bare.flux)}, alternating: Flux = **${x(r.bare.ratio)}** (rounds ${spread(r.bare.ratios)}; by server CPU per call ${x(r.bare.cpuRatio ?? NaN)}).`, "");
    const z = r.bare.sized;
    if (z) {
      lines.push(
        `Goal 2's floor: the bare server answering ValidateApiKey with a fixed 70-byte answer (validate's message sizes, no work) ` +
          `${Math.round(z.rps).toLocaleString("en")}/s vs its own Ping, alternating: **${x(z.ratio)}** (rounds ${spread(z.ratios)}; by server CPU per call ${x(z.cpuRatio ?? NaN)}).`,
        "",
      );
    }
    const f = r.bareFixed;
    if (f) {
      const each = (rs: FloorRun[], k: "p99Ms" | "gcMaxMs") => rs.map((v) => ms(v[k])).join(", ");
      lines.push(
        `Goal 3's floor, both at ${f.rps.toLocaleString("en")}/s (half the bare server's capacity), alternating: bare grpc-js p99 ${each(f.bare, "p99Ms")} ms, ` +
          `longest GC pause ${each(f.bare, "gcMaxMs")} ms; Flux no-op p99 ${each(f.flux, "p99Ms")} ms, longest GC pause ${each(f.flux, "gcMaxMs")} ms.`,
        "",
      );
    }
  }
  if (r.workers) {
    lines.push(`### Goal 5: several cores (embedded store, ${r.workers.hotKeys} hot keys of ${r.workers.keys}, ${r.workers.roundS} s rounds, nothing pinned; the load generator shares the cores)`, "");
    for (const v of r.workers.variants) lines.push(`- ${describeWorkers(v)}`);
    lines.push("");
  }
  if (r.local) lines.push(...renderLocal(r.local));
  lines.push("### Targets", "", "| target | where | measured | met |", "| --- | --- | --- | --- |");
  for (const t of r.targets ?? []) lines.push(`| ${t.target} | ${t.where} | ${t.measured} | ${t.met ? "met" : "**not met**"} |`);
  return lines.join("\n") + "\n";
}

export function writeReport(r: BenchReport, dir: string): { markdown: string; files: string[] } {
  r.targets = targets(r);
  const markdown = renderMarkdown(r);
  mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/[:.]/g, "-");
  const files = [`${stamp}.json`, `${stamp}.md`, "latest.json", "latest.md"].map((f) => path.join(dir, f));
  for (const f of files) writeFileSync(f, f.endsWith(".json") ? JSON.stringify(r, null, 2) + "\n" : markdown);
  return { markdown, files };
}
