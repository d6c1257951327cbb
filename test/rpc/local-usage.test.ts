// ReportLocalUsage through the wire (raw validators over grpc-js and Connect), on both stores: local answers land in
// the same usage as ValidateApiKey's (GetApiKeyUsage, the organisation's roll-up, unused scopes, /metrics), a report
// counts once per report_seq and all of it or none, another organisation's keys are ignored, and local refusals
// send the same webhooks as network ones.
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { OrganizationService } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { WebhookService } from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";
import { failure } from "../support/callers.js";
import { createKey, defineScopes, newOrg, validate } from "../support/fixtures.js";
import { LimitsClient, validatorAdminKey } from "../support/local-limits-client.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";
import { type Receiver, startReceiver } from "../support/webhook-receiver.js";

const settle = () => new Promise((r) => setTimeout(r, 400)); // a few webhook polls: time for a wrong second event to show

describe.each(STORE_KINDS)("ReportLocalUsage on the %s store", (kind) => {
  let t: TestServer;
  let adminKey: string;
  const open: LimitsClient[] = [];
  const validator = async (ci = 0, key = adminKey) => {
    const v = await new LimitsClient(t.callers[ci]!, key, { grpc: t.server.grpcPort, http: t.server.httpPort }).ready();
    open.push(v);
    return v;
  };
  beforeAll(async () => {
    t = await startTestServer(kind, "local-usage", { config: { FLUX_WEBHOOK_ALLOW_PRIVATE: true } });
    adminKey = await validatorAdminKey(t.callers[0]!);
    await defineScopes(t.callers[0]!, "data:read", "data:write", "admin");
  });
  afterAll(async () => {
    for (const v of open) v.close();
    await t?.stop();
  });

  const usage = (id: string) => t.callers[0]!.call(ApiKeyService, "getApiKeyUsage", { id }, ADMIN_KEY);
  const counts = (u: { outcomes: { outcome: Outcome; count: bigint }[] }) => Object.fromEntries(u.outcomes.map((o) => [Outcome[o.outcome], Number(o.count)]));
  const metric = async (outcome: string, name = "flux_validations_total") => {
    const body = await (await fetch(`http://127.0.0.1:${t.server.httpPort}/metrics`)).text();
    return Number(body.match(new RegExp(`^${name}\\{outcome="${outcome}"\\} (\\d+)`, "m"))?.[1] ?? 0);
  };

  it.each([0, 1])("counts reported answers with network ones: GetApiKeyUsage, last use, unused scopes, the organisation and /metrics (caller %i)", async (ci) => {
    const c = t.callers[ci]!;
    const org = newOrg();
    const { key, secret } = await createKey(c, { orgId: org, scopes: ["data:read", "data:write", "admin"] });
    const v = await validator(ci);
    const [valid0, scope0, local0] = [await metric("VALID"), await metric("INSUFFICIENT_SCOPE"), await metric("VALID", "flux_local_validations_total")];
    for (let i = 0; i < 3; i++) await validate(c, secret, ["data:read"]);
    const usedAtMs = t.clock.nowMs() - 500;
    await v.report(
      [{ keyId: key.id, outcomes: [[Outcome.VALID, 40], [Outcome.INSUFFICIENT_SCOPE, 2], [Outcome.VALID, 2]], scopeUses: [["data:write", 42]], lastUsedAtMs: usedAtMs }],
      { malformed: 5 },
    );
    const u = await usage(key.id);
    expect(counts(u)).toEqual({ VALID: 45, INSUFFICIENT_SCOPE: 2 });
    expect([u.requestsCurrentPeriod, u.errorsCurrentPeriod]).toEqual([47n, 2n]);
    expect(timestampMs(u.lastUsedAt!)).toBe(t.clock.nowMs()); // the network's later VALID answer
    expect(u.unusedScopes).toEqual(["admin"]); // data:read by the network, data:write by the validator
    const o = await c.call(OrganizationService, "getOrganizationUsage", { orgId: org }, ADMIN_KEY);
    expect([o.requests, o.errors]).toEqual([47n, 2n]);
    expect([(await metric("VALID")) - valid0, (await metric("INSUFFICIENT_SCOPE")) - scope0]).toEqual([45, 2]);
    expect((await metric("VALID", "flux_local_validations_total")) - local0).toBe(42); // the local share alone
  });

  it("moves last use to the validator's time of its latest VALID answer, never into the future", async () => {
    const { key } = await createKey(t.callers[0]!);
    const v = await validator();
    await v.report([{ keyId: key.id, outcomes: [[Outcome.VALID, 1]], lastUsedAtMs: t.clock.nowMs() - 2000 }]);
    expect(timestampMs((await usage(key.id)).lastUsedAt!)).toBe(t.clock.nowMs() - 2000);
    await v.report([{ keyId: key.id, outcomes: [[Outcome.VALID, 1]], lastUsedAtMs: t.clock.nowMs() + 3_600_000 }]);
    expect(timestampMs((await usage(key.id)).lastUsedAt!)).toBe(t.clock.nowMs());
  });

  it("counts a report once per report_seq: a retry, and an older seq, are acknowledged and not counted", async () => {
    const { key } = await createKey(t.callers[0]!);
    const v = await validator(1);
    const entry = [{ keyId: key.id, outcomes: [[Outcome.VALID, 7]] as [Outcome, number][] }];
    await v.report(entry, { seq: 1 });
    await v.report(entry, { seq: 1 });
    await Promise.all([v.report(entry, { seq: 2 }), v.report(entry, { seq: 2 })]); // a retry racing the first attempt
    await v.report(entry, { seq: 1 });
    expect(counts(await usage(key.id))).toEqual({ VALID: 14 });
  });

  it("counts nothing when a key cannot be read (UNAVAILABLE), and the retry with the same report_seq counts once", async () => {
    const { key } = await createKey(t.callers[0]!);
    const v = await validator();
    const keys = t.deps.stores.keys;
    const own = Object.getOwnPropertyDescriptor(keys, "get");
    const real = keys.get.bind(keys);
    let failNext = true;
    keys.get = async (id: string) => {
      if (id === key.id && failNext) {
        failNext = false;
        throw new Error("injected: key read failed");
      }
      return real(id);
    };
    try {
      const entry = [{ keyId: key.id, outcomes: [[Outcome.VALID, 3], [Outcome.REVOKED, 1]] as [Outcome, number][] }];
      const f = await failure(v.report(entry, { seq: 1 }));
      expect([f.code, f.reason]).toEqual([Code.Unavailable, "STORE_UNAVAILABLE"]);
      expect(counts(await usage(key.id))).toEqual({});
      await v.report(entry, { seq: 1 });
      await v.report(entry, { seq: 1 });
      expect(counts(await usage(key.id))).toEqual({ VALID: 3, REVOKED: 1 });
    } finally {
      if (own) Object.defineProperty(keys, "get", own);
      else delete (keys as { get?: unknown }).get; // the class method is back
    }
  });

  it("counts the report when a returned lease cannot be written, and drops that lease rather than risk returning it twice", async () => {
    const c = t.callers[0]!;
    const res = await c.call(ApiKeyService, "createApiKey", { orgId: newOrg(), name: "metered", credits: { remaining: 10n } }, ADMIN_KEY);
    const v = await validator();
    expect((await v.lease(res.apiKey!.id, 0, 4n)).credits!.granted).toBe(4n);
    const ledger = t.deps.services.ledger;
    const real = ledger.giveBack.bind(ledger);
    ledger.giveBack = async () => {
      throw new Error("injected: balance write failed");
    };
    try {
      await v.report([{ keyId: res.apiKey!.id, outcomes: [[Outcome.VALID, 1]], credits: 3 }], { seq: 1 });
    } finally {
      ledger.giveBack = real;
    }
    await v.report([{ keyId: res.apiKey!.id, outcomes: [[Outcome.VALID, 1]], credits: 3 }], { seq: 1 }); // a retry
    expect(counts(await usage(res.apiKey!.id))).toEqual({ VALID: 1 });
    let admitted = 0;
    while ((await validate(c, res.secret)).outcome === Outcome.VALID) admitted++;
    expect(admitted).toBe(6); // 10 − 4 leased; the 3 unused were lost (under-admission), never returned twice
  });

  it("ignores entries for another organisation's keys and for unknown ids, and counts the rest of the report", async () => {
    const c = t.callers[1]!;
    const orgA = newOrg();
    const own = (await createKey(c, { orgId: orgA })).key;
    const other = (await createKey(c)).key;
    const v = await validator(1, await validatorAdminKey(c, orgA));
    await v.report([
      { keyId: other.id, outcomes: [[Outcome.VALID, 100]] },
      { keyId: own.id, outcomes: [[Outcome.VALID, 2]] },
      { keyId: "key_00000000000000000000", outcomes: [[Outcome.VALID, 1]] },
    ]);
    expect(counts(await usage(other.id))).toEqual({});
    expect(counts(await usage(own.id))).toEqual({ VALID: 2 });
  });

  it("ends the session on a closing report, after counting it and taking its returned leases back", async () => {
    const c = t.callers[0]!;
    const res = await c.call(ApiKeyService, "createApiKey", { orgId: newOrg(), name: "limited", rateLimit: { requests: 20, windowSeconds: 3600 } }, ADMIN_KEY);
    const v = await validator();
    expect((await v.lease(res.apiKey!.id, 2)).rateLimit!.granted).toBe(2);
    await v.report([{ keyId: res.apiKey!.id, outcomes: [[Outcome.VALID, 1]], points: 1 }], { closing: true });
    expect(await v.stream.ended()).toMatchObject({ code: Code.FailedPrecondition, reason: "VALIDATOR_SESSION_ENDED" });
    expect(counts(await usage(res.apiKey!.id))).toEqual({ VALID: 1 });
    let admitted = 0;
    while ((await validate(c, res.secret)).outcome === Outcome.VALID) admitted++;
    expect(admitted).toBe(19);
  });

  describe("webhooks", () => {
    let rx: Receiver;
    afterEach(() => rx?.close());
    async function listen(types: string[]) {
      rx = await startReceiver();
      const orgId = newOrg();
      await t.callers[0]!.call(WebhookService, "createWebhookEndpoint", { endpoint: { orgId, url: rx.url, eventTypes: types } }, ADMIN_KEY);
      return orgId;
    }

    it("sends key.rate_limited for a local refusal, once per window together with network refusals", async () => {
      const c = t.callers[0]!;
      const org = await listen(["key.rate_limited"]);
      const { key, secret } = await createKey(c, { orgId: org, rateLimit: { requests: 2, windowSeconds: 60 } });
      const v = await validator();
      expect((await v.lease(key.id, 2)).rateLimit!.granted).toBe(1);
      await validate(c, secret);
      await v.report([{ keyId: key.id, outcomes: [[Outcome.VALID, 1], [Outcome.RATE_LIMITED, 3]] }]);
      await rx.until(() => rx.accepted().length >= 1);
      expect((await validate(c, secret)).outcome).toBe(Outcome.RATE_LIMITED);
      await v.report([{ keyId: key.id, outcomes: [[Outcome.RATE_LIMITED, 1]] }]);
      await settle();
      expect(rx.accepted()).toHaveLength(1);
      expect(rx.accepted()[0]!.data).toMatchObject({ key_id: key.id, org_id: org, refused_by: "KEY", limit: 2 });
    });

    it("sends credits.low and credits.exhausted for local answers, once per balance period", async () => {
      const c = t.callers[0]!;
      const org = await listen(["credits.low", "credits.exhausted"]);
      const res = await c.call(ApiKeyService, "createApiKey", { orgId: org, name: "metered", credits: { remaining: 20n } }, ADMIN_KEY);
      const id = res.apiKey!.id;
      const v = await validator();
      expect((await v.lease(id, 0, 19n)).credits!.granted).toBe(19n); // 1 left in the store: at most 10% of 20
      await v.report([{ keyId: id, outcomes: [[Outcome.VALID, 19]] }]);
      await rx.until(() => rx.accepted().length >= 1);
      expect((await v.lease(id, 0, 5n)).credits!.granted).toBe(1n);
      await v.report([{ keyId: id, outcomes: [[Outcome.VALID, 1], [Outcome.USAGE_EXCEEDED, 2]] }]);
      await rx.until(() => rx.accepted().length >= 2);
      await settle();
      expect(rx.accepted().map((r) => r.type)).toEqual(["credits.low", "credits.exhausted"]);
      expect(rx.accepted()[1]!.data).toMatchObject({ key_id: id, level: "KEY" });
    });
  });
});
