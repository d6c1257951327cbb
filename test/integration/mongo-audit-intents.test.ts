// The MongoDB audit log at each point a writer can die: after its write but before moving the event, before its
// write, and when a later change overwrites an event nobody moved. Each ends with exactly one event per applied
// change once the sweep (or the next change) has run, and none for a change that never applied.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../../src/domain/audit.js";
import type { ApiKeyRecord, Principal } from "../../src/domain/types.js";
import { auditEvent } from "../../src/services/audit-trail.js";
import { MongoAuditLog, toEventDoc } from "../../src/store/mongo/mongo-audit.js";
import type { MongoStores } from "../../src/store/mongo/mongo-stores.js";
import { openTestStores } from "../support/stores.js";

let stores: MongoStores;
let dispose: () => Promise<void>;
let audit: MongoAuditLog;
beforeAll(async () => {
  const opened = await openTestStores("mongodb", "audit-intents");
  stores = opened.stores as MongoStores;
  dispose = opened.dispose;
  audit = new MongoAuditLog(stores.db, { settleAfterMs: 0, abandonAfterMs: 3_600_000, now: Date.now });
});
afterAll(() => dispose?.());

const admin: Principal = { adminKeyId: "adm_test", validateOnly: false };
let seq = 0;
const lost = () => new Error("connection lost");

function newKey(): ApiKeyRecord {
  const now = Date.now();
  return { id: `key_intents${String(++seq).padStart(12, "0")}`, orgId: "org", name: "k", scopes: [], metadata: {}, enabled: true, displayHint: "h", createdAtMs: now, updatedAtMs: now, digest: `d${seq}-${now}` };
}

/** The event of renaming `before`, and the renamed record. */
function rename(before: ApiKeyRecord, name: string): { after: ApiKeyRecord; event: AuditEvent } {
  const after = { ...before, name, updatedAtMs: before.updatedAtMs + 1 };
  return { after, event: auditEvent(admin, { action: "API_KEY_UPDATED", targetType: "API_KEY", targetId: before.id, orgId: "org", atMs: after.updatedAtMs, before, after }) };
}

async function created(): Promise<ApiKeyRecord> {
  const key = newKey();
  await stores.keys.insert(key, auditEvent(admin, { action: "API_KEY_CREATED", targetType: "API_KEY", targetId: key.id, atMs: key.createdAtMs, after: key }));
  return (await stores.keys.get(key.id))!;
}

const logged = async (id: string) => (await audit.list({ targetId: id, limit: 100 })).map((e) => e.action).reverse();
const openIntents = () => audit.intents.countDocuments({});

/** A write that lands and then loses its connection: the writer never learns it applied, as if it died. */
const landsThenDies = (before: ApiKeyRecord, after: ApiKeyRecord, event: AuditEvent) => async (): Promise<boolean> => {
  const { id, ...rest } = after;
  await stores.db.collection("api_keys").replaceOne({ _id: id as never, updatedAtMs: before.updatedAtMs }, { ...rest, lastEvent: toEventDoc(event) });
  throw lost();
};

describe("mongodb audit intents", () => {
  it("moves the event of a change whose writer died after the write, exactly once", async () => {
    const before = await created();
    const { after, event } = rename(before, "renamed");
    await expect(audit.around("api_keys", before.id, event, undefined, { updatedAtMs: before.updatedAtMs }, landsThenDies(before, after, event))).rejects.toThrow("connection lost");
    expect(await logged(before.id)).toEqual(["API_KEY_CREATED"]);
    expect(await audit.sweep()).toBe(1);
    expect(await audit.sweep()).toBe(0);
    expect(await logged(before.id)).toEqual(["API_KEY_CREATED", "API_KEY_UPDATED"]);
    expect(await openIntents()).toBe(0);
  });

  it("records nothing for a write that never landed, and drops its intent once the key has moved on", async () => {
    const before = await created();
    const ghost = rename(before, "never");
    await expect(audit.around("api_keys", before.id, ghost.event, undefined, { updatedAtMs: before.updatedAtMs }, async () => { throw lost(); })).rejects.toThrow();
    await audit.sweep();
    expect(await openIntents()).toBe(1); // the key still matches: the write may yet land
    const real = rename(before, "real");
    expect(await stores.keys.replace(before, real.after, real.event)).toBe(true);
    await audit.sweep();
    expect(await openIntents()).toBe(0);
    const names = (await audit.list({ targetId: before.id, limit: 10 })).map((e) => e.after.name);
    expect(names).toEqual(["real", "k"]); // newest first: the rename that landed, then the creation; never "never"
  });

  it("moves an unmoved event before a later change overwrites it", async () => {
    const before = await created();
    const first = rename(before, "first");
    await expect(audit.around("api_keys", before.id, first.event, undefined, { updatedAtMs: before.updatedAtMs }, landsThenDies(before, first.after, first.event))).rejects.toThrow();
    const current = (await stores.keys.get(before.id))!; // carries the unmoved event, as every read does
    const second = rename(current, "second");
    expect(await stores.keys.replace(current, second.after, second.event)).toBe(true);
    expect(await logged(before.id)).toEqual(["API_KEY_CREATED", "API_KEY_UPDATED", "API_KEY_UPDATED"]);
    expect(await audit.sweep()).toBe(0);
    expect(await openIntents()).toBe(0);
  });

  it("moves the event of a creation whose writer died after the insert", async () => {
    const key = newKey();
    const event = auditEvent(admin, { action: "API_KEY_CREATED", targetType: "API_KEY", targetId: key.id, atMs: key.createdAtMs, after: key });
    const insertThenDie = async (): Promise<boolean> => {
      const { id, ...rest } = key;
      await stores.db.collection("api_keys").insertOne({ _id: id as never, ...rest, lastEvent: toEventDoc(event) });
      throw lost();
    };
    await expect(audit.around("api_keys", key.id, event, undefined, null, insertThenDie)).rejects.toThrow();
    expect(await logged(key.id)).toEqual([]);
    expect(await audit.sweep()).toBe(1);
    expect(await logged(key.id)).toEqual(["API_KEY_CREATED"]);
  });

  it("leaves no event for a change that lost the optimistic check", async () => {
    const before = await created();
    const a = rename(before, "a");
    const b = rename(before, "b");
    const won = await Promise.all([stores.keys.replace(before, a.after, a.event), stores.keys.replace(before, b.after, b.event)]);
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(await logged(before.id)).toEqual(["API_KEY_CREATED", "API_KEY_UPDATED"]);
    expect(await openIntents()).toBe(0);
  });
});
