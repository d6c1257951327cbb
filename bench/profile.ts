// `npm run bench -- --profile`: CPU profiles of the server (the inspector's sampler, see cpu-profile.cjs) while
// bench/connect-load drives one RPC over gRPC at a fixed rate — validate on cache-hot keys, the no-op, and the bare
// grpc-js server's no-op, each on a fresh server — counting only the samples of the measured run: CPU per call by
// component and by function.
// The .cpuprofile files stay in bench/results/profiles/ (open them in Chrome DevTools).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Loader } from "./load.js";
import { ROOT, startBareGrpc, startFlux, type Target } from "./proc.js";

/** Both RPCs at the same rate (below validate's capacity under the profiler), so per-call costs compare. */
const RATE = 3000;

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface Profile {
  nodes: { id: number; callFrame: Frame }[];
  samples: number[];
  timeDeltas: number[];
  wallStartMs: number;
}

function component(f: Frame): string {
  if (!f.url) return f.functionName.startsWith("(") ? f.functionName : "(native)";
  const m = f.url.lastIndexOf("/node_modules/");
  if (m >= 0) {
    const parts = f.url.slice(m + 14).split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (f.url.startsWith("node:internal/http2")) return "node:http2";
  if (f.url.startsWith("node:internal/crypto")) return "node:crypto";
  if (f.url.startsWith("node:")) return "node:(other)";
  return f.url.startsWith("file://") ? path.relative(ROOT, f.url.slice(7)) : f.url;
}

/** Self time within [fromMs, toMs] (wall clock), by component and by function, as shares of the busy (not idle) time. */
export function summarise(p: Profile, fromMs: number, toMs: number) {
  const frames = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const byComponent = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let t = p.wallStartMs * 1000;
  let total = 0;
  let idle = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (t < fromMs * 1000 || t > toMs * 1000) return;
    const f = frames.get(id)!;
    total += dt;
    if (f.functionName === "(idle)") return void (idle += dt);
    const c = component(f);
    byComponent.set(c, (byComponent.get(c) ?? 0) + dt);
    const fn = `${f.functionName || "(anonymous)"}${f.url ? ` ${c}:${f.lineNumber + 1}` : ""}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + dt);
  });
  const busyUs = total - idle;
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, us]) => ({ name, share: us / busyUs }));
  return { busyUs, busy: busyUs / total, components: top(byComponent, 100), functions: top(byFunction, 20) };
}

type Subject = "validate" | "ping" | "bare ping";

async function profileOne(env: Record<string, string>, subject: Subject, loader: (t: Target) => Loader, bodies: string, durationS: number) {
  const dir = path.join(ROOT, "bench/results/profiles", `${subject.replace(" ", "-")}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  mkdirSync(dir, { recursive: true });
  const profiling = { NODE_OPTIONS: `--require ${path.join(ROOT, "bench/cpu-profile.cjs")}`, FLUX_BENCH_CPU_PROF_DIR: dir };
  const server = subject === "bare ping" ? await startBareGrpc(profiling) : await startFlux({ ...env, ...profiling });
  const method = subject === "validate" ? "validate" : "ping";
  let from: number;
  let to: number;
  let r;
  try {
    const load = loader(server);
    if (subject !== "bare ping") await load({ method: "validate", bodies, concurrency: 10, durationS: 60, total: 1000 }); // fills the cache
    await load({ method, bodies, concurrency: 50, durationS: 2, rps: RATE });
    from = Date.now();
    r = await load({ method, bodies, concurrency: 50, durationS, rps: RATE });
    to = Date.now();
  } finally {
    await server.stop(); // the profile is written at exit
  }
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`the server wrote no .cpuprofile into ${dir}`);
  const s = summarise(JSON.parse(readFileSync(path.join(dir, file), "utf8")) as Profile, from + 200, to - 200);
  return { ...s, rps: r.rps, usPerCall: s.busyUs / (r.rps * (to - from - 400) / 1000), file: path.relative(ROOT, path.join(dir, file)) };
}

export async function runProfiles(env: Record<string, string>, loader: (t: Target) => Loader, bodies: string, durationS: number, log: (s: string) => void) {
  const v = await profileOne(env, "validate", loader, bodies, durationS);
  const p = await profileOne(env, "ping", loader, bodies, durationS);
  const b = await profileOne(env, "bare ping", loader, bodies, durationS);
  const us = (r: typeof v, name: string) => (r.components.find((c) => c.name === name)?.share ?? 0) * r.usPerCall;
  const names = [...new Set([...v.components, ...p.components, ...b.components].map((c) => c.name))].sort((x, y) => us(v, y) - us(v, x));
  const lines = [
    `## Server CPU per call (gRPC at ${RATE}/s each, sampled every 250 µs; the measured run only)`,
    "",
    `CPU per call: validate ${v.usPerCall.toFixed(0)} µs, no-op ${p.usPerCall.toFixed(0)} µs, bare grpc-js no-op ${b.usPerCall.toFixed(0)} µs ` +
      `(capacity ratios implied: validate/no-op ${(p.usPerCall / v.usPerCall).toFixed(2)}×, no-op/bare ${(b.usPerCall / p.usPerCall).toFixed(2)}×; profiling adds to all). ` +
      `Profiles: ${v.file}, ${p.file}, ${b.file}.`,
    "",
    "| component (self time), µs per call | validate | no-op | bare grpc-js no-op |",
    "| --- | ---: | ---: | ---: |",
  ];
  for (const n of names.filter((n) => Math.max(us(v, n), us(p, n), us(b, n)) >= 0.5)) {
    lines.push(`| \`${n}\` | ${us(v, n).toFixed(1)} | ${us(p, n).toFixed(1)} | ${us(b, n).toFixed(1)} |`);
  }
  lines.push("", "| validate: top functions (self) | µs/call | share |", "| --- | ---: | ---: |");
  for (const f of v.functions) lines.push(`| \`${f.name}\` | ${(f.share * v.usPerCall).toFixed(1)} | ${(f.share * 100).toFixed(1)}% |`);
  const md = lines.join("\n") + "\n";
  const out = path.join(ROOT, "bench/results/profile-latest.md");
  writeFileSync(out, md);
  log(`${md}\nwritten: ${path.relative(ROOT, out)}`);
}
