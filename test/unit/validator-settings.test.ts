// FLUX_VALIDATOR_* settings: defaults, ranges, and stale-after at least twice the heartbeat (a validator acknowledges
// every heartbeat interval and must stay fresh between two acknowledgements).
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("validator settings", () => {
  it("defaults to a 250 ms heartbeat, 1,500 ms stale-after, 1,000 ms acknowledgement timeout and 1,000 sessions", () => {
    const c = loadConfig({});
    expect([c.FLUX_VALIDATOR_HEARTBEAT_MS, c.FLUX_VALIDATOR_STALE_AFTER_MS, c.FLUX_VALIDATOR_ACK_TIMEOUT_MS, c.FLUX_VALIDATOR_MAX_SESSIONS]).toEqual([250, 1500, 1000, 1000]);
  });

  it("refuses values out of range and a stale-after under twice the heartbeat, naming each setting", () => {
    expect(() => loadConfig({ FLUX_VALIDATOR_STALE_AFTER_MS: "1501" })).toThrow(/FLUX_VALIDATOR_STALE_AFTER_MS/);
    expect(() => loadConfig({ FLUX_VALIDATOR_ACK_TIMEOUT_MS: "2001" })).toThrow(/FLUX_VALIDATOR_ACK_TIMEOUT_MS/);
    expect(() => loadConfig({ FLUX_VALIDATOR_MAX_SESSIONS: "-1" })).toThrow(/FLUX_VALIDATOR_MAX_SESSIONS/);
    expect(() => loadConfig({ FLUX_VALIDATOR_HEARTBEAT_MS: "600", FLUX_VALIDATOR_STALE_AFTER_MS: "1000" })).toThrow(ConfigError);
    expect(() => loadConfig({ FLUX_VALIDATOR_HEARTBEAT_MS: "600", FLUX_VALIDATOR_STALE_AFTER_MS: "1000" })).toThrow(/at least twice FLUX_VALIDATOR_HEARTBEAT_MS/);
    expect(loadConfig({ FLUX_VALIDATOR_HEARTBEAT_MS: "500", FLUX_VALIDATOR_STALE_AFTER_MS: "1000" }).FLUX_VALIDATOR_STALE_AFTER_MS).toBe(1000);
  });
});
