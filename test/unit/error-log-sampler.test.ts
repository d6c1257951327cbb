// An outage fails every call at once: the error log keeps one line per reason a second, counting the rest.
import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { Writable } from "node:stream";
import { ErrorLogSampler, instrument } from "../../src/transport/invoke.js";
import { storeUnavailable } from "../../src/domain/errors.js";

describe("the error log during an outage", () => {
  it("admits one line per reason per interval and reports how many it dropped", () => {
    const s = new ErrorLogSampler(1000);
    expect(s.admit("STORE_UNAVAILABLE", 0)).toBe(0);
    for (let t = 1; t < 1000; t += 10) expect(s.admit("STORE_UNAVAILABLE", t)).toBeUndefined();
    expect(s.admit("INTERNAL", 500)).toBe(0); // another reason has its own budget
    expect(s.admit("STORE_UNAVAILABLE", 1000)).toBe(100);
    expect(s.admit("STORE_UNAVAILABLE", 2500)).toBe(0);
  });

  it("writes a handful of lines, not one per call, when 10,000 calls fail together", async () => {
    const lines: string[] = [];
    const log = pino({ level: "info" }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    const run = instrument("/flux.apikeys.v1.ApiKeyService/ValidateApiKey", async () => { throw storeUnavailable(new Error("connect ECONNREFUSED")); }, log);
    const failed = await Promise.allSettled(Array.from({ length: 10_000 }, () => run({}, { authorization: undefined })));
    expect(failed.every((r) => r.status === "rejected")).toBe(true);
    const errors = lines.filter((l) => l.includes('"call failed"'));
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.length).toBeLessThan(10);
  });
});
