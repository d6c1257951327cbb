// The local validator's offline rules against the server's own functions, without a server: well-formedness,
// digests, CIDR matching, request checks, the decision order, leases and usage reports.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { KeyState } from "../../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import { type LocalKey, LocalKeySchema, LeaseLimitsResponseSchema } from "../../../gen/ts/flux/apikeys/v1/local_validation_pb.js";
import { Outcome as WireOutcome } from "../../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { compileCidrs as serverCidrs, normaliseCidrs } from "../../../src/domain/cidr.js";
import { API_KEY_PREFIX, createDigester as serverDigester, generateSecret, isWellFormed } from "../../../src/domain/key-material.js";
import { compileCidrs, createDigester, isPlainRequest, isWellFormedKey, pepperId } from "../src/local-checks.js";
import { decideKey, meter } from "../src/local-decision.js";
import { LeaseBook, rateChunk } from "../src/local-leases.js";
import { KeyTable, toEntry } from "../src/local-table.js";
import { UsageCounter } from "../src/local-usage.js";
import { KeyInfo } from "../src/types.js";

function localKey(over: Omit<MessageInitShape<typeof LocalKeySchema>, "$typeName"> = {}, info: Record<string, unknown> = {}): LocalKey {
  return create(LocalKeySchema, {
    digest: "d1",
    state: KeyState.ACTIVE,
    info: { id: "key_1", orgId: "acme", name: "k", scopes: ["data:read"], metadata: { a: "b" }, ...info },
    ...over,
  });
}

describe("shape, checksum and digest, as the server computes them", () => {
  it("calls a secret well formed exactly when the server does", () => {
    for (let i = 0; i < 200; i++) {
      const s = generateSecret(API_KEY_PREFIX);
      expect(isWellFormedKey(s)).toBe(true);
      const typo = s.slice(0, 10) + (s[10] === "a" ? "b" : "a") + s.slice(11);
      expect(isWellFormedKey(typo)).toBe(isWellFormed(typo, API_KEY_PREFIX));
      const lastTypo = s.slice(0, 40) + (s[40] === "a" ? "b" : "a");
      expect(isWellFormedKey(lastTypo)).toBe(false);
    }
    for (const s of ["", "flux_", "fluxadm_abc", "flux_" + "a".repeat(36), "x".repeat(600)]) expect(isWellFormedKey(s)).toBe(isWellFormed(s, API_KEY_PREFIX));
  });

  it("digests like the server, with and without a pepper, and names the pepper as the server's session does", () => {
    const s = generateSecret(API_KEY_PREFIX);
    expect(createDigester(undefined)(s)).toBe(serverDigester(undefined)(s));
    expect(createDigester("pepper-1")(s)).toBe(serverDigester("pepper-1")(s));
    expect(pepperId("pepper-1")).toMatch(/^[\w-]{43}$/);
    expect(pepperId("pepper-1")).not.toBe(pepperId("pepper-2"));
  });
});

describe("IP allowlists match as the server's do", () => {
  it("agrees with the server on IPv4, IPv6 and IPv4-mapped IPv6 addresses", () => {
    const cidrs = normaliseCidrs(["203.0.113.0/24", "2001:db8::/32", "10.1.2.3", "::ffff:192.0.2.0/120"]);
    const ours = compileCidrs(cidrs);
    const server = serverCidrs(cidrs);
    for (const ip of ["203.0.113.9", "203.0.114.1", "2001:db8::1", "2001:db9::1", "10.1.2.3", "10.1.2.4", "::ffff:203.0.113.5", "192.0.2.77", "::ffff:192.0.2.1", "fe80::1%eth0", "nonsense", ""]) {
      expect(ours(ip), ip).toBe(server(ip));
    }
  });
});

describe("requests the server would refuse go to the network", () => {
  it("accepts what ValidateApiKey answers and passes on what it refuses with an error", () => {
    expect(isPlainRequest({})).toBe(true);
    expect(isPlainRequest({ requiredScopes: ["data:read"], cost: 0, clientIp: "::1" })).toBe(true);
    expect(isPlainRequest({ requiredScopes: Array(100).fill("a") })).toBe(true);
    expect(isPlainRequest({ requiredScopes: Array(101).fill("a") })).toBe(false);
    expect(isPlainRequest({ requiredScopes: ["bad scope"] })).toBe(false);
    expect(isPlainRequest({ cost: 1_000_001 })).toBe(false);
    expect(isPlainRequest({ cost: 1.5 })).toBe(false);
    expect(isPlainRequest({ cost: -1 })).toBe(false);
    expect(isPlainRequest({ clientIp: "1.2.3" })).toBe(false);
    expect(isPlainRequest({ clientIp: "fe80::1%eth0" })).toBe(false);
  });
});

describe("the local decision follows the server's order", () => {
  const now = Date.now();
  it("refuses REVOKED before EXPIRED before DISABLED before IP_NOT_ALLOWED before INSUFFICIENT_SCOPE", () => {
    const expired = { expiresAt: timestampFromMs(now - 1) };
    const e = (over: Parameters<typeof localKey>[0], info = {}) => toEntry(localKey({ allowedCidrs: ["10.0.0.0/8"], ...over }, info))!;
    expect(decideKey(e({ state: KeyState.REVOKED }, expired), now, "1.1.1.1", ["x"])!.outcome).toBe("REVOKED");
    expect(decideKey(e({ state: KeyState.DISABLED }, expired), now, "1.1.1.1", ["x"])!.outcome).toBe("EXPIRED");
    expect(decideKey(e({ state: KeyState.DISABLED }), now, "1.1.1.1", ["x"])!.outcome).toBe("DISABLED");
    expect(decideKey(e({}), now, "1.1.1.1", ["x"])!.outcome).toBe("IP_NOT_ALLOWED");
    expect(decideKey(e({}), now, undefined, ["x"])!.outcome).toBe("IP_NOT_ALLOWED");
    const scope = decideKey(e({}), now, "10.9.9.9", ["z", "data:read", "y"])!;
    expect(scope.outcome).toBe("INSUFFICIENT_SCOPE");
    expect(scope.missingScopes).toEqual(["z", "y"]);
    const ok = decideKey(e({}), now, "10.9.9.9", ["data:read"])!;
    expect(ok).toMatchObject({ valid: true, outcome: "VALID" });
    expect(ok.key!.hasScope("data:read")).toBe(true);
    expect(ok.key!.metadata).toEqual({ a: "b" });
    expect(decideKey(e({}, { expiresAt: timestampFromMs(now + 60_000) }), now, "10.0.0.1", [])!.outcome).toBe("VALID");
  });

  it("meters from leases: spends a point per call, refuses when the window is spent, gives the point back on a credits refusal", () => {
    const e = toEntry(localKey({ rateLimit: { requests: 100, windowSeconds: 60 }, credits: { remaining: 0n } }))!;
    expect(decideKey(e, now, undefined, undefined)).toBeUndefined();
    const book = new LeaseBook();
    const l = book.get(e.id);
    expect(meter(e, book, l, 1, 0)).toMatchObject({ need: "lease" });
    const resetAt = timestampFromMs(now + 30_000);
    book.grant(e.id, l, create(LeaseLimitsResponseSchema, { rateLimit: { granted: 2, limit: 100, unleased: 90, resetAt, expiresInMs: 30_000 }, credits: { granted: 3n, unleased: 7n, expiresInMs: 10_000 } }), 0, 3);
    const first = meter(e, book, l, 2, 1);
    expect(first).toBeInstanceOf(KeyInfo); // a VALID answer is the key info alone
    expect(first).toMatchObject({ id: "key_1", rateLimit: { limit: 100, remaining: 91 }, credits: { remaining: 8 } });
    const short = meter(e, book, l, 2, 2); // 1 credit left, the lease was full: ask for more
    expect(short).toMatchObject({ need: "lease" });
    expect(l.rate!.left).toBe(1); // the point taken for the refused attempt went back
    book.grant(e.id, l, create(LeaseLimitsResponseSchema, { credits: { granted: 0n, unleased: 0n, expiresInMs: 10_000 } }), 3, 10);
    const refused = meter(e, book, l, 2, 4);
    expect(refused).toMatchObject({ valid: false, outcome: "USAGE_EXCEEDED", refusedBy: "KEY", credits: { remaining: 1 } });
    expect(l.rate!.left).toBe(1);
    expect(meter(e, book, l, 1, 5)).toBeInstanceOf(KeyInfo);
    expect(meter(e, book, l, 0, 6)).toMatchObject({ need: "lease" }); // points gone: lease again
    book.grant(e.id, l, create(LeaseLimitsResponseSchema, { rateLimit: { granted: 0, limit: 100, unleased: 0, resetAt, expiresInMs: 30_000 } }), 7, 0);
    const limited = meter(e, book, l, 0, 8);
    expect(limited).toMatchObject({ valid: false, outcome: "RATE_LIMITED", rateLimit: { remaining: 0 } });
    expect((limited as { rateLimit: { retryAfterMs: number } }).rateLimit.retryAfterMs).toBeGreaterThan(25_000);
  });

  it("asks for a twentieth of the limit, 1 … 10,000 points", () => {
    expect([rateChunk(1), rateChunk(19), rateChunk(100), rateChunk(1e6)]).toEqual([1, 1, 5, 10_000]);
  });

  it("gives back what a dropped key held, in the next report", () => {
    const book = new LeaseBook();
    const l = book.get("key_1");
    book.grant("key_1", l, create(LeaseLimitsResponseSchema, { rateLimit: { granted: 5, limit: 100, unleased: 0, expiresInMs: 30_000 }, credits: { granted: 4n, unleased: 0n, expiresInMs: 30_000 } }), 0, 4);
    book.drop("key_1");
    const usage = new UsageCounter();
    usage.count("key_2", "VALID", now, ["data:read"]);
    usage.count("key_2", "VALID", now, ["data:read"]);
    usage.count("key_2", "REVOKED", now);
    usage.malformed();
    const back = book.takeReturned();
    const report = usage.next("s1", back, false);
    expect(report.reportSeq).toBe(1n);
    expect(report.malformed).toBe(1n);
    const byId = Object.fromEntries(report.keys.map((k) => [k.keyId, k]));
    expect(byId.key_1).toMatchObject({ returnedRateLimitPoints: 5, returnedCredits: 4n, outcomes: [] });
    expect(byId.key_2!.outcomes.map((o) => [o.outcome, o.count])).toEqual([[WireOutcome.VALID, 2n], [WireOutcome.REVOKED, 1n]]);
    expect(byId.key_2!.scopeUses.map((s) => [s.scope, s.count])).toEqual([["data:read", 2n]]);
    // Not acknowledged: the same report again, same seq; acknowledged: the next one is new.
    usage.count("key_2", "VALID", now);
    expect(usage.next("s1", new Map(), false)).toBe(report);
    usage.acknowledged(report);
    const second = usage.next("s1", new Map(), true);
    expect(second.reportSeq).toBe(2n);
    expect(second.closing).toBe(true);
  });
});

describe("the table", () => {
  it("replaces a key by id (a rotation changes its digest) and drops removed keys", () => {
    const t = new KeyTable();
    t.put(localKey({ digest: "old" }));
    expect(t.byDigest("old")?.id).toBe("key_1");
    expect(t.apply({ change: { case: "key", value: localKey({ digest: "new" }) } } as never)).toBe("key_1");
    expect(t.byDigest("old")).toBeUndefined();
    expect(t.byDigest("new")?.id).toBe("key_1");
    t.apply({ change: { case: "organization", value: { orgId: "acme", validateRemotely: true } } } as never);
    expect(t.isRemoteOrg("acme")).toBe(true);
    t.apply({ change: { case: "removedKeyId", value: "key_1" } } as never);
    expect(t.size).toBe(0);
  });
});
