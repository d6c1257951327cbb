// The validator hub's rules on a clock moved by hand (no sockets, no sleeping): a change waits for acknowledgements,
// a mute session is cut off at the acknowledgement timeout and waited out until stale_after has passed since its last
// answered acknowledgement, sessions that cannot be fresh are not waited for, and only sessions that can see a key
// are told about it.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { ApiKeyRecord, OrgPolicy, Principal } from "../../src/domain/types.js";
import type { SyncTime } from "../../src/services/replica-sync.js";
import { ValidatorHub, type ValidatorSettings } from "../../src/services/validator-hub.js";
import type { ValidatorMessage } from "../../src/services/validator-session.js";

class HandTime implements SyncTime {
  t = 0;
  private sleepers: { at: number; wake: () => void }[] = [];
  now = () => this.t;
  sleep = (ms: number) => new Promise<void>((wake) => this.sleepers.push({ at: this.t + ms, wake }));
  async advance(ms: number) {
    this.t += ms;
    const due = this.sleepers.filter((s) => s.at <= this.t);
    this.sleepers = this.sleepers.filter((s) => s.at > this.t);
    for (const s of due) s.wake();
    await settle();
  }
}

const settle = () => new Promise((r) => setImmediate(r));
const SETTINGS: ValidatorSettings = { heartbeatMs: 100, staleAfterMs: 500, ackTimeoutMs: 300, maxSessions: 10 };
const principal = (orgId?: string, id = "adm_1"): Principal => ({ adminKeyId: id, orgId, validateOnly: false, localValidation: true });
const key = (id: string, orgId: string, over: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id, orgId, name: id, scopes: [], metadata: {}, enabled: true, displayHint: "flux_…x", createdAtMs: 1, updatedAtMs: 1, digest: `d-${id}`, ...over,
});

function setup() {
  const keys = new Map<string, ApiKeyRecord>([["k1", key("k1", "a")], ["k2", key("k2", "b")]]);
  const orgs = new Map<string, OrgPolicy>();
  const time = new HandTime();
  const store = {
    get: async (id: string) => keys.get(id),
    list: async (q: { orgId?: string }) => [...keys.values()].filter((k) => !q.orgId || k.orgId === q.orgId),
  };
  const orgStore = { get: async (id: string) => orgs.get(id), list: async () => [...orgs.values()] };
  const hub = new ValidatorHub(store, orgStore, pino({ level: "silent" }), SETTINGS, {}, time);
  /** A session with every message it was sent collected as the stream takes them. */
  const open = async (p = principal()) => {
    const { session, messages } = hub.subscribe(p, "t");
    const got: ValidatorMessage[] = [];
    void (async () => {
      for await (const m of messages) got.push(m);
    })().catch(() => {});
    await settle();
    return { session, got };
  };
  return { hub, time, keys, orgs, open };
}

function watch(p: Promise<void> | undefined) {
  const w = { done: false };
  void p?.then(() => (w.done = true));
  if (!p) w.done = true;
  return w;
}

describe("ValidatorHub", () => {
  it("sends the session, then the snapshot; a change waits for the acknowledgement of its seq", async () => {
    const { hub, time, keys, open } = setup();
    const { session, got } = await open();
    expect(got.map((m) => m.event.kind)).toEqual(["session", "snapshot"]);
    expect(await hub.acknowledge(session.id, principal(), 2)).toBe(2);
    keys.set("k1", key("k1", "a", { enabled: false }));
    const change = watch(hub.deliver(["d-k1", "key:k1"]));
    await settle();
    expect(got[2]).toMatchObject({ seq: 3, event: { kind: "key", key: { id: "k1", enabled: false } } });
    await time.advance(100);
    expect(change.done).toBe(false);
    expect(await hub.acknowledge(session.id, principal(), 3)).toBe(3);
    await settle();
    expect(change.done).toBe(true);
  });

  it("cuts off a mute session at the acknowledgement timeout and releases the change stale_after after its last answer", async () => {
    const { hub, time, open } = setup();
    const { session } = await open();
    await time.advance(50);
    await hub.acknowledge(session.id, principal(), 2); // answered at t = 50
    const change = watch(hub.deliver(["key:k1"]));
    await settle();
    await time.advance(SETTINGS.ackTimeoutMs + 1); // t = 351: past the timeout
    hub.tick();
    expect(session.ended?.reason).toBe("VALIDATOR_SESSION_ENDED");
    await expect(hub.acknowledge(session.id, principal(), 3)).rejects.toMatchObject({ reason: "VALIDATOR_SESSION_ENDED" });
    await time.advance(50 + SETTINGS.staleAfterMs - 351 - 1); // t = 549: the validator may still be fresh
    expect(change.done).toBe(false);
    await time.advance(1); // t = 550 = last answer + stale_after
    expect(change.done).toBe(true);
  });

  it("does not wait for a session that was never answered an acknowledgement (it cannot be fresh without applying the change)", async () => {
    const { hub, open } = setup();
    await open();
    expect(hub.deliver(["key:k1"])).toBeDefined();
    const change = watch(hub.deliver(["key:k1"]));
    await settle();
    expect(change.done).toBe(true);
  });

  it("tells an org-limited session only its organisation's keys and policies", async () => {
    const { hub, orgs, open } = setup();
    const a = await open(principal("a", "adm_a"));
    expect(a.got[1]).toMatchObject({ event: { kind: "snapshot", complete: true } });
    const snapshot = a.got[1]!.event;
    expect(snapshot.kind === "snapshot" && snapshot.keys.map((k) => k.id)).toEqual(["k1"]);
    orgs.set("b", { orgId: "b", rateLimit: { requests: 1, windowSeconds: 1 }, updatedAtMs: 1 });
    await hub.deliver(["key:k2", "org:b"]);
    await hub.deliver(["org:a"]);
    await settle();
    expect(a.got.slice(2).map((m) => m.event)).toEqual([{ kind: "org", org: { orgId: "a", validateRemotely: false } }]);
  });

  it("ends the sessions of a revoked admin key, and answers another admin key's session like a missing one", async () => {
    const { hub, open } = setup();
    const mine = await open(principal(undefined, "adm_1"));
    const other = await open(principal(undefined, "adm_2"));
    expect(() => hub.session(other.session.id, principal(undefined, "adm_1"))).toThrow(/session ended/);
    expect(() => hub.session("vs_missing", principal(undefined, "adm_1"))).toThrow(/session ended/);
    await hub.deliver(["digest", "adm:adm_1"]);
    expect(mine.session.ended?.reason).toBe("VALIDATOR_SESSION_ENDED");
    expect(other.session.ended).toBeUndefined();
  });

  it("sends heartbeats on a silent stream and refuses sessions past the bound", async () => {
    const { hub, time, open } = setup();
    const { got } = await open();
    await time.advance(SETTINGS.heartbeatMs);
    hub.tick();
    await settle();
    expect(got.at(-1)).toMatchObject({ seq: 3, event: { kind: "heartbeat" } });
    for (let i = 1; i < SETTINGS.maxSessions; i++) await open();
    expect(() => hub.subscribe(principal(), "one too many")).toThrow(/maximum of 10/);
  });

  it("refuses an admin key without the local_validation right", () => {
    const { hub } = setup();
    expect(() => hub.subscribe({ adminKeyId: "x", validateOnly: false }, "")).toThrow(/local_validation/);
  });
});
