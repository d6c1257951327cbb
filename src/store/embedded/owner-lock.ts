// One process owns an embedded data directory: two would cache keys separately and never see each other's
// revocations. The lock is an exclusive SQLite transaction on a file of its own, held for the owner's lifetime;
// the operating system releases it when the process ends, however it ends, so there is no stale lock to clean up.
import Database from "better-sqlite3";
import { join } from "node:path";

export class StoreInUseError extends Error {
  readonly code = "FLUX_STORE_IN_USE";
  constructor(readonly dir: string) {
    super("it is in use by another process (a running `flux-apikeys serve`?); stop it first");
  }
}

export interface OwnerLock {
  release(): void;
}

export function lockDataDir(dir: string): OwnerLock {
  // timeout 0: a held lock answers SQLITE_BUSY at once instead of waiting for it.
  const db = new Database(join(dir, "flux.lock"), { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE");
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === "SQLITE_BUSY") throw new StoreInUseError(dir);
    throw err;
  }
  return { release: () => db.close() };
}
