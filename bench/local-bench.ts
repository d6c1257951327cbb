// `npm run bench` for local validators (issue 16): each SDK's local validate per second on one thread (its agent's
// `bench` op) beside the RPC's cache-hot validate per core on the same server, and RevokeApiKey's p50 / p99 with 3
// validators connected (one per SDK where available), each checked to refuse the key once the RPC has returned.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Flux } from "../clients/ts/src/node.js";
import { Agent, AGENT_SDKS, prepareAgent, type Sdk } from "../test/support/local-agents.js";
import { goLoader } from "./connect.js";
import { type BodyFiles, measured } from "./load.js";
import { LOAD_CORE, pin, startFlux } from "./proc.js";
import { seedKeys } from "./seed.js";

export interface LocalBenchReport {
  /** The RPC: gRPC ValidateApiKey saturated on the server's one core, cache-hot, per core (rps / server CPU share). */
  rpcPerCore: number;
  rpcRps: number;
  rpcServerCpu: number;
  /** perS / ratio: a key rate-limited like the RPC's (points from leases); plainPerS: a key without limits. */
  sdks: { sdk: Sdk; perS: number; ratio: number; plainPerS: number; plainRatio: number }[];
  revoke: { validators: string[]; count: number; p50Ms: number; p99Ms: number; baselineP50Ms: number; baselineP99Ms: number; refusedEverywhere: boolean };
  /** The goal: local ≥ 100× the RPC per core in every SDK. */
  goal: number;
  notes: string[];
}

const GOAL = 100;
const pctl = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

export async function runLocalBench(o: { goBin: string; adminKey: string; files: BodyFiles; quick: boolean; log: (s: string) => void }): Promise<LocalBenchReport> {
  const { log } = o;
  const notes: string[] = [];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "flux-bench-local-"));
  const clients: Flux[] = [];
  const agents: Agent[] = [];
  try {
    // Keys as the RPC bench's: a rate limit of 1e9 per 60 s, so the validators spend leased points on every call.
    const secrets = await seedKeys({ kind: "embedded", dataDir }, 1_000);
    const server = await startFlux({ FLUX_ADMIN_KEY: o.adminKey, FLUX_DATA_DIR: dataDir });
    try {
      const url = `http://127.0.0.1:${server.grpcPort}`;
      const admin = Flux.init(o.adminKey, { url });
      clients.push(admin);
      const durationS = o.quick ? 2 : 4;
      const hot = o.files.write(secrets.slice(0, 500));
      const load = goLoader(o.goBin, server, o.adminKey, "grpc");
      await load({ method: "validate", bodies: hot, concurrency: 50, durationS: 1 }); // warm the cache
      // The RPC is measured before and after the local runs and averaged: this machine's speed drifts between runs.
      const rpcRun = async () => {
        const r = await measured(server, () => load({ method: "validate", bodies: hot, concurrency: 50, durationS }));
        const cpu = r.serverCpu ?? 1;
        return { rps: r.rps, cpu, perCore: cpu > 0.2 && cpu <= 1 ? r.rps / cpu : r.rps };
      };
      const rpcBefore = await rpcRun();
      log(`  RPC: gRPC validate (cache-hot) ${Math.round(rpcBefore.rps)}/s at ${Math.round(rpcBefore.cpu * 100)}% of the server's core: ${Math.round(rpcBefore.perCore)}/s per core`);

      // RevokeApiKey without validators first: the reference for the same calls with 3 connected.
      const n = o.quick ? 20 : 50;
      const baseline = await revokeTimes(admin, await createKeys(admin, n), []);
      const revokeKeys = await createKeys(admin, n);

      const { secret: validatorKey } = await admin.raw.adminKeys.createAdminKey({ name: "bench validators", localValidation: true, validateOnly: true });
      const sdks: Sdk[] = [...AGENT_SDKS];
      const fleet: Sdk[] = [...sdks];
      while (fleet.length < 3) fleet.push("ts");
      process.env.FLUX_RUST_AGENT_PROFILE ??= "release"; // measure the Rust SDK as shipped, not the tests' debug build
      for (const sdk of new Set(fleet)) await prepareAgent(sdk);
      for (const sdk of fleet) {
        const a = await Agent.start(sdk, { url, adminKey: validatorKey });
        pin(a.child.pid!, LOAD_CORE);
        agents.push(a);
      }
      if (fleet.length > sdks.length) notes.push(`validators for the Revoke timing: ${fleet.join(", ")} (no launcher for the other SDKs)`);

      const results: LocalBenchReport["sdks"] = [];
      const limited = secrets[0]!;
      const plain = (await admin.apiKeys.create({ orgId: "bench", name: "no limits" })).secret;
      const perS = async (sdk: Sdk, a: Agent, key: string, what: string) => {
        const probe = await a.validate(key);
        if (!probe.valid || !probe.local) notes.push(`${sdk}, ${what}: the key was not answered locally (${JSON.stringify(probe)}): not a local figure`);
        await a.bench(key, 300); // warm-up (JIT, leases)
        return (await a.bench(key, o.quick ? 1000 : 3000)).per_s;
      };
      for (const sdk of sdks) {
        const a = agents[fleet.indexOf(sdk)]!;
        const r = await perS(sdk, a, limited, "rate-limited key");
        const p = await perS(sdk, a, plain, "key without limits");
        results.push({ sdk, perS: r, ratio: 0, plainPerS: p, plainRatio: 0 });
        log(`  ${sdk} local validate on one thread: ${Math.round(r)}/s (rate-limited key), ${Math.round(p)}/s (no limits)`);
      }
      const rpcAfter = await rpcRun();
      const rpcPerCore = (rpcBefore.perCore + rpcAfter.perCore) / 2;
      const rpc = { rps: (rpcBefore.rps + rpcAfter.rps) / 2 };
      const cpu = (rpcBefore.cpu + rpcAfter.cpu) / 2;
      log(`  RPC again: ${Math.round(rpcAfter.rps)}/s at ${Math.round(rpcAfter.cpu * 100)}%: ${Math.round(rpcAfter.perCore)}/s per core; mean ${Math.round(rpcPerCore)}/s per core`);
      notes.push(`RPC per core before / after the local runs: ${Math.round(rpcBefore.perCore)} / ${Math.round(rpcAfter.perCore)}/s (the ratios use the mean)`);
      for (const x of results) {
        x.ratio = x.perS / rpcPerCore;
        x.plainRatio = x.plainPerS / rpcPerCore;
        log(`  ${x.sdk}: ×${x.ratio.toFixed(0)} (rate-limited key) / ×${x.plainRatio.toFixed(0)} (no limits) the RPC per core (goal ≥ ${GOAL}×)`);
      }

      const run = await revokeTimes(admin, revokeKeys, agents);
      const revoke = {
        count: run.ms.length,
        p50Ms: pctl(run.ms, 50),
        p99Ms: pctl(run.ms, 99),
        baselineP50Ms: pctl(baseline.ms, 50),
        baselineP99Ms: pctl(baseline.ms, 99),
        refusedEverywhere: run.everywhere,
      };
      log(
        `  RevokeApiKey with ${agents.length} validators (${fleet.join(", ")}): p50 ${revoke.p50Ms.toFixed(1)} ms, p99 ${revoke.p99Ms.toFixed(1)} ms over ${revoke.count}` +
          ` (without validators ${revoke.baselineP50Ms.toFixed(1)} / ${revoke.baselineP99Ms.toFixed(1)} ms); every validator refused each key once it returned: ${revoke.refusedEverywhere}`,
      );
      return { rpcPerCore, rpcRps: rpc.rps, rpcServerCpu: cpu, sdks: results, revoke: { validators: fleet, ...revoke }, goal: GOAL, notes };
    } finally {
      for (const a of agents) await a.close().catch(() => a.kill());
      for (const c of clients) c.close();
      await server.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

type Created = Awaited<ReturnType<Flux["apiKeys"]["create"]>>;

async function createKeys(admin: Flux, n: number): Promise<Created[]> {
  const keys: Created[] = [];
  for (let i = 0; i < n; i++) keys.push(await admin.apiKeys.create({ orgId: "bench-revoke", name: `revoke ${i}` }));
  return keys;
}

/**
 * RevokeApiKey's duration per key, one call at a time; with `agents`, each must refuse the key (REVOKED, locally)
 * right after the call returned — the time from the call's start to every validator refusing is at most the call's.
 */
async function revokeTimes(admin: Flux, keys: Created[], agents: Agent[]) {
  const ms: number[] = [];
  let everywhere = true;
  for (const k of keys) {
    const t0 = performance.now();
    await admin.apiKeys.revoke(k.id);
    ms.push(performance.now() - t0);
    for (const a of agents) {
      const r = await a.validate(k.secret);
      if (r.valid || r.outcome !== "REVOKED" || !r.local) everywhere = false;
    }
  }
  return { ms, everywhere };
}

/** The report's section: per SDK, local validate beside the RPC, and RevokeApiKey with validators connected. */
export function renderLocal(r: LocalBenchReport): string[] {
  const n = (v: number) => Math.round(v).toLocaleString("en");
  const lines = [
    "### Local validators (issue 16)",
    "",
    `RPC: gRPC ValidateApiKey, cache-hot, saturated (mean of a run before and one after the local runs): ${n(r.rpcRps)}/s at ${Math.round(r.rpcServerCpu * 100)}% of the server's core = **${n(r.rpcPerCore)}/s per core**.`,
    "",
    "| SDK | local validate per second, one thread: rate-limited key (as the RPC's) | × the RPC per core | key without limits | × | goal ≥ " + r.goal + "× |",
    "| --- | --- | --- | --- | --- | --- |",
    ...r.sdks.map((s) => `| ${s.sdk} | ${n(s.perS)}/s | **${s.ratio.toFixed(0)}×** | ${n(s.plainPerS)}/s | ${s.plainRatio.toFixed(0)}× | ${s.ratio >= r.goal ? "met" : "**not met**"} |`),
    "",
    `RevokeApiKey with ${r.revoke.validators.length} validators connected (${r.revoke.validators.join(", ")}), ${r.revoke.count} calls one at a time: ` +
      `p50 **${r.revoke.p50Ms.toFixed(1)} ms**, p99 **${r.revoke.p99Ms.toFixed(1)} ms** (no validator: ${r.revoke.baselineP50Ms.toFixed(1)} / ${r.revoke.baselineP99Ms.toFixed(1)} ms). ` +
      `Every validator refused each key once the call had returned: ${r.revoke.refusedEverywhere ? "yes" : "**no**"}, so a Revoke's start to every validator refusing is at most the call's duration.`,
    "",
    ...r.notes.map((x) => `- ${x}`),
    ...(r.notes.length ? [""] : []),
  ];
  return lines;
}
