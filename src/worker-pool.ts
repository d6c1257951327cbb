// FLUX_WORKERS ≥ 2: the primary process. It owns the data directory (the owner lock, so a second `serve` or an
// `admin-keys` command is still refused), prepares the store, forks N workers (node:cluster: they share the gRPC and
// HTTP ports, the primary hands each new connection to the next worker), restarts a worker that dies, and on
// SIGTERM/SIGINT drains them all. The workers (main.ts `serve` with FLUX_WORKER_INDEX set) follow the replica rules.
import cluster, { type Worker } from "node:cluster";
import { mkdirSync } from "node:fs";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { openStores } from "./deps.js";
import { systemClock } from "./domain/clock.js";
import { createDigester } from "./domain/key-material.js";
import { AdminKeyService } from "./services/admin-key-service.js";
import { lockDataDir, type OwnerLock } from "./store/embedded/owner-lock.js";
import type { Stores } from "./store/types.js";
import { primaryAggregator, serveClusterMetrics } from "./worker-metrics.js";

/** What a worker tells the primary once it listens. */
export interface WorkerReady {
  type: "flux-worker-ready";
  grpcPort: number;
  httpPort: number;
  /** Its ReplicaSync's id: a worker that dies is removed from the heartbeats at once, so no change waits for it. */
  replicaId?: string;
}

export interface PoolStart {
  /** Lines of the banner, once every worker listens (ports filled in). */
  banner(grpcPort: number, httpPort: number, bootstrapSecret?: string): string;
  fail(message: string, code: number): never;
}

/** A worker that dies this soon after it started is restarted after a growing delay (100 ms doubling to 5 s). */
const QUICK_DEATH_MS = 10_000;

export async function runPrimary(config: Config, log: Logger, start: PoolStart): Promise<void> {
  let lock: OwnerLock | undefined;
  let secret: string | undefined;
  let stores: Stores | undefined;
  try {
    if (!config.FLUX_MONGODB_URI) {
      mkdirSync(config.FLUX_DATA_DIR, { recursive: true });
      lock = lockDataDir(config.FLUX_DATA_DIR);
    }
    stores = await openStores(config, { shared: "primary" });
    if (!config.FLUX_ADMIN_KEY) secret = await new AdminKeyService(stores.adminKeys, () => {}, systemClock, createDigester(config.FLUX_KEY_PEPPER)).bootstrapIfEmpty();
  } catch (err) {
    await stores?.close().catch(() => {});
    lock?.release();
    throw err;
  }
  // Kept open (embedded) to drop a dead worker's heartbeat record; MongoDB replicas wait out aliveMs instead.
  const heartbeats = stores.replicaParts?.changeLog;
  if (!heartbeats) await stores.close();

  const n = config.FLUX_WORKERS;
  const aggregator = primaryAggregator();
  const workers = new Map<number, Worker>();
  const delays = new Map<number, number>();
  let ready = 0;
  let serving = false;
  let stopping = false;
  let exitCode = 0;

  const fork = (index: number) => {
    const startedAt = performance.now();
    const w = cluster.fork({ FLUX_WORKER_INDEX: String(index) });
    workers.set(index, w);
    serveClusterMetrics(w, aggregator);
    let listening = false;
    let replicaId: string | undefined;
    w.on("message", (m: WorkerReady) => {
      if (m?.type !== "flux-worker-ready") return;
      listening = true;
      replicaId = m.replicaId;
      if (serving) return;
      if (++ready === n) {
        serving = true;
        process.stdout.write(start.banner(m.grpcPort, m.httpPort, secret));
      }
    });
    w.on("exit", (code, signal) => {
      workers.delete(index);
      if (stopping) {
        // A worker still loading its code when the drain began dies of the signal: it had served nothing.
        if (code !== 0 && (listening || signal !== "SIGTERM")) {
          exitCode = 1;
          log.error({ worker: index, code, signal }, "worker did not stop cleanly");
        }
        if (workers.size === 0) finish();
        return;
      }
      if (!serving) {
        // A worker that cannot start (the port is taken, the store cannot open) said why on stderr: stop them all.
        stopping = true;
        exitCode = 1;
        for (const other of workers.values()) other.process.kill("SIGTERM");
        if (workers.size === 0) finish();
        return;
      }
      // Its process is gone, and its cache with it: changes need not wait aliveMs for its heartbeat to stop.
      if (replicaId) void heartbeats?.leave(replicaId).catch(() => {});
      const quick = performance.now() - startedAt < QUICK_DEATH_MS;
      const delay = quick ? Math.min(5000, (delays.get(index) ?? 50) * 2) : 100;
      delays.set(index, delay);
      log.error({ worker: index, code, signal, restartInMs: delay }, "worker died: restarting it");
      setTimeout(() => stopping || fork(index), delay).unref();
    });
  };

  const finish = () => {
    void (heartbeats ? stores!.close() : Promise.resolve()).finally(() => {
      lock?.release();
      process.exit(exitCode);
    });
  };

  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: workers.size }, "shutting down: draining every worker");
    if (workers.size === 0) return finish();
    for (const w of workers.values()) w.process.kill("SIGTERM");
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGHUP", () => {
    for (const w of workers.values()) w.process.kill("SIGHUP");
  });
  for (let i = 1; i <= n; i++) fork(i);
}
