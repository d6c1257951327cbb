// Worker processes of FLUX_WORKERS ≥ 2 for tests. Two ways in:
//  - `startPool`: the real `serve` with FLUX_WORKERS=n (node:cluster: every worker behind the same two ports);
//  - `startAimed`: the same worker code path (`serve` with FLUX_WORKER_INDEX set, as the primary starts it), each
//    worker on ports of its own, so a test aims each call at one worker. The test plays the primary: it holds the
//    owner lock and prepares the directory exactly as worker-pool.ts does.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbeddedStores } from "../../src/store/embedded/embedded-stores.js";
import { lockDataDir, type OwnerLock } from "../../src/store/embedded/owner-lock.js";
import { type FluxProcess, randomAdminKey, startProcess } from "./processes.js";

export interface AimedWorkers {
  dir: string;
  admin: string;
  workers: FluxProcess[];
  /** Starts worker `index` again (after a kill), on new ports. */
  restart(index: number): Promise<FluxProcess>;
  stop(): Promise<void>;
}

export function newDataDir(prefix = "flux-workers-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startAimed(n: number, extraEnv: Record<string, string> = {}): Promise<AimedWorkers> {
  const dir = newDataDir();
  const admin = randomAdminKey();
  const lock: OwnerLock = lockDataDir(dir);
  const prep = await openEmbeddedStores(dir, undefined, { shared: "primary" });
  await prep.close();
  const env = (i: number) => ({ FLUX_DATA_DIR: dir, FLUX_ADMIN_KEY: admin, FLUX_WORKERS: String(n), FLUX_WORKER_INDEX: String(i), ...extraEnv });
  const workers = await Promise.all(Array.from({ length: n }, (_, i) => startProcess(env(i + 1))));
  return {
    dir,
    admin,
    workers,
    async restart(index) {
      workers[index] = await startProcess(env(index + 1));
      return workers[index]!;
    },
    async stop() {
      await Promise.all(workers.map((w) => (w.exitCode() === null ? w.stop() : undefined)));
      lock.release();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The pids of a pool's workers: the primary's children running flux-apikeys (not tsx's esbuild service). */
export function childPids(pid: number): number[] {
  let pids: number[];
  try {
    pids = execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
  return pids.filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, "utf8").includes("flux-apikeys");
    } catch {
      return false; // ended meanwhile
    }
  });
}
