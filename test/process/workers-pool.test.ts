// `serve` with FLUX_WORKERS=2: one primary owns the data directory (a second `serve` and the admin-keys commands are
// still refused), two workers share the ports, a worker that dies is restarted, and SIGTERM drains every worker
// (exit 0, usage exact, the directory free for the next owner). On MongoDB each worker is simply a replica.
import Database from "better-sqlite3";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { type Caller, connectCaller, retryUnavailable } from "../support/callers.js";
import { randomAdminKey, startProcess } from "../support/processes.js";
import { mongoUri, uniqueDbName } from "../support/stores.js";
import { childPids, newDataDir } from "../support/worker-processes.js";

const BIN = join(import.meta.dirname, "../../bin/flux-apikeys.mjs");
const dirs: string[] = [];
const dir = () => (dirs.push(newDataDir("flux-pool-")), dirs.at(-1)!);
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function cli(env: Record<string, string>, ...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, FLUX_GRPC_ADDR: "127.0.0.1:0", FLUX_HTTP_ADDR: "127.0.0.1:0", FLUX_LOG_LEVEL: "warn", ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The workers' heartbeat records (ReplicaSync) in the data directory. */
function replicaIds(dir: string): string[] {
  const db = new Database(join(dir, "flux.sqlite"), { readonly: true });
  try {
    return (db.prepare("SELECT replica_id AS id FROM replicas").all() as { id: string }[]).map((r) => r.id);
  } finally {
    db.close();
  }
}

/** Many HTTP/1.1 connections at once: node:cluster hands them to both workers. */
const callers = (port: number, n: number): Caller[] => Array.from({ length: n }, () => connectCaller(port));

describe("serve with FLUX_WORKERS=2", () => {
  it("serves from two workers behind one pair of ports, keeps one limit over both, and refuses a second owner", { timeout: 90_000 }, async () => {
    const d = dir();
    const admin = randomAdminKey();
    const pool = await startProcess({ FLUX_DATA_DIR: d, FLUX_ADMIN_KEY: admin, FLUX_WORKERS: "2" });
    const cs = callers(pool.httpPort, 8);
    try {
      expect(pool.output().match(/is serving/g)).toHaveLength(1);
      expect(pool.output()).toContain("2 worker processes");
      expect(childPids(pool.pid)).toHaveLength(2);
      const L = 20;
      const { secret } = await pool.callers[0]!.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "pool limit", rateLimit: { requests: L, windowSeconds: 600 } }, admin);
      const outcomes = await Promise.all(Array.from({ length: 20 * L }, (_, i) => retryUnavailable(() => cs[i % cs.length]!.call(ApiKeyService, "validateApiKey", { key: secret }, admin))));
      expect(outcomes.filter((r) => r.outcome === Outcome.VALID)).toHaveLength(L);
      // Whichever worker a scrape reaches answers for both: the counts add up to every call made.
      for (let scrape = 0; scrape < 4; scrape++) {
        const text = await (await fetch(`http://127.0.0.1:${pool.httpPort}/metrics`)).text();
        const count = (outcome: string) => Number(new RegExp(`^flux_validations_total\\{outcome="${outcome}"\\} (\\d+)`, "m").exec(text)?.[1]);
        expect([count("VALID"), count("RATE_LIMITED")]).toEqual([L, 19 * L]);
      }

      const second = cli({ FLUX_DATA_DIR: d, FLUX_ADMIN_KEY: randomAdminKey(), FLUX_WORKERS: "2" }, "serve");
      expect(second.status, second.stderr).toBe(1);
      expect(second.stderr.trim().split("\n")).toHaveLength(1);
      expect(second.stderr).toMatch(/in use by another process/);
      const single = cli({ FLUX_DATA_DIR: d, FLUX_ADMIN_KEY: randomAdminKey() }, "serve");
      expect(single.status, single.stderr).toBe(1);
      const list = cli({ FLUX_DATA_DIR: d }, "admin-keys", "list");
      expect(list.status).toBe(1);
      expect(list.stderr).toMatch(/in use by another process/);
    } finally {
      cs.forEach((c) => c.close());
      expect(await pool.stop()).toBe(0);
    }
  });

  it("restarts a worker killed with SIGKILL; SIGTERM drains every worker with usage exact and frees the directory", { timeout: 90_000 }, async () => {
    const d = dir();
    const admin = randomAdminKey();
    const pool = await startProcess({ FLUX_DATA_DIR: d, FLUX_ADMIN_KEY: admin, FLUX_WORKERS: "2", FLUX_USAGE_FLUSH_MS: "1000" });
    const created = await pool.callers[0]!.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "pool usage" }, admin);
    const before = childPids(pool.pid);
    expect(before).toHaveLength(2);
    await expect.poll(() => replicaIds(d).length, { timeout: 10_000, interval: 50 }).toBe(2);
    const beforeIds = replicaIds(d);
    process.kill(before[0]!, "SIGKILL");
    await expect.poll(() => childPids(pool.pid).filter((p) => p !== before[0]).length, { timeout: 30_000, interval: 100 }).toBe(2);
    const workers = childPids(pool.pid).filter((p) => p !== before[0]);
    expect(workers).toContain(before[1]);
    // The dead worker's heartbeat record went with it: once the new worker beats, two records, not three.
    await expect.poll(() => replicaIds(d).some((id) => !beforeIds.includes(id)), { timeout: 30_000, interval: 100 }).toBe(true);
    expect(replicaIds(d)).toHaveLength(2);
    const t0 = performance.now();
    await pool.callers[0]!.call(ApiKeyService, "updateApiKey", { apiKey: { id: created.apiKey!.id, name: "renamed" }, updateMask: { paths: ["name"] } }, admin);
    console.log(`[workers] a change right after a worker's SIGKILL and restart returned in ${Math.round(performance.now() - t0)} ms`);

    // Counted from here: traffic over many connections, so both workers (the restarted one too) answer some.
    const cs = callers(pool.httpPort, 8);
    const N = 400;
    const answers = await Promise.all(Array.from({ length: N }, (_, i) => retryUnavailable(() => cs[i % cs.length]!.call(ApiKeyService, "validateApiKey", { key: created.secret }, admin))));
    expect(answers.every((a) => a.outcome === Outcome.VALID)).toBe(true);
    cs.forEach((c) => c.close());
    expect(await pool.stop(), pool.output()).toBe(0); // every worker flushed its usage and leases before the primary left
    expect(workers.filter(alive)).toEqual([]);

    const next = await startProcess({ FLUX_DATA_DIR: d, FLUX_ADMIN_KEY: admin }); // the lock went with the primary
    try {
      const u = await next.callers[0]!.call(ApiKeyService, "getApiKeyUsage", { id: created.apiKey!.id }, admin);
      expect(u.requestsCurrentPeriod).toBe(BigInt(N));
    } finally {
      expect(await next.stop()).toBe(0);
    }
  });
  it("on MongoDB: each worker is a replica; one bootstrap admin key, one limit over both", { timeout: 90_000 }, async () => {
    const pool = await startProcess({ FLUX_MONGODB_URI: mongoUri(), FLUX_MONGODB_DB: uniqueDbName("pool"), FLUX_WORKERS: "2" });
    const admin = /Bootstrap admin key[^:]*: (\S+)/.exec(pool.output())?.[1];
    const cs = callers(pool.httpPort, 8);
    try {
      expect(pool.output().match(/Bootstrap admin key/g)).toHaveLength(1);
      expect(childPids(pool.pid)).toHaveLength(2);
      const L = 20;
      const { secret } = await retryUnavailable(() => pool.callers[0]!.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "mongo pool", rateLimit: { requests: L, windowSeconds: 600 } }, admin));
      const outcomes = await Promise.all(Array.from({ length: 10 * L }, (_, i) => retryUnavailable(() => cs[i % cs.length]!.call(ApiKeyService, "validateApiKey", { key: secret }, admin))));
      expect(outcomes.filter((r) => r.outcome === Outcome.VALID)).toHaveLength(L);
    } finally {
      cs.forEach((c) => c.close());
      expect(await pool.stop(), pool.output()).toBe(0);
    }
  });
});
