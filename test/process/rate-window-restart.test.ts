// The embedded store's rate windows outlive the process: a drained restart (SIGTERM) keeps a monthly window's spent
// count exactly, and a crash (SIGKILL) forgets at most the admissions since the last flush.
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import type { Caller } from "../support/callers.js";
import { randomAdminKey, startProcess } from "../support/processes.js";

const MONTH_SECONDS = 2_592_000;
const FLUSH_MS = 100;
const dirs: string[] = [];
const newDir = () => {
  const d = mkdtempSync(join(tmpdir(), "flux-windows-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function createLimitedKey(c: Caller, admin: string, requests: number) {
  const res = await c.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "monthly", scopes: [], rateLimit: { requests, windowSeconds: MONTH_SECONDS } }, admin);
  return res.secret;
}
const validate = (c: Caller, key: string, admin: string) => c.call(ApiKeyService, "validateApiKey", { key, requiredScopes: [] }, admin);

describe("rate windows on the embedded store across restarts", () => {
  it("keeps a monthly window's spent count and reset time exactly after a SIGTERM restart", async () => {
    const env = { FLUX_DATA_DIR: newDir(), FLUX_ADMIN_KEY: randomAdminKey(), FLUX_USAGE_FLUSH_MS: "1000" };
    const first = await startProcess(env);
    const c1 = first.callers[0]!;
    const secret = await createLimitedKey(c1, env.FLUX_ADMIN_KEY, 2);
    const spent = [await validate(c1, secret, env.FLUX_ADMIN_KEY), await validate(c1, secret, env.FLUX_ADMIN_KEY)];
    expect(spent.map((r) => r.outcome)).toEqual([Outcome.VALID, Outcome.VALID]);
    const resetAt = timestampMs(spent[0]!.rateLimit!.resetAt!);
    expect(await first.stop()).toBe(0); // SIGTERM, well before the next timed flush

    const second = await startProcess(env);
    try {
      for (const c of second.callers) {
        const res = await validate(c, secret, env.FLUX_ADMIN_KEY);
        expect(res.outcome, c.name).toBe(Outcome.RATE_LIMITED);
        expect(res.rateLimit, c.name).toMatchObject({ limit: 2, remaining: 0 });
        expect(timestampMs(res.rateLimit!.resetAt!), c.name).toBe(resetAt);
      }
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });

  it("forgets after SIGKILL at most the admissions of the last flush interval, never the ones flushed before", async () => {
    const env = { FLUX_DATA_DIR: newDir(), FLUX_ADMIN_KEY: randomAdminKey(), FLUX_USAGE_FLUSH_MS: String(FLUSH_MS) };
    const first = await startProcess(env);
    const c1 = first.callers[0]!;
    const limit = 100;
    const secret = await createLimitedKey(c1, env.FLUX_ADMIN_KEY, limit);
    const flushed = 10;
    for (let i = 0; i < flushed; i++) expect((await validate(c1, secret, env.FLUX_ADMIN_KEY)).outcome).toBe(Outcome.VALID);
    await sleep(10 * FLUSH_MS); // several flush intervals: these 10 are on disk
    const lastInterval = 3;
    for (let i = 0; i < lastInterval; i++) expect((await validate(c1, secret, env.FLUX_ADMIN_KEY)).outcome).toBe(Outcome.VALID);
    await first.kill("SIGKILL");

    const second = await startProcess(env);
    try {
      const res = await validate(second.callers[1]!, secret, env.FLUX_ADMIN_KEY);
      expect(res.outcome).toBe(Outcome.VALID);
      // The window remembers between `flushed` and `flushed + lastInterval` spent, plus this call.
      const remembered = limit - 1 - res.rateLimit!.remaining;
      expect(remembered).toBeGreaterThanOrEqual(flushed);
      expect(remembered).toBeLessThanOrEqual(flushed + lastInterval);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});
