// Organisation roll-ups over data written before usage rows carried the key's organisation: an embedded data
// directory is upgraded when it is opened, a MongoDB database once (its rows take their key's org, so an
// organisation's history starts with its keys, not with the upgrade); doing it again changes nothing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, expect, it } from "vitest";
import { openEmbeddedStores } from "../../src/store/embedded/embedded-stores.js";
import type { MongoStores } from "../../src/store/mongo/mongo-stores.js";
import { backfillUsageOrgIds } from "../../src/store/mongo/mongo-usage.js";
import { openTestStores } from "../support/stores.js";

const HOUR_MS = 3_600_000;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

it("upgrades usage rows written before organisation roll-ups to carry their key's organisation", async () => {
  const dir = mkdtempSync(join(tmpdir(), "flux-usage-upgrade-"));
  dirs.push(dir);
  // The tables as the previous release created them.
  const old = new Database(join(dir, "flux.sqlite"));
  old.exec(`
CREATE TABLE api_keys (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0, digest TEXT NOT NULL UNIQUE, previous_digest TEXT, doc TEXT NOT NULL);
CREATE TABLE usage_hourly (key_id TEXT NOT NULL, hour_start_ms INTEGER NOT NULL, outcome TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (key_id, hour_start_ms, outcome));
`);
  old.prepare("INSERT INTO api_keys VALUES ('key_a', 'org_old', 1, 1, 0, 'd1', NULL, '{}')").run();
  old.prepare("INSERT INTO usage_hourly VALUES ('key_a', ?, 'VALID', 7), ('key_a', ?, 'IP_NOT_ALLOWED', 2), ('_unknown', ?, 'NOT_FOUND', 3)").run(HOUR_MS, HOUR_MS, HOUR_MS);
  old.close();

  for (let open = 0; open < 2; open++) {
    const stores = await openEmbeddedStores(dir);
    try {
      expect(await stores.usage.orgHours("org_old", 0, 10 * HOUR_MS), `open ${open}`).toEqual([{ keyId: "key_a", hourStartMs: HOUR_MS, counts: { VALID: 7, IP_NOT_ALLOWED: 2 } }]);
      expect(await stores.usage.hours("key_a", 0, 10 * HOUR_MS)).toEqual([{ hourStartMs: HOUR_MS, counts: { VALID: 7, IP_NOT_ALLOWED: 2 } }]);
      expect(await stores.usage.scopeUses("key_a")).toEqual(new Map());
    } finally {
      await stores.close();
    }
  }
});

it("upgrades MongoDB usage documents written before organisation roll-ups, once per database", async () => {
  const { stores, dispose } = await openTestStores("mongodb", "usage-org-upgrade");
  try {
    const { db } = stores as MongoStores;
    await db.collection("migrations").deleteMany({}); // as before the upgrade
    await db.collection<{ _id: string }>("api_keys").insertOne({ _id: "key_m", orgId: "org_m" } as never);
    await db.collection<{ _id: string }>("usage_hourly").insertMany([
      { _id: `key_m:${HOUR_MS}`, keyId: "key_m", hourStartMs: HOUR_MS, counts: { VALID: 4 } },
      { _id: `_unknown:${HOUR_MS}`, keyId: "_unknown", hourStartMs: HOUR_MS, counts: { NOT_FOUND: 1 } },
    ] as never[]);
    expect(await stores.usage.orgHours("org_m", 0, 10 * HOUR_MS)).toEqual([]);
    expect(await backfillUsageOrgIds(db)).toBe(1);
    expect(await stores.usage.orgHours("org_m", 0, 10 * HOUR_MS)).toEqual([{ keyId: "key_m", hourStartMs: HOUR_MS, counts: { VALID: 4 } }]);
    expect(await backfillUsageOrgIds(db)).toBe(0); // recorded as done
  } finally {
    await dispose();
  }
});
