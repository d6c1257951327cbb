// Secrets: shape, checksum and digests, checked without any I/O.
import { describe, expect, it } from "vitest";
import { API_KEY_PREFIX, ADMIN_KEY_PREFIX, createDigester, displayHint, generateSecret, isWellFormed } from "../../src/domain/key-material.js";

describe("secrets", () => {
  it("carry the prefix, 30 random base62 characters and a 6-character checksum", () => {
    const s = generateSecret(API_KEY_PREFIX);
    expect(s).toMatch(/^flux_[0-9A-Za-z]{36}$/);
    expect(isWellFormed(s, API_KEY_PREFIX)).toBe(true);
    expect(isWellFormed(s, ADMIN_KEY_PREFIX)).toBe(false);
  });

  it("never repeat across 10,000 draws", () => {
    const seen = new Set(Array.from({ length: 10_000 }, () => generateSecret(API_KEY_PREFIX)));
    expect(seen.size).toBe(10_000);
  });

  it("are rejected offline when any single character is mistyped", () => {
    const s = generateSecret(API_KEY_PREFIX);
    let caught = 0;
    for (let i = API_KEY_PREFIX.length; i < s.length; i++) {
      const swapped = s.slice(0, i) + (s[i] === "x" ? "y" : "x") + s.slice(i + 1);
      if (!isWellFormed(swapped, API_KEY_PREFIX)) caught++;
    }
    expect(caught).toBe(s.length - API_KEY_PREFIX.length);
  });

  it("are stored as a digest that differs with a pepper and reveals nothing of the secret", () => {
    const s = generateSecret(API_KEY_PREFIX);
    const plain = createDigester()(s);
    const peppered = createDigester("a-long-server-side-pepper")(s);
    expect(plain).not.toBe(peppered);
    expect(plain).toHaveLength(43);
    expect(plain).not.toContain(s.slice(5, 15));
    expect(displayHint(s, API_KEY_PREFIX)).toBe(`flux_…${s.slice(-4)}`);
  });
});
