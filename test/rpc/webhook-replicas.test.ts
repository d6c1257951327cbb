// Webhooks with three replicas on one MongoDB database, every one of them tailing the audit log and delivering:
// under concurrent changes through all three, the events delivered are exactly the audit log's key events (none
// lost though ids from three processes become visible out of order), each endpoint's queue is worked by one
// replica at a time, and each key's events arrive in the order they happened.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { AuditAction, AuditService } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { WebhookService } from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";
import { EVENT_OF_ACTION } from "../../src/domain/webhooks.js";
import type { Caller } from "../support/callers.js";
import { startReplicaServers } from "../support/replica-servers.js";
import { ADMIN_KEY } from "../support/server.js";
import { startReceiver, type Receiver } from "../support/webhook-receiver.js";

const WORKERS_PER_REPLICA = 3;
const CHANGES_PER_WORKER = 9;

describe("webhooks on three MongoDB replicas", () => {
  let cluster: Awaited<ReturnType<typeof startReplicaServers>>;
  let rx: Receiver;
  beforeAll(async () => {
    cluster = await startReplicaServers(3, "wh-replicas", undefined, { FLUX_WEBHOOK_ALLOW_PRIVATE: true, FLUX_WEBHOOK_RETRY_SCHEDULE_MS: [50, 50, 50, 50, 50] });
    rx = await startReceiver();
  }, 60_000);
  afterAll(async () => {
    await rx?.close();
    await cluster?.stop();
  });

  it("delivers every key event of the audit log under concurrent changes on all replicas, in order per key", async () => {
    const org = `org_${randomBytes(3).toString("hex")}`;
    const callers = cluster.replicas.map((r) => r.callers[0]!);
    const types = ["key.created", "key.rotated", "key.disabled", "key.enabled", "key.revoked"];
    await callers[0]!.call(WebhookService, "createWebhookEndpoint", { endpoint: { orgId: org, url: rx.url, eventTypes: types } }, ADMIN_KEY);
    let acknowledged = 0;
    const worker = async (c: Caller, w: number) => {
      const { apiKey } = await c.call(ApiKeyService, "createApiKey", { orgId: org, name: `w${w}` }, ADMIN_KEY);
      acknowledged++;
      for (let n = 0; n < CHANGES_PER_WORKER; n++) {
        const id = apiKey!.id;
        try {
          if (n === CHANGES_PER_WORKER - 1) await c.call(ApiKeyService, "revokeApiKey", { id }, ADMIN_KEY);
          else if (n % 3 === 2) await c.call(ApiKeyService, "rotateApiKey", { id }, ADMIN_KEY);
          else await c.call(ApiKeyService, "updateApiKey", { apiKey: { id, enabled: n % 3 === 1 }, updateMask: { paths: ["enabled"] } }, ADMIN_KEY);
          acknowledged++;
        } catch {}
      }
    };
    // Each key is changed through all three replicas in turn: its events come from three processes' id sequences.
    await Promise.all(callers.flatMap((_, r) => Array.from({ length: WORKERS_PER_REPLICA }, (_, i) => worker(callers[(r + i) % 3]!, r * 10 + i))));

    const audit: { id: string; action: string; targetId: string }[] = [];
    let pageToken = "";
    do {
      const page = await callers[1]!.call(AuditService, "listAuditEvents", { orgId: org, pageSize: 1000, pageToken }, ADMIN_KEY);
      audit.push(...page.events.map((e) => ({ id: e.id, action: AuditAction[e.action], targetId: e.targetId })));
      pageToken = page.nextPageToken;
    } while (pageToken);
    const keyEvents = audit.filter((e) => e.action in EVENT_OF_ACTION).reverse(); // oldest first
    expect(keyEvents.length).toBeGreaterThanOrEqual(acknowledged);
    const delivered = () => new Set(rx.accepted().map((r) => r.id));
    await rx.until(() => keyEvents.every((e) => delivered().has(e.id)), 120_000);
    expect([...delivered()].sort()).toEqual(keyEvents.map((e) => e.id).sort());
    // In order per key: each key's events first arrive in the order of their ids.
    const firstArrival = new Map<string, number>();
    rx.accepted().forEach((r, i) => firstArrival.has(r.id) || firstArrival.set(r.id, i));
    for (const keyId of new Set(keyEvents.map((e) => e.targetId))) {
      const ids = keyEvents.filter((e) => e.targetId === keyId).map((e) => e.id);
      const arrival = ids.map((id) => firstArrival.get(id)!);
      expect(arrival, keyId).toEqual([...arrival].sort((a, b) => a - b));
    }
    const duplicates = rx.accepted().length - delivered().size;
    console.log(`[webhook replicas] ${keyEvents.length} events from 3 replicas delivered, ${duplicates} twice`);
  }, 240_000);
});
