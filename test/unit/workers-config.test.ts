// FLUX_WORKERS: 1 (the default: one process, exactly as before) to 64, refused outside with the setting named.
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("FLUX_WORKERS", () => {
  it("defaults to one process", () => {
    expect(loadConfig({}).FLUX_WORKERS).toBe(1);
  });

  it.each([1, 2, 64])("accepts %i", (n) => {
    expect(loadConfig({ FLUX_WORKERS: String(n) }).FLUX_WORKERS).toBe(n);
  });

  it.each(["0", "65", "1.5", "two"])("refuses %s, naming the setting", (v) => {
    expect(() => loadConfig({ FLUX_WORKERS: v })).toThrow(ConfigError);
    expect(() => loadConfig({ FLUX_WORKERS: v })).toThrow(/FLUX_WORKERS/);
  });
});
