// The audit log over both stores and both transports: every kind of change leaves exactly one event with its
// before and after (never a secret or a digest), a change that does not apply leaves none, ListAuditEvents filters,
// pages, keeps tenants apart and bounds every request field; retention prunes.
import { join } from "node:path";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import Database from "better-sqlite3";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { AuditAction, AuditService, AuditTargetType, type ListAuditEventsRequest } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { createDigester } from "../../src/domain/key-material.js";
import type { EmbeddedStores } from "../../src/store/embedded/embedded-stores.js";
import type { MongoStores } from "../../src/store/mongo/mongo-stores.js";
import { type Caller, failure } from "../support/callers.js";
import { createKey, newOrg } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

type Query = Partial<Omit<ListAuditEventsRequest, "$typeName">>;
const list = (c: Caller, q: Query, adminKey = ADMIN_KEY) => c.call(AuditService, "listAuditEvents", q, adminKey);
const digest = createDigester(undefined);

describe.each(STORE_KINDS)("on %s", (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, `audit-log-${kind}`);
  });
  afterAll(() => t?.stop());

  /** Every event and every stored document, as text: what must never hold a secret or its digest. */
  async function everything(): Promise<string> {
    const events = await list(t.callers[0]!, { pageSize: 1000 });
    let stored = "";
    if (kind === "mongodb") {
      const db = (t.deps.stores as MongoStores).db;
      for (const name of ["audit_events", "audit_intents"]) stored += JSON.stringify(await db.collection(name).find({}).toArray());
      const docs = await db.collection("api_keys").find({}, { projection: { lastEvent: 1 } }).toArray();
      stored += JSON.stringify(docs);
    } else {
      const db = new Database(join((t.deps.stores as EmbeddedStores).dir, "flux.sqlite"), { readonly: true });
      stored += JSON.stringify(db.prepare("SELECT * FROM audit_events").all());
      db.close();
    }
    return JSON.stringify(events, (_k, v) => (typeof v === "bigint" ? String(v) : v)) + stored;
  }

  describe.each(["grpc", "connect"] as const)("over %s", (name) => {
    const c = () => t.callers.find((x) => x.name === name)!;

    it("records each kind of change exactly once, with the changed fields before and after and no secret", async () => {
      const orgId = newOrg();
      const scope = `audit:${name}`;
      await c().call(ApiKeyService, "defineScope", { scope: { name: scope, description: "first" } }, ADMIN_KEY);
      await c().call(ApiKeyService, "defineScope", { scope: { name: scope, description: "second" } }, ADMIN_KEY);
      const { key, secret } = await createKey(c(), { orgId, metadata: { team: "a" } });
      const upd = (paths: string[], apiKey: Record<string, unknown>) =>
        c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, ...apiKey }, updateMask: { paths } }, ADMIN_KEY);
      await upd(["name", "metadata"], { name: "renamed", metadata: { team: "b" } });
      await upd(["enabled"], { enabled: false });
      await upd(["enabled"], { enabled: true });
      const rotated = await c().call(ApiKeyService, "rotateApiKey", { id: key.id, gracePeriodSeconds: 60 }, ADMIN_KEY);
      await c().call(ApiKeyService, "revokeApiKey", { id: key.id }, ADMIN_KEY);
      await c().call(ApiKeyService, "deleteScope", { name: scope }, ADMIN_KEY);
      const admin = await c().call(AdminKeyService, "createAdminKey", { name: "ops", orgId }, ADMIN_KEY);
      await c().call(AdminKeyService, "revokeAdminKey", { id: admin.adminKey!.id }, ADMIN_KEY);

      const keyEvents = (await list(c(), { targetId: key.id })).events.reverse();
      expect(keyEvents.map((e) => AuditAction[e.action])).toEqual([
        "API_KEY_CREATED", "API_KEY_UPDATED", "API_KEY_DISABLED", "API_KEY_ENABLED", "API_KEY_ROTATED", "API_KEY_REVOKED",
      ]);
      for (const e of keyEvents) {
        expect(e).toMatchObject({ orgId, targetType: AuditTargetType.API_KEY, targetId: key.id, actorAdminKeyId: "bootstrap", callerAddress: "127.0.0.1" });
        expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
      }
      const [created, updated, disabled, enabled, rotation, revoked] = keyEvents;
      expect(created!.before).toEqual({});
      expect(created!.after).toMatchObject({ name: "test key", enabled: true, metadata: { team: "a" }, display_hint: key.displayHint });
      expect(updated).toMatchObject({ updateMask: ["name", "metadata"] });
      expect(updated!.before).toMatchObject({ name: "test key", metadata: { team: "a" } });
      expect(updated!.after).toMatchObject({ name: "renamed", metadata: { team: "b" } });
      expect(Object.keys(updated!.after!).sort()).toEqual(["metadata", "name", "updated_at"]);
      expect([disabled!.before!.enabled, disabled!.after!.enabled, enabled!.after!.enabled]).toEqual([true, false, true]);
      expect(rotation!.after).toMatchObject({ display_hint: rotated.apiKey!.displayHint, previous_secret_expires_at: expect.any(String) });
      expect(revoked!.before!.revoked_at).toBeUndefined();
      expect(revoked!.after!.revoked_at).toEqual(expect.any(String));

      const scopeEvents = (await list(c(), { targetId: scope, targetType: AuditTargetType.SCOPE })).events.reverse();
      expect(scopeEvents.map((e) => [AuditAction[e.action], e.before, e.after, e.orgId])).toEqual([
        ["SCOPE_DEFINED", {}, { name: scope, description: "first" }, ""],
        ["SCOPE_DEFINED", { description: "first" }, { description: "second" }, ""],
        ["SCOPE_DELETED", { name: scope, description: "second" }, {}, ""],
      ]);
      const adminEvents = (await list(c(), { targetId: admin.adminKey!.id })).events.reverse();
      expect(adminEvents.map((e) => [AuditAction[e.action], e.orgId])).toEqual([["ADMIN_KEY_CREATED", orgId], ["ADMIN_KEY_REVOKED", orgId]]);

      const all = await everything();
      for (const s of [secret, rotated.secret, admin.secret]) {
        expect(all).not.toContain(s.slice(5));
        expect(all).not.toContain(digest(s));
      }
    });

    it("records nothing for a change that does not apply", async () => {
      const { key } = await createKey(c());
      const scope = `noop:${name}`;
      await c().call(ApiKeyService, "defineScope", { scope: { name: scope, description: "same" } }, ADMIN_KEY);
      await c().call(ApiKeyService, "defineScope", { scope: { name: scope, description: "same" } }, ADMIN_KEY);
      await c().call(ApiKeyService, "revokeApiKey", { id: key.id }, ADMIN_KEY);
      await c().call(ApiKeyService, "revokeApiKey", { id: key.id }, ADMIN_KEY); // a retry: already revoked
      const err = await failure(c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, name: "x" }, updateMask: { paths: ["name"] } }, ADMIN_KEY));
      expect(err.reason).toBe("KEY_REVOKED");
      await failure(c().call(ApiKeyService, "deleteScope", { name: `${scope}-missing` }, ADMIN_KEY));
      await failure(c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id }, updateMask: { paths: ["org_id"] } }, ADMIN_KEY));
      const admin = await c().call(AdminKeyService, "createAdminKey", { name: "once" }, ADMIN_KEY);
      await c().call(AdminKeyService, "revokeAdminKey", { id: admin.adminKey!.id }, ADMIN_KEY);
      await c().call(AdminKeyService, "revokeAdminKey", { id: admin.adminKey!.id }, ADMIN_KEY);
      expect((await list(c(), { targetId: key.id })).events.map((e) => AuditAction[e.action])).toEqual(["API_KEY_REVOKED", "API_KEY_CREATED"]);
      expect((await list(c(), { targetId: scope })).events).toHaveLength(1);
      expect((await list(c(), { targetId: `${scope}-missing` })).events).toHaveLength(0);
      expect((await list(c(), { targetId: admin.adminKey!.id })).events).toHaveLength(2);
    });

    it("leaves one event per applied change when changes race on one key", async () => {
      const { key } = await createKey(c());
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, name: `racer ${i}` }, updateMask: { paths: ["name"] } }, ADMIN_KEY),
        ),
      );
      const applied = results.filter((r) => r.status === "fulfilled").length;
      const updates = (await list(c(), { targetId: key.id })).events.filter((e) => e.action === AuditAction.API_KEY_UPDATED);
      expect(updates).toHaveLength(applied);
      // Each event starts from the state the previous one left: none missing, none extra.
      const chain = updates.reverse();
      for (let i = 1; i < chain.length; i++) expect(chain[i]!.before!.name).toBe(chain[i - 1]!.after!.name);
      const final = await c().call(ApiKeyService, "getApiKey", { id: key.id }, ADMIN_KEY);
      expect(chain.at(-1)!.after!.name).toBe(final.apiKey!.name);
    });

    it("filters by organisation, target, target type, actor and time range", async () => {
      const [orgA, orgB] = [newOrg(), newOrg()];
      const ops = await c().call(AdminKeyService, "createAdminKey", { name: "ops" }, ADMIN_KEY);
      const startMs = t.clock.nowMs();
      const a = await createKey(c(), { orgId: orgA });
      t.clock.advance(60_000);
      const middleMs = t.clock.nowMs();
      const b = (await c().call(ApiKeyService, "createApiKey", { orgId: orgB, name: "by ops" }, ops.secret)).apiKey!;
      t.clock.advance(60_000);
      expect((await list(c(), { orgId: orgA })).events.map((e) => e.targetId)).toEqual([a.key.id]);
      expect((await list(c(), { targetId: b.id })).events.map((e) => e.orgId)).toEqual([orgB]);
      expect((await list(c(), { actorAdminKeyId: ops.adminKey!.id })).events.map((e) => e.targetId)).toEqual([b.id]);
      expect((await list(c(), { orgId: orgA, targetType: AuditTargetType.SCOPE })).events).toEqual([]);
      const window = (s: number, e: number) => list(c(), { startTime: timestampFromMs(s), endTime: timestampFromMs(e) });
      expect((await window(startMs, middleMs)).events.filter((e) => [a.key.id, b.id].includes(e.targetId)).map((e) => e.targetId)).toEqual([a.key.id]);
      expect((await window(middleMs, t.clock.nowMs())).events.map((e) => e.targetId)).toEqual([b.id]);
      expect((await window(middleMs, middleMs)).events).toEqual([]);
    });

    it("pages newest first without gaps or repeats", async () => {
      const orgId = newOrg();
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        ids.push((await createKey(c(), { orgId })).key.id);
        t.clock.advance(1);
      }
      const seen: string[] = [];
      let pageToken = "";
      let pages = 0;
      do {
        const page = await list(c(), { orgId, pageSize: 3, pageToken });
        seen.push(...page.events.map((e) => e.targetId));
        pageToken = page.nextPageToken;
        pages++;
      } while (pageToken);
      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].reverse());
    });

    it("shows an org-limited admin key only its organisation, and refuses validate-only keys", async () => {
      const [mine, theirs] = [newOrg(), newOrg()];
      const own = await c().call(AdminKeyService, "createAdminKey", { name: "tenant", orgId: mine }, ADMIN_KEY);
      const ro = await c().call(AdminKeyService, "createAdminKey", { name: "ro", validateOnly: true }, ADMIN_KEY);
      const k1 = await createKey(c(), { orgId: mine });
      const k2 = await createKey(c(), { orgId: theirs });
      const seen = (await list(c(), { pageSize: 1000 }, own.secret)).events;
      expect(seen.length).toBeGreaterThan(0);
      expect(new Set(seen.map((e) => e.orgId))).toEqual(new Set([mine]));
      expect(seen.map((e) => e.targetId)).toContain(k1.key.id);
      expect((await list(c(), { orgId: theirs }, own.secret)).events).toEqual([]);
      expect((await list(c(), { targetId: k2.key.id }, own.secret)).events).toEqual([]);
      expect((await list(c(), { targetId: k2.key.id })).events).toHaveLength(1);
      expect(await failure(list(c(), {}, ro.secret))).toMatchObject({ code: Code.PermissionDenied });
      expect(await failure(list(c(), {}, "not-a-key"))).toMatchObject({ code: Code.Unauthenticated });
    });

    it.each([
      ["page_size", { pageSize: 1000 }, { pageSize: 1001 }],
      ["target_id", { targetId: "t".repeat(100) }, { targetId: "t".repeat(101) }],
      ["actor_admin_key_id", { actorAdminKeyId: "a".repeat(64) }, { actorAdminKeyId: "a".repeat(65) }],
      ["org_id", { orgId: "o".repeat(128) }, { orgId: "o".repeat(129) }],
      ["end_time", { startTime: timestampFromMs(1000), endTime: timestampFromMs(1000) }, { startTime: timestampFromMs(1000), endTime: timestampFromMs(999) }],
      ["page_token", { pageToken: Buffer.from(`evt_${"0".repeat(26)}`).toString("base64url") }, { pageToken: "x".repeat(201) }],
      ["page_token", { pageToken: "" }, { pageToken: Buffer.from("evt_not-ours").toString("base64url") }],
      ["target_type", { targetType: AuditTargetType.ADMIN_KEY }, { targetType: 99 as AuditTargetType }],
    ] as [string, Query, Query][])("bounds %s: accepted at the limit, INVALID_ARGUMENT past it", async (field, at, past) => {
      await list(c(), at);
      const err = await failure(list(c(), past));
      expect(err).toMatchObject({ code: Code.InvalidArgument });
      expect(err.metadata.field ?? field).toContain(field);
    });
  });

  it("prunes events older than the retention, and only those", async () => {
    const { key } = await createKey(t.callers[0]!);
    t.clock.advance(200 * 86_400_000);
    await t.callers[0]!.call(ApiKeyService, "revokeApiKey", { id: key.id }, ADMIN_KEY);
    t.clock.advance(200 * 86_400_000); // the creation is 400 days old, the revocation 200
    await t.deps.services.audit.prune();
    const left = (await list(t.callers[0]!, { targetId: key.id })).events.map((e) => AuditAction[e.action]);
    expect(left).toEqual(["API_KEY_REVOKED"]);
  });
});
