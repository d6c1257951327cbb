// The admin-key cache against a fake store and a manual clock: revocations win over in-flight lookups, entries age
// out, a stale change feed bypasses the cache, and a flood of made-up keys cannot push real ones out.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/domain/clock.js";
import { FluxError } from "../../src/domain/errors.js";
import { ADMIN_KEY_PREFIX, createDigester, generateSecret } from "../../src/domain/key-material.js";
import type { AdminKeyRecord } from "../../src/domain/types.js";
import { AdminAuth, type AdminAuthOptions } from "../../src/services/admin-auth.js";
import { AuthThrottle, clientAddress } from "../../src/services/auth-throttle.js";
import type { AdminKeyStore } from "../../src/store/types.js";

const digest = createDigester(undefined);

class FakeAdminKeys implements AdminKeyStore {
  readonly byDigest = new Map<string, AdminKeyRecord>();
  reads = 0;
  private gate?: Promise<void>;

  hold(): () => void {
    let open!: () => void;
    this.gate = new Promise<void>((r) => (open = r));
    return () => {
      this.gate = undefined;
      open();
    };
  }

  add(secret: string, patch: Partial<AdminKeyRecord> = {}): AdminKeyRecord {
    const rec: AdminKeyRecord = { id: `adm_${this.byDigest.size}`, name: "a", validateOnly: false, displayHint: "x", digest: digest(secret), createdAtMs: 0, ...patch };
    this.byDigest.set(rec.digest, rec);
    return rec;
  }

  async findByDigest(d: string) {
    this.reads++;
    const rec = this.byDigest.get(d);
    const snapshot = rec && { ...rec };
    if (this.gate) await this.gate;
    return snapshot;
  }
  async insert() {}
  async insertIfAbsent() {
    return true;
  }
  async list() {
    return [...this.byDigest.values()];
  }
  async revoke(id: string, atMs: number) {
    const rec = [...this.byDigest.values()].find((r) => r.id === id);
    if (rec) rec.revokedAtMs ??= atMs;
    return rec;
  }
  async count() {
    return this.byDigest.size;
  }
}

function setup(opts: AdminAuthOptions = {}) {
  const store = new FakeAdminKeys();
  const clock = new ManualClock();
  const auth = new AdminAuth(store, digest, clock, undefined, { maxAgeMs: 5000, negativeTtlMs: 2000, maxEntries: 100, negativeMaxEntries: 50, ...opts });
  return { store, clock, auth };
}

const bearer = (s: string) => `Bearer ${s}`;
const reasonOf = (p: Promise<unknown>) => p.then(() => "OK", (e: FluxError) => e.reason);

describe("AdminAuth cache", () => {
  it("does not re-cache a principal whose revocation landed while its lookup was in flight", async () => {
    const { store, auth } = setup();
    const secret = generateSecret(ADMIN_KEY_PREFIX);
    const rec = store.add(secret);
    const release = store.hold();
    const inFlight = auth.authenticate(bearer(secret)); // reads the key before the revocation
    await store.revoke(rec.id, 1);
    auth.invalidate([rec.digest]);
    release();
    expect((await inFlight).adminKeyId).toBe(rec.id);
    expect(await reasonOf(auth.authenticate(bearer(secret)))).toBe("ADMIN_KEY_INVALID");
  });

  it("bypasses the cache while the change feed is stale", async () => {
    let fresh = true;
    const { store, auth } = setup({ isFresh: () => fresh });
    const secret = generateSecret(ADMIN_KEY_PREFIX);
    const rec = store.add(secret);
    await auth.authenticate(bearer(secret));
    fresh = false;
    await store.revoke(rec.id, 1); // another replica's revocation this replica has not seen
    expect(await reasonOf(auth.authenticate(bearer(secret)))).toBe("ADMIN_KEY_INVALID");
  });

  it("reads a cached admin key again at its maximum age, so a lost invalidation heals by itself", async () => {
    const { store, clock, auth } = setup({ maxAgeMs: 1000 });
    const secret = generateSecret(ADMIN_KEY_PREFIX);
    const rec = store.add(secret);
    await auth.authenticate(bearer(secret));
    await store.revoke(rec.id, 1);
    clock.advance(999);
    expect(await reasonOf(auth.authenticate(bearer(secret)))).toBe("OK");
    clock.advance(1);
    expect(await reasonOf(auth.authenticate(bearer(secret)))).toBe("ADMIN_KEY_INVALID");
  });

  it("reads an unknown admin key again once its negative entry expires", async () => {
    const { store, clock, auth } = setup({ negativeTtlMs: 2000 });
    const secret = generateSecret(ADMIN_KEY_PREFIX);
    expect(await reasonOf(auth.authenticate(bearer(secret)))).toBe("ADMIN_KEY_INVALID");
    store.add(secret); // created through another replica or the CLI
    clock.advance(1999);
    expect(await reasonOf(auth.authenticate(bearer(secret)))).toBe("ADMIN_KEY_INVALID");
    clock.advance(1);
    expect(await reasonOf(auth.authenticate(bearer(secret)))).toBe("OK");
  });

  it("keeps real admin keys cached through a flood of made-up well-formed keys", async () => {
    const { store, auth } = setup({ maxEntries: 100, negativeMaxEntries: 50 });
    const secret = generateSecret(ADMIN_KEY_PREFIX);
    store.add(secret);
    await auth.authenticate(bearer(secret));
    const readsBefore = store.reads;
    for (let i = 0; i < 10_001; i++) await reasonOf(auth.authenticate(bearer(generateSecret(ADMIN_KEY_PREFIX))));
    expect(store.reads - readsBefore).toBe(10_001);
    expect(await reasonOf(auth.authenticate(bearer(secret)))).toBe("OK");
    expect(store.reads - readsBefore).toBe(10_001); // served from the cache
    expect(auth.stats.negativeSize).toBeLessThanOrEqual(50);
  });
});

describe("AdminAuth with a throttle on failed attempts", () => {
  const throttled = () => {
    const { store, auth } = setup({ throttle: new AuthThrottle({ failures: 3, windowSeconds: 60 }) });
    const good = generateSecret(ADMIN_KEY_PREFIX);
    store.add(good);
    return { store, auth, good };
  };
  const guess = () => bearer(generateSecret(ADMIN_KEY_PREFIX));

  it("answers AUTH_THROTTLED with a retry delay past the threshold, without reading the store", async () => {
    const { store, auth } = throttled();
    for (let i = 0; i < 3; i++) expect(await reasonOf(auth.authenticate(guess(), "10.0.0.1"))).toBe("ADMIN_KEY_INVALID");
    const e = await auth.authenticate(guess(), "10.0.0.1").catch((err: FluxError) => err);
    expect(e).toMatchObject({ reason: "AUTH_THROTTLED" });
    expect((e as FluxError).retryAfterMs).toBeGreaterThan(0);
    expect((e as FluxError).retryAfterMs).toBeLessThanOrEqual(60_000);
    const reads = store.reads;
    expect(await reasonOf(auth.authenticate(guess(), "10.0.0.1"))).toBe("AUTH_THROTTLED");
    expect(await reasonOf(auth.authenticate("Bearer not-even-well-formed", "10.0.0.1"))).toBe("AUTH_THROTTLED");
    expect(store.reads).toBe(reads);
  });

  it("keeps serving a key proven from the throttled address, and other addresses", async () => {
    const { auth, good } = throttled();
    await auth.authenticate(guess(), "10.0.0.1").catch(() => {});
    expect(await reasonOf(auth.authenticate(bearer(good), "10.0.0.1"))).toBe("OK"); // proven while the address failed
    for (let i = 0; i < 5; i++) await auth.authenticate(guess(), "10.0.0.1").catch(() => {});
    expect(await reasonOf(auth.authenticate(guess(), "10.0.0.1"))).toBe("AUTH_THROTTLED");
    expect(await reasonOf(auth.authenticate(bearer(good), "10.0.0.1"))).toBe("OK");
    expect(await reasonOf(auth.authenticate(guess(), "10.0.0.2"))).toBe("ADMIN_KEY_INVALID");
    expect(await reasonOf(auth.authenticate(bearer(good), "10.0.0.2"))).toBe("OK");
  });

  it("does not count missing admin keys (nothing was guessed)", async () => {
    const { auth } = throttled();
    for (let i = 0; i < 10; i++) expect(await reasonOf(auth.authenticate(undefined, "10.0.0.1"))).toBe("ADMIN_KEY_MISSING");
    expect(await reasonOf(auth.authenticate(guess(), "10.0.0.1"))).toBe("ADMIN_KEY_INVALID");
  });

  it("throttles an IPv6 client by its /64 and an IPv4-mapped one by its IPv4 address", () => {
    expect(clientAddress("ipv4:192.0.2.7:50123")).toBe("192.0.2.7");
    expect(clientAddress("::ffff:192.0.2.7")).toBe("192.0.2.7");
    expect(clientAddress("[2001:db8:1:2:aaaa::1]:443")).toBe("2001:db8:1:2::/64");
    expect(clientAddress("2001:db8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
    expect(clientAddress("ipv6:[::1]:5000")).toBe("0:0:0:0::/64");
    expect(clientAddress(undefined)).toBeUndefined();
  });
});
