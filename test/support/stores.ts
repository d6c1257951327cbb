// Fresh stores for a test: a database of its own on the shared MongoDB-compatible server, or a temp SQLite dir.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { openEmbeddedStores } from "../../src/store/embedded/embedded-stores.js";
import { type MongoStores, openMongoStores } from "../../src/store/mongo/mongo-stores.js";
import type { Stores } from "../../src/store/types.js";

export type StoreKind = "mongodb" | "embedded";
export const STORE_KINDS: StoreKind[] = ["mongodb", "embedded"];

export function mongoUri(): string {
  return inject("mongoUri");
}

export const uniqueDbName = (label: string) => `t_${label.replace(/\W/g, "_").slice(0, 30)}_${randomBytes(4).toString("hex")}`;

/** Opens stores and returns a disposer that drops the database or removes the directory. */
export async function openTestStores(kind: StoreKind, label: string): Promise<{ stores: Stores; dbName?: string; dispose(): Promise<void> }> {
  if (kind === "mongodb") {
    const dbName = uniqueDbName(label);
    const stores = await openMongoStores(mongoUri(), dbName);
    return {
      stores,
      dbName,
      async dispose() {
        const { client, db } = stores as MongoStores;
        await db.dropDatabase().catch(() => {});
        await client.close();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), "flux-test-"));
  const stores = await openEmbeddedStores(dir);
  return {
    stores,
    async dispose() {
      await stores.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
