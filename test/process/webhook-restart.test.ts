// Webhook deliveries survive a crash: a server process is SIGKILLed while its queue is being delivered (the
// receiver failing every other request, so retries are pending too), then started again on the same store. Every
// event of every change the RPCs acknowledged reaches the receiver at least once, each key's events in order.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { MongoClient } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { WebhookService } from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";
import { type FluxProcess, randomAdminKey, startProcess } from "../support/processes.js";
import { mongoUri, type StoreKind, STORE_KINDS } from "../support/stores.js";
import { startReceiver } from "../support/webhook-receiver.js";

const KEYS = 30;
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe.each(STORE_KINDS)("webhooks across a crash on the %s store", (kind: StoreKind) => {
  it("delivers every acknowledged change's event at least once, in order per key, after a SIGKILL mid-queue", async () => {
    const admin = randomAdminKey();
    const env: Record<string, string> = {
      FLUX_ADMIN_KEY: admin,
      FLUX_WEBHOOK_ALLOW_PRIVATE: "true",
      FLUX_WEBHOOK_RETRY_SCHEDULE_MS: Array(30).fill("100").join(","),
      FLUX_WEBHOOK_TIMEOUT_MS: "2000",
    };
    if (kind === "mongodb") {
      const dbName = `t_whcrash_${randomBytes(4).toString("hex")}`;
      Object.assign(env, { FLUX_MONGODB_URI: mongoUri(), FLUX_MONGODB_DB: dbName });
      cleanups.push(async () => {
        const client = await new MongoClient(mongoUri()).connect();
        await client.db(dbName).dropDatabase().catch(() => {});
        await client.close();
      });
    } else {
      const dir = mkdtempSync(join(tmpdir(), "flux-whcrash-"));
      env.FLUX_DATA_DIR = dir;
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    }
    const rx = await startReceiver();
    cleanups.push(() => rx.close());
    rx.respond = (_r, n) => (n % 2 === 0 ? 503 : 200);

    let server: FluxProcess = await startProcess(env);
    const c = server.callers[1]!;
    const org = `org_${randomBytes(3).toString("hex")}`;
    await c.call(WebhookService, "createWebhookEndpoint", { endpoint: { orgId: org, url: rx.url, eventTypes: ["key.created", "key.revoked"] } }, admin);
    const expected: string[] = [];
    for (let i = 0; i < KEYS; i++) {
      const { apiKey } = await c.call(ApiKeyService, "createApiKey", { orgId: org, name: `k${i}` }, admin);
      expected.push(`key.created ${apiKey!.id}`);
      if (i % 2 === 0) {
        await c.call(ApiKeyService, "revokeApiKey", { id: apiKey!.id }, admin);
        expected.push(`key.revoked ${apiKey!.id}`);
      }
    }
    // Mid-queue: some delivered, the rest pending (one of them between a failed attempt and its retry).
    await rx.until(() => rx.accepted().length >= 8, 60_000);
    await server.kill("SIGKILL");
    const deliveredBeforeCrash = rx.accepted().length;
    expect(deliveredBeforeCrash).toBeLessThan(expected.length);

    server = await startProcess(env);
    cleanups.push(() => void server.stop().catch(() => {}));
    const got = () => new Set(rx.accepted().map((r) => `${r.type} ${r.data.key_id}`));
    await rx.until(() => expected.every((e) => got().has(e)), 90_000);
    expect([...got()].sort()).toEqual([...expected].sort());
    // Order per key: its created event is first delivered before its revoked event.
    const firstAt = new Map<string, number>();
    rx.accepted().forEach((r, i) => firstAt.has(`${r.type} ${r.data.key_id}`) || firstAt.set(`${r.type} ${r.data.key_id}`, i));
    for (const e of expected.filter((x) => x.startsWith("key.revoked"))) {
      const id = e.split(" ")[1];
      expect(firstAt.get(`key.created ${id}`)!, id).toBeLessThan(firstAt.get(e)!);
    }
    const duplicates = rx.accepted().length - got().size;
    console.log(`[webhook crash, ${kind}] ${expected.length} events, ${deliveredBeforeCrash} delivered before SIGKILL, ${duplicates} delivered twice`);
  }, 180_000);
});
