// Audit completeness on MongoDB across two server processes under concurrent changes, one SIGKILLed mid-stream:
// once the survivor's sweep has run, every key's events form one unbroken chain from its creation to its current
// state (each event's before.updated_at is the previous one's after.updated_at, the last one's is the key's own),
// which holds only with exactly one event per applied change and none for a change that did not apply.
import { randomBytes } from "node:crypto";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { AuditAction, AuditService } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import type { Caller } from "../support/callers.js";
import { type FluxProcess, randomAdminKey, startProcess } from "../support/processes.js";
import { mongoUri } from "../support/stores.js";

const ROUNDS = Number(process.env.FLUX_AUDIT_ROUNDS ?? 2);
const KEYS = 8;
const WORKERS_PER_PROCESS = 6;
const admin = randomAdminKey();
const dbName = `t_audit_${randomBytes(4).toString("hex")}`;
let env: Record<string, string>;
let survivor: FluxProcess;
let victim: FluxProcess | undefined;
let client: MongoClient;

beforeAll(async () => {
  env = { FLUX_MONGODB_URI: mongoUri(), FLUX_MONGODB_DB: dbName, FLUX_ADMIN_KEY: admin };
  client = await new MongoClient(mongoUri()).connect();
  survivor = await startProcess(env);
}, 60_000);
afterAll(async () => {
  await victim?.stop().catch(() => {});
  await survivor?.stop();
  await client?.db(dbName).dropDatabase().catch(() => {});
  await client?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const db = () => client.db(dbName);

/** One change to a key: a rename, an enable/disable or a rotation, by n. */
function change(c: Caller, keyId: string, n: number): Promise<unknown> {
  // The three kinds a key sees most; creation, revocation and the rest are covered in test/rpc/audit-log.test.ts.
  switch (n % 3) {
    case 0:
      return c.call(ApiKeyService, "updateApiKey", { apiKey: { id: keyId, name: `n${n}-${randomBytes(3).toString("hex")}` }, updateMask: { paths: ["name"] } }, admin);
    case 1:
      return c.call(ApiKeyService, "updateApiKey", { apiKey: { id: keyId, enabled: n % 2 === 0 }, updateMask: { paths: ["enabled"] } }, admin);
    default:
      return c.call(ApiKeyService, "rotateApiKey", { id: keyId }, admin);
  }
}

async function churn(callers: Caller[], keyIds: string[], until: () => boolean, tally: { ok: number; failed: number }) {
  let n = Math.floor(Math.random() * 1000);
  while (!until()) {
    const c = callers[n % callers.length]!;
    try {
      await change(c, keyIds[n % keyIds.length]!, n++);
      tally.ok++;
    } catch {
      tally.failed++; // refused, lost a race five times, unconfirmed, or cut off by the kill: applied or not
    }
  }
}

/** Intents whose target document holds their event: changes caught between their write and the event's move. */
async function caughtBetweenWriteAndMove(): Promise<number> {
  let n = 0;
  for (const i of await db().collection("audit_intents").find({}).toArray()) {
    const target = await db().collection(i.collection as string).findOne({ _id: i.targetId });
    if (target?.lastEvent?._id === i._id) n++;
  }
  return n;
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe("audit completeness on MongoDB", () => {
  it("keeps exactly one event per applied change through concurrent changes and a SIGKILL", async () => {
    const c = survivor.callers[0]!;
    const keyIds: string[] = [];
    for (let i = 0; i < KEYS; i++) keyIds.push((await c.call(ApiKeyService, "createApiKey", { orgId: "acme", name: `k${i}` }, admin)).apiKey!.id);
    const tally = { ok: 0, failed: 0 };
    let caught = 0;
    for (let round = 0; round < ROUNDS; round++) {
      victim = await startProcess(env);
      let stop = false;
      let killed = false;
      const workers = [
        ...Array.from({ length: WORKERS_PER_PROCESS }, () => churn(victim!.callers, keyIds, () => stop || killed, tally)),
        ...Array.from({ length: WORKERS_PER_PROCESS }, () => churn(survivor.callers, keyIds, () => stop, tally)),
      ];
      await sleep(1500 + Math.random() * 500);
      killed = true; // its workers stop after the call they are in, which the kill cuts off
      await victim.kill("SIGKILL");
      victim = undefined;
      caught += await caughtBetweenWriteAndMove();
      await sleep(500);
      stop = true;
      await Promise.all(workers);
    }
    // The survivor's sweep moves what the dead writer left in documents, with no help from later changes.
    await waitFor("the sweep to move every event left in a document", async () => (await caughtBetweenWriteAndMove()) === 0);
    // One more change per key falsifies every remaining intent's precondition (writes that never landed).
    for (const id of keyIds) await change(c, id, 0);
    tally.ok += keyIds.length;
    await waitFor("every audit intent to be settled", async () => (await db().collection("audit_intents").countDocuments({})) === 0);

    let applied = 0;
    const seen = new Set<string>();
    for (const id of keyIds) {
      const events = (await c.call(AuditService, "listAuditEvents", { targetId: id, pageSize: 1000 }, admin)).events.reverse();
      for (const e of events) seen.add(e.id);
      expect(events[0]!.action).toBe(AuditAction.API_KEY_CREATED);
      for (let i = 1; i < events.length; i++) {
        expect(events[i]!.before!.updated_at, `key ${id}, event ${i}`).toBe(events[i - 1]!.after!.updated_at);
      }
      const key = (await c.call(ApiKeyService, "getApiKey", { id }, admin)).apiKey!;
      expect(events.at(-1)!.after!.updated_at).toBe(new Date(timestampMs(key.updatedAt!)).toISOString());
      applied += events.length - 1;
    }
    expect(seen.size).toBe(applied + KEYS);
    expect(applied).toBeGreaterThanOrEqual(tally.ok);
    expect(applied).toBeLessThanOrEqual(tally.ok + tally.failed);
    console.log(
      `audit completeness: ${ROUNDS} SIGKILL round(s), ${applied} applied changes = ${applied} events (${tally.ok} answered OK, ` +
        `${tally.failed} failed or cut off); ${caught} change(s) caught between write and move, moved by the sweep`,
    );
  }, 120_000);
});
