// Allowlist parsing and matching (src/domain/cidr.ts), without I/O: what each entry normalises to, what is refused
// (naming at most five entries), and what the compiled matcher admits, IPv4-mapped IPv6 included.
import { describe, expect, it } from "vitest";
import { compileCidrs, isClientIp, normaliseCidrs } from "../../src/domain/cidr.js";
import { FluxError } from "../../src/domain/errors.js";
import { LIMITS } from "../../src/domain/limits.js";

const refusal = (entries: string[]) => {
  try {
    normaliseCidrs(entries);
  } catch (e) {
    return e as FluxError;
  }
  throw new Error("expected a refusal");
};

describe("allowed CIDRs", () => {
  it.each([
    ["10.1.2.3/8", "10.0.0.0/8"],
    ["192.0.2.7", "192.0.2.7/32"],
    [" 192.0.2.0/24 ", "192.0.2.0/24"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1/128"],
    ["2001:db8:abcd::1/48", "2001:db8:abcd::/48"],
    ["::/0", "::/0"],
    ["::1", "::1/128"],
    ["::ffff:192.0.2.1", "192.0.2.1/32"],
    ["::ffff:192.0.2.0/120", "192.0.2.0/24"],
    ["::ffff:0:0/96", "0.0.0.0/0"],
    ["fe80::/10", "fe80::/10"],
  ])("normalises %s to %s", (entry, normal) => {
    expect(normaliseCidrs([entry])).toEqual([normal]);
  });

  it("drops duplicates after normalising", () => {
    expect(normaliseCidrs(["10.0.0.1/8", "10.0.0.0/8", "::1", "0:0::1/128"])).toEqual(["10.0.0.0/8", "::1/128"]);
  });

  it.each(["", "10.0.0.0/33", "::/129", "300.1.1.1", "01.2.3.4", "10.0.0.0/", "10.0.0.0/08x", "10.0.0.0/8/8", "fe80::1%eth0", "1.2.3.4/ 8", "example.com", "1.2.3"])(
    "refuses %j",
    (entry) => {
      const e = refusal([entry]);
      expect(e.reason).toBe("INVALID_ARGUMENT");
      expect(e.metadata.field).toBe("allowed_cidrs");
    },
  );

  it("names at most five malformed entries and counts the rest", () => {
    const e = refusal(Array.from({ length: 8 }, (_, i) => `bad${i}`));
    expect(e.message).toContain('"bad4"');
    expect(e.message).not.toContain('"bad5"');
    expect(e.message).toContain("and 3 more");
  });

  it(`takes ${LIMITS.allowedCidrs} entries and refuses ${LIMITS.allowedCidrs + 1}`, () => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => `10.0.${i}.0/24`);
    expect(normaliseCidrs(list(LIMITS.allowedCidrs))).toHaveLength(LIMITS.allowedCidrs);
    expect(refusal(list(LIMITS.allowedCidrs + 1)).message).toContain(`at most ${LIMITS.allowedCidrs}`);
  });

  it("matches IPv4, IPv6 and IPv4-mapped IPv6 client addresses, and nothing malformed", () => {
    const allowed = compileCidrs(normaliseCidrs(["192.0.2.0/24", "2001:db8::/32"]));
    expect(["192.0.2.1", "192.0.2.255", "::ffff:192.0.2.9", "2001:db8::1", "2001:db8:ffff::"].map(allowed)).toEqual([true, true, true, true, true]);
    expect(["192.0.3.1", "::ffff:192.0.3.1", "2001:db9::1", "::1", "", "192.0.2.1/32", "fe80::1%lo"].map(allowed)).toEqual([false, false, false, false, false, false, false]);
  });

  it("checks client_ip: one address of at most 45 characters, no zone, no prefix", () => {
    expect(["192.0.2.1", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"].map(isClientIp)).toEqual([true, true, true]);
    expect(["", "192.0.2.1/32", "fe80::1%eth0", " 192.0.2.1", "0000:ffff:ffff:ffff:ffff:ffff:255.255.255.255x"].map(isClientIp)).toEqual([false, false, false, false, false]);
  });
});
