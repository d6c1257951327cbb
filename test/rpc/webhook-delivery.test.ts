// Webhook deliveries to a receiver the test starts, on both stores: key events arrive signed (checked by Python's
// standard library), in order per endpoint, retried after failures (the next event waits), given up after the last
// scheduled attempt, only for the endpoint's organisation, and with two signatures during a secret's grace period.
import { execFileSync } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Webhook } from "standardwebhooks";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { WebhookDeliveryStatus, WebhookService } from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";
import { createKey, newOrg } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";
import { ManualClock } from "../../src/domain/clock.js";
import { type Received, type Receiver, startReceiver } from "../support/webhook-receiver.js";

const KEY_EVENTS = ["key.created", "key.rotated", "key.revoked", "key.disabled", "key.enabled"];
const RETRY_MS = [1000, 2000];

/** Verifies every request's signature with a Python script that uses only hmac, hashlib and base64. */
function pythonVerifies(secret: string | string[], rs: Received[]): string[] {
  const venv = execFileSync("bash", ["scripts/python-env.sh"], { encoding: "utf8" }).trim();
  const secrets = Array.isArray(secret) ? secret : rs.map(() => secret);
  const input = rs.map((r, i) => JSON.stringify({ secret: secrets[i], id: r.id, timestamp: r.timestamp, signature: r.signature, body: r.body })).join("\n");
  return execFileSync(`${venv}/bin/python`, ["test/support/verify_webhook.py"], { input, encoding: "utf8" }).trim().split("\n");
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

describe.each(STORE_KINDS)("webhook deliveries on the %s store", (kind) => {
  let t: TestServer;
  let rx: Receiver;
  beforeAll(async () => {
    t = await startTestServer(kind, `webhooks_${kind}`, { config: { FLUX_WEBHOOK_ALLOW_PRIVATE: true, FLUX_WEBHOOK_RETRY_SCHEDULE_MS: RETRY_MS } });
  });
  afterAll(async () => t?.stop());
  afterEach(async () => rx?.close());

  const c = () => t.callers[0]!;
  async function endpoint(url: string, orgId: string, eventTypes = KEY_EVENTS) {
    return c().call(WebhookService, "createWebhookEndpoint", { endpoint: { orgId, url, eventTypes } }, ADMIN_KEY);
  }
  const deliveries = async (endpointId: string) => (await c().call(WebhookService, "listWebhookDeliveries", { endpointId }, ADMIN_KEY)).deliveries;
  /** Waits until the server has recorded `n` attempts of the event (the receiver sees a request before that). */
  async function attempted(endpointId: string, type: string, n: number) {
    for (let i = 0; i < 200; i++) {
      if ((await deliveries(endpointId)).some((d) => d.eventType === type && d.attempts >= n)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`${type} was not attempted ${n} times`);
  }

  it("delivers every key event of the organisation in order, signed so that Python's hmac verifies it", async () => {
    rx = await startReceiver();
    const org = newOrg();
    const { secret } = await endpoint(rx.url, org);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const { key } = await createKey(c(), { orgId: org });
    await c().call(ApiKeyService, "rotateApiKey", { id: key.id }, ADMIN_KEY);
    await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, enabled: false }, updateMask: { paths: ["enabled"] } }, ADMIN_KEY);
    await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, enabled: true }, updateMask: { paths: ["enabled"] } }, ADMIN_KEY);
    await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, name: "renamed" }, updateMask: { paths: ["name"] } }, ADMIN_KEY);
    await c().call(ApiKeyService, "revokeApiKey", { id: key.id }, ADMIN_KEY);
    await rx.until(() => rx.accepted().length >= 5);
    const got = rx.accepted();
    expect(got.map((r) => r.type)).toEqual(["key.created", "key.rotated", "key.disabled", "key.enabled", "key.revoked"]);
    expect(got.every((r) => r.data.key_id === key.id && r.data.org_id === org)).toBe(true);
    // The receiver's own check with the reference library, and Python's standard library.
    for (const r of got) new Webhook(secret).verify(r.body, { "webhook-id": r.id, "webhook-timestamp": r.timestamp, "webhook-signature": r.signature });
    expect(pythonVerifies(secret, got)).toEqual(got.map(() => "ok"));
    expect(pythonVerifies("whsec_" + Buffer.alloc(32, 1).toString("base64"), got.slice(0, 1))).toEqual(["bad"]);
    // No secret or digest in any payload.
    for (const r of got) expect(r.body).not.toMatch(/secret"|digest|hash|fluxk?_[A-Za-z0-9]{20}/);
    const log = await deliveries((await c().call(WebhookService, "listWebhookEndpoints", { orgId: org }, ADMIN_KEY)).endpoints[0]!.id);
    expect(log.map((d) => d.eventType)).toEqual(["key.revoked", "key.enabled", "key.disabled", "key.rotated", "key.created"]);
    expect(log.every((d) => d.status === WebhookDeliveryStatus.DELIVERED && d.attempts === 1 && d.lastResponseCode === 204)).toBe(true);
    // Metrics: attempts by result, the queue's depth, the latency histogram.
    const metrics = await (await fetch(`http://127.0.0.1:${t.server.httpPort}/metrics`)).text();
    expect(Number(/^flux_webhook_deliveries_total\{result="delivered"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(5);
    expect(metrics).toMatch(/^flux_webhook_queue_depth \d+/m);
    expect(Number(/^flux_webhook_delivery_latency_seconds_count (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(5);
  });

  it("retries after the receiver fails, and the next event waits until the earlier one is delivered", async () => {
    rx = await startReceiver();
    const org = newOrg();
    let failFirst = 2;
    rx.respond = () => (failFirst-- > 0 ? 503 : 200);
    const ep = (await endpoint(rx.url, org)).endpoint!;
    const { key } = await createKey(c(), { orgId: org });
    await c().call(ApiKeyService, "revokeApiKey", { id: key.id }, ADMIN_KEY);
    await rx.until(() => rx.received.length >= 1);
    await attempted(ep.id, "key.created", 1);
    let log = await deliveries(ep.id);
    const created = log.find((d) => d.eventType === "key.created")!;
    expect(created).toMatchObject({ status: WebhookDeliveryStatus.PENDING, attempts: 1, lastResponseCode: 503 });
    expect(created.lastResponse).toContain("refused by the test receiver");
    // The clock has not moved: nothing else is attempted, key.revoked waits behind key.created.
    await new Promise((r) => setTimeout(r, 200));
    expect(rx.received.map((r) => r.type)).toEqual(["key.created"]);
    t.clock.advance(RETRY_MS[0]!);
    await rx.until(() => rx.received.length >= 2);
    await attempted(ep.id, "key.created", 2);
    t.clock.advance(RETRY_MS[1]!);
    await rx.until(() => rx.accepted().length >= 2);
    expect(rx.received.map((r) => `${r.type}:${r.status}`)).toEqual(["key.created:503", "key.created:503", "key.created:200", "key.revoked:200"]);
    expect(new Set(rx.received.slice(0, 3).map((r) => r.id)).size).toBe(1); // one webhook-id for every attempt
    log = await deliveries(ep.id);
    expect(log.map((d) => [d.eventType, d.status, d.attempts, d.lastResponseCode])).toEqual([
      ["key.revoked", WebhookDeliveryStatus.DELIVERED, 1, 200],
      ["key.created", WebhookDeliveryStatus.DELIVERED, 3, 200],
    ]);
  });

  it("gives an event up after the last scheduled attempt and delivers the next one", async () => {
    rx = await startReceiver();
    const org = newOrg();
    rx.respond = (r) => (r.type === "key.created" ? 500 : 200);
    const ep = (await endpoint(rx.url, org)).endpoint!;
    const { key } = await createKey(c(), { orgId: org });
    await c().call(ApiKeyService, "revokeApiKey", { id: key.id }, ADMIN_KEY);
    await rx.until(() => rx.received.length >= 1);
    await attempted(ep.id, "key.created", 1);
    t.clock.advance(RETRY_MS[0]!);
    await rx.until(() => rx.received.length >= 2);
    await attempted(ep.id, "key.created", 2);
    t.clock.advance(RETRY_MS[1]!);
    await rx.until(() => rx.accepted().length >= 1);
    expect(rx.received.map((r) => `${r.type}:${r.status}`)).toEqual(["key.created:500", "key.created:500", "key.created:500", "key.revoked:200"]);
    const log = await deliveries(ep.id);
    expect(log.map((d) => [d.eventType, d.status, d.attempts])).toEqual([
      ["key.revoked", WebhookDeliveryStatus.DELIVERED, 1],
      ["key.created", WebhookDeliveryStatus.FAILED, 3],
    ]);
  });

  it("sends an organisation's events only to its own endpoints and to endpoints for all, each what it asked for", async () => {
    const mine = await startReceiver();
    const all = await startReceiver();
    rx = mine;
    try {
      const [a, b] = [newOrg(), newOrg()];
      await endpoint(mine.url, a, ["key.revoked"]);
      const forAll = (await c().call(WebhookService, "createWebhookEndpoint", { endpoint: { url: all.url, eventTypes: ["key.created"] } }, ADMIN_KEY)).endpoint!;
      const ka = await createKey(c(), { orgId: a });
      const kb = await createKey(c(), { orgId: b });
      await c().call(ApiKeyService, "revokeApiKey", { id: kb.key.id }, ADMIN_KEY);
      await c().call(ApiKeyService, "revokeApiKey", { id: ka.key.id }, ADMIN_KEY);
      await mine.until(() => mine.accepted().length >= 1);
      await all.until(() => all.accepted().filter((r) => r.data.key_id === ka.key.id || r.data.key_id === kb.key.id).length >= 2);
      expect(mine.accepted().map((r) => [r.type, r.data.key_id])).toEqual([["key.revoked", ka.key.id]]);
      const ours = all.accepted().filter((r) => r.data.key_id === ka.key.id || r.data.key_id === kb.key.id);
      expect(ours.map((r) => [r.type, r.data.key_id])).toEqual([["key.created", ka.key.id], ["key.created", kb.key.id]]);
      await c().call(WebhookService, "deleteWebhookEndpoint", { id: forAll.id }, ADMIN_KEY);
    } finally {
      await all.close();
    }
  });

  it("queues nothing for a disabled endpoint, and delivers again once it is enabled", async () => {
    rx = await startReceiver();
    const org = newOrg();
    const ep = (await endpoint(rx.url, org, ["key.created"])).endpoint!;
    const setEnabled = (enabled: boolean) => c().call(WebhookService, "updateWebhookEndpoint", { endpoint: { id: ep.id, enabled }, updateMask: { paths: ["enabled"] } }, ADMIN_KEY);
    await setEnabled(false);
    const quiet = (await createKey(c(), { orgId: org })).key;
    await t.deps.services.webhooks.feed.pass(true); // the feed has seen it (while the endpoint was disabled)
    await setEnabled(true);
    const heard = (await createKey(c(), { orgId: org })).key;
    await rx.until(() => rx.accepted().length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.accepted().map((r) => r.data.key_id)).toEqual([heard.id]);
    expect((await deliveries(ep.id)).map((d) => d.eventType)).toEqual(["key.created"]);
    expect(quiet.id).not.toBe(heard.id);
  });

  it("signs with both secrets during a rotation's grace period, and with the new one only after it", async () => {
    rx = await startReceiver();
    const org = newOrg();
    const created = await endpoint(rx.url, org);
    const rotated = await c().call(WebhookService, "rotateWebhookSecret", { id: created.endpoint!.id, gracePeriodSeconds: 60 }, ADMIN_KEY);
    expect(rotated.secret).not.toBe(created.secret);
    expect(rotated.endpoint!.previousSecretExpireTime).toBeDefined();
    await createKey(c(), { orgId: org });
    await rx.until(() => rx.accepted().length >= 1);
    const first = rx.accepted()[0]!;
    expect(first.signature.split(" ")).toHaveLength(2);
    expect(pythonVerifies([created.secret, rotated.secret], [first, first])).toEqual(["ok", "ok"]);
    t.clock.advance(61_000);
    await createKey(c(), { orgId: org });
    await rx.until(() => rx.accepted().length >= 2);
    const second = rx.accepted()[1]!;
    expect(second.signature.split(" ")).toHaveLength(1);
    expect(pythonVerifies([created.secret, rotated.secret], [second, second])).toEqual(["bad", "ok"]);
  });
});

/** The system clock behind ManualClock's type: ids and polls follow real time, as in production. */
class RealClock extends ManualClock {
  override nowMs() {
    return Date.now();
  }
}

describe.each(STORE_KINDS)("webhook delivery latency on the %s store", (kind) => {
  let t: TestServer;
  let rx: Receiver;
  beforeAll(async () => {
    t = await startTestServer(kind, `wh_latency_${kind}`, { clock: new RealClock(), config: { FLUX_WEBHOOK_ALLOW_PRIVATE: true } });
  });
  afterAll(async () => {
    await rx?.close();
    await t?.stop();
  });
  const c = () => t.callers[0]!;
  async function endpoint(url: string, orgId: string, eventTypes: string[]) {
    return c().call(WebhookService, "createWebhookEndpoint", { endpoint: { orgId, url, eventTypes } }, ADMIN_KEY);
  }

  it("measures delivery latency from the changing RPC's return to receipt (reported, not asserted)", async () => {
    rx = await startReceiver();
    const org = newOrg();
    await endpoint(rx.url, org, ["key.created"]);
    const returned = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      const { key } = await createKey(c(), { orgId: org });
      returned.set(key.id, performance.now());
      await new Promise((r) => setTimeout(r, 15));
    }
    await rx.until(() => rx.accepted().length >= 60, 60_000);
    const ms = rx.accepted().map((r) => r.atMs - returned.get(r.data.key_id as string)!);
    console.log(`[webhook latency, ${kind}, default poll 100 ms] p50 ${percentile(ms, 50).toFixed(1)} ms, p99 ${percentile(ms, 99).toFixed(1)} ms over ${ms.length} events`);
    expect(ms.length).toBe(60);
    // The delivery log pages newest first through all of them.
    const endpointId = (await c().call(WebhookService, "listWebhookEndpoints", { orgId: org }, ADMIN_KEY)).endpoints[0]!.id;
    const ids: string[] = [];
    let pageToken = "";
    do {
      const page = await c().call(WebhookService, "listWebhookDeliveries", { endpointId, pageSize: 25, pageToken }, ADMIN_KEY);
      expect(page.deliveries.length).toBeLessThanOrEqual(25);
      ids.push(...page.deliveries.map((d) => d.eventId));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(ids).toHaveLength(60);
    expect(ids).toEqual([...ids].sort().reverse());
    expect(new Set(ids)).toEqual(new Set(rx.accepted().map((r) => r.id)));
  });
});
