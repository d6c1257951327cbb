// One server under test (one store, one key count). In order: the hot set into the cache and a warm-up; cold keys
// (each validated once, so each reads the store); per protocol the no-op and validate saturated (interleaved
// rounds), then at fixed rates; last, resident memory per cached key.
import { type BodyFiles, interleaved, type LoadResult, type Loader, measured, median } from "./load.js";
import { nonValidCount, rssBytes, scrape, sleep, type Target } from "./proc.js";

export type Protocol = "grpc" | "connect";
export const PROTOCOLS: Protocol[] = ["grpc", "connect"];

export interface ProtocolResult {
  /** Saturated, interleaved over rounds: the median rounds, and validate/no-op per round and its median. */
  pingThr: LoadResult;
  validateThr: LoadResult;
  thrRatios: number[];
  thrRatio: number;
  /** The same by server CPU per call (load.ts › Interleaved.cpuRatio). */
  cpuRatio?: number;
  /** Baseline key count only: both RPCs at half the no-op capacity, alternating over rounds; the median-p99 runs. */
  fixedRps?: number;
  pingFixed?: LoadResult;
  validateFixed?: LoadResult;
  /** validate p99 − no-op p99 per round (adjacent runs), and their median: what goal 3 compares. */
  p99Deltas?: number[];
  p99Delta?: number;
  /** Highest steal on the server core over each round's two runs (a stalled VM shows up as a tail of its own). */
  fixedSteal?: number[];
  /** Longest GC pause of the server over the fixed-rate runs of each RPC (flux_gc_pause_max_seconds), ms. */
  gcMaxMs?: { ping: number; validate: number };
  /** Validate at half the baseline's validate capacity: the same rate at every key count, compared across them. */
  refRps: number;
  validateRef: LoadResult;
  cold: LoadResult & { rate: number };
  /** gRPC baseline only: the fixed-rate runs again through ghz. */
  ghzFixed?: { ping: LoadResult; validate: LoadResult };
}

export interface ScaleResult {
  keys: number;
  hotKeys: number;
  /** Mean latency of a lone cold validate (gRPC, concurrency 1), which sets the cold-key rate. */
  coldProbeMs: number;
  grpc: ProtocolResult;
  connect: ProtocolResult;
  memory?: { keys: number; rssBefore: number; rssAfter: number; bytesPerKey: number; oldSpaceBytesPerKey: number };
  /** gRPC validate round-robin over every cached key (after the memory step), against the no-op. */
  wide?: LoadResult & { keys: number; ratio: number };
  warnings: string[];
}

export interface ScenarioOptions {
  rounds: number;
  roundS: number;
  durationS: number;
  warmS: number;
  concurrency: number;
  hotKeys: number;
  /** The baseline key count: also the fixed-rate runs at half the no-op capacity, and the ghz cross-check. */
  baseline: boolean;
  refRps?: Record<Protocol, number>;
  memoryKeys: number;
  cacheSize: number;
}

export async function runScenario(
  target: Target,
  loaders: Record<Protocol | "ghz", Loader>,
  secrets: string[],
  files: BodyFiles,
  o: ScenarioOptions,
  log: (s: string) => void,
): Promise<ScaleResult> {
  const warnings: string[] = [];
  const check = (what: string, r: LoadResult) => {
    const pct = (v: number) => `${(v * 100).toFixed(0)}%`;
    if (r.errors) warnings.push(`${what}: ${r.errors} calls failed`);
    if (what.endsWith("saturated") && r.serverCoreBusy !== undefined && r.serverCoreBusy - (r.serverCpu ?? 0) > 0.1) {
      warnings.push(`${what}: other processes took ${pct(r.serverCoreBusy - r.serverCpu!)} of the server's core`);
    }
    if (r.serverCpu !== undefined && what.endsWith("saturated") && r.serverCpu < 0.9) {
      warnings.push(`${what}: the server used only ${pct(r.serverCpu)} of its core`);
    }
    return r;
  };
  const base = { concurrency: o.concurrency, durationS: o.durationS };
  const grpc = loaders.grpc;

  const hot = secrets.slice(0, Math.min(o.hotKeys, Math.floor(secrets.length / 2)));
  const hotFile = files.write(hot);
  check("warm hot set", await grpc({ method: "validate", bodies: hotFile, concurrency: 10, durationS: 300, total: hot.length }));
  for (const p of PROTOCOLS) {
    await loaders[p]({ method: "ping", ...base, durationS: o.warmS });
    await loaders[p]({ method: "validate", bodies: hotFile, ...base, durationS: o.warmS });
  }

  // Cold keys at random from the rest, at most 30% of what one reader of the store sustains (and 100/s).
  const rest = shuffled(secrets.slice(hot.length));
  const probe = await loaders.ghz({ method: "validate", bodies: files.write(rest.slice(0, 5)), concurrency: 1, durationS: 10, total: 5 });
  const coldProbeMs = probe.meanMs;
  const rate = probe.errors || !(coldProbeMs > 0) ? 1 : Math.max(1, Math.min(100, Math.floor(300 / coldProbeMs)));
  const perProtocol = Math.min(Math.max(10, Math.round(rate * o.durationS)), Math.floor((rest.length - 5) / 2));
  const cold = {} as Record<Protocol, LoadResult & { rate: number }>;
  let used = 5;
  for (const p of PROTOCOLS) {
    const keys = rest.slice(used, (used += perProtocol));
    const load = loaders[p === "grpc" ? "ghz" : p];
    const r = await measured(target, () => load({ method: "validate", bodies: files.write(keys), concurrency: 10, durationS: o.durationS, rps: rate, total: keys.length }));
    cold[p] = { ...check(`${p} cold`, r), rate };
    log(`  ${p} cold: ${keys.length} keys at ${rate}/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms`);
  }

  const nonValidBefore = await nonValidCount(target.httpPort!);
  const missesBefore = (await scrape(target.httpPort!)).get("flux_key_cache_misses_total") ?? 0;
  const out = {} as Record<Protocol, ProtocolResult>;
  for (const p of PROTOCOLS) {
    const load = loaders[p];
    const round = { ...base, durationS: o.roundS };
    const thr = await interleaved(
      [target, () => load({ method: "ping", ...round })],
      [target, () => load({ method: "validate", bodies: hotFile, ...round })],
      o.rounds,
    );
    check(`${p} no-op saturated`, thr.a);
    check(`${p} validate saturated`, thr.b);
    const r: ProtocolResult = {
      pingThr: thr.a,
      validateThr: thr.b,
      thrRatios: thr.ratios,
      thrRatio: thr.ratio,
      cpuRatio: thr.cpuRatio,
      refRps: Math.round(o.refRps?.[p] ?? thr.b.rps / 2),
      validateRef: undefined as never,
      cold: cold[p],
    };
    if (o.baseline) {
      r.fixedRps = Math.round(thr.a.rps / 2);
      Object.assign(r, await fixedRounds(target, p, check, () => load({ method: "ping", ...base, rps: r.fixedRps }), () => load({ method: "validate", bodies: hotFile, ...base, rps: r.fixedRps }), o.rounds));
    }
    r.validateRef = check(`${p} validate ref`, await measured(target, () => load({ method: "validate", bodies: hotFile, ...base, rps: r.refRps })));
    if (p === "grpc" && o.baseline) {
      const ghzRun = { ...base, durationS: Math.min(3, o.durationS), rps: r.fixedRps };
      r.ghzFixed = {
        ping: await measured(target, () => loaders.ghz({ method: "ping", ...ghzRun })),
        validate: await measured(target, () => loaders.ghz({ method: "validate", bodies: hotFile, ...ghzRun })),
      };
    }
    out[p] = r;
    log(
      `  ${p}: no-op ${Math.round(thr.a.rps)}/s, validate ${Math.round(thr.b.rps)}/s, ratio ×${thr.ratio.toFixed(2)} (rounds ${thr.ratios.map((x) => x.toFixed(2)).join(" ")}; by server CPU per call ×${thr.cpuRatio.toFixed(2)})` +
        (r.validateFixed ? `; at ${r.fixedRps}/s p99 no-op ${r.pingFixed!.p99Ms.toFixed(2)} ms, validate ${r.validateFixed.p99Ms.toFixed(2)} ms, difference ${r.p99Delta!.toFixed(2)} ms (rounds ${r.p99Deltas!.map((x) => x.toFixed(2)).join(" ")}; host steal ${r.fixedSteal!.map((x) => `${(x * 100).toFixed(1)}%`).join(" ")}), longest GC pause ${r.gcMaxMs!.validate.toFixed(1)} ms` : "") +
        `; validate at ${r.refRps}/s p99 ${r.validateRef.p99Ms.toFixed(2)} ms`,
    );
  }
  const nonValid = (await nonValidCount(target.httpPort!)) - nonValidBefore;
  if (nonValid) warnings.push(`${nonValid} hot validations were not VALID`);
  const misses = ((await scrape(target.httpPort!)).get("flux_key_cache_misses_total") ?? 0) - missesBefore;
  if (misses) warnings.push(`${misses} cache misses during the cache-hot runs (cache bypassed while the change feed was stale?)`);

  const result: ScaleResult = { keys: secrets.length, hotKeys: hot.length, coldProbeMs, grpc: out.grpc, connect: out.connect, warnings };
  if (o.memoryKeys > 0) {
    // Keys into the cache in steps; bytes per key = slope of resident memory (and of V8's old space) over entries.
    const points: { entries: number; rss: number; old: number }[] = [];
    const sample = async () => {
      await sleep(1500); // a usage flush and some GC
      const m = await scrape(target.httpPort!);
      points.push({ entries: m.get("flux_key_cache_entries") ?? 0, rss: rssBytes(target.pid), old: m.get('nodejs_heap_space_size_used_bytes{space="old"}') ?? NaN });
    };
    await sample();
    const fresh = rest.slice(used, used + Math.min(o.memoryKeys, o.cacheSize - points[0]!.entries));
    const step = Math.ceil(fresh.length / 4);
    for (let i = 0; i < fresh.length; i += step) {
      check("memory warm", await grpc({ method: "validate", bodies: files.write(fresh.slice(i, i + step)), ...base, durationS: 300, total: Math.min(step, fresh.length - i) }));
      await sample();
    }
    const first = points[0]!;
    const last = points.at(-1)!;
    result.memory = {
      keys: last.entries - first.entries,
      rssBefore: first.rss,
      rssAfter: last.rss,
      bytesPerKey: slope(points.map((p) => [p.entries, p.rss])),
      oldSpaceBytesPerKey: slope(points.map((p) => [p.entries, p.old])),
    };
    log(`  memory: ${result.memory.keys} more keys cached, RSS +${((last.rss - first.rss) / 1048576).toFixed(1)} MiB; ${result.memory.bytesPerKey.toFixed(0)} B/key resident, ${result.memory.oldSpaceBytesPerKey.toFixed(0)} B/key V8 old space`);
    const all = files.write([...hot, ...fresh]);
    const round = { ...base, durationS: o.roundS };
    const w = await interleaved([target, () => grpc({ method: "ping", ...round })], [target, () => grpc({ method: "validate", bodies: all, ...round })], o.rounds);
    result.wide = { ...check("grpc validate wide saturated", w.b), keys: hot.length + fresh.length, ratio: w.ratio };
    log(`  gRPC validate over ${hot.length + fresh.length} cached keys: ${Math.round(w.b.rps)}/s, ×${w.ratio.toFixed(2)} no-op`);
  }
  return result;
}

/** Least-squares slope of y over x. */
function slope(xy: number[][]): number {
  const n = xy.length;
  const mx = xy.reduce((s, [x]) => s + x!, 0) / n;
  const my = xy.reduce((s, [, y]) => s + y!, 0) / n;
  const sxy = xy.reduce((s, [x, y]) => s + (x! - mx) * (y! - my), 0);
  const sxx = xy.reduce((s, [x]) => s + (x! - mx) ** 2, 0);
  return sxy / sxx;
}

function shuffled<T>(a: T[]): T[] {
  const out = a.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Both RPCs at one fixed rate, alternating round by round like the saturated runs: a stall of the host lands in
 * one round, not in one side's only run. Per round the p99 difference; per RPC its median-p99 run and longest GC pause.
 */
async function fixedRounds(target: Target, p: Protocol, check: (what: string, r: LoadResult) => LoadResult, ping: () => Promise<LoadResult>, validate: () => Promise<LoadResult>, rounds: number) {
  const gcMaxMs = target.gcMaxMs!; // each read resets it
  const pings: LoadResult[] = [];
  const validates: LoadResult[] = [];
  const gc = { ping: 0, validate: 0 };
  await gcMaxMs();
  for (let i = 0; i < rounds; i++) {
    pings.push(check(`${p} no-op fixed`, await measured(target, ping)));
    gc.ping = Math.max(gc.ping, await gcMaxMs());
    validates.push(check(`${p} validate fixed`, await measured(target, validate)));
    gc.validate = Math.max(gc.validate, await gcMaxMs());
  }
  const mid = (rs: LoadResult[]) => [...rs].sort((x, y) => x.p99Ms - y.p99Ms)[Math.floor(rs.length / 2)]!;
  const p99Deltas = validates.map((v, i) => v.p99Ms - pings[i]!.p99Ms);
  const fixedSteal = validates.map((v, i) => Math.max(v.serverCoreSteal ?? NaN, pings[i]!.serverCoreSteal ?? NaN));
  return { pingFixed: mid(pings), validateFixed: mid(validates), p99Deltas, p99Delta: median(p99Deltas), fixedSteal, gcMaxMs: gc };
}
