// Embedded store: points leased to local validators are written with the key's window like admitted calls, so a
// server stopped and started again on the same directory still counts them (validators may still hold them), and
// credits granted are debited from the stored balance before they are granted.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, expect, it } from "vitest";
import { ManualClock } from "../../src/domain/clock.js";
import { createDeps, type Deps } from "../../src/deps.js";
import { openEmbeddedStores } from "../../src/store/embedded/embedded-stores.js";
import { ADMIN_KEY } from "../support/server.js";

const dir = mkdtempSync(join(tmpdir(), "flux-local-restart-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const principal = { adminKeyId: "test", validateOnly: false };

async function open(clock: ManualClock): Promise<Deps> {
  const config = { FLUX_ADMIN_KEY: ADMIN_KEY, FLUX_KEY_PEPPER: undefined, FLUX_USAGE_FLUSH_MS: 1000, FLUX_KEY_CACHE_SIZE: 1000, FLUX_MONGODB_DB: "unused" };
  return createDeps(config, await openEmbeddedStores(dir), pino({ level: "silent" }), clock);
}

async function admitted(d: Deps, secret: string): Promise<number> {
  for (let n = 0; ; n++) if ((await d.services.validation.validate(principal, secret, [])).outcome !== "VALID") return n;
}

it("keeps points and credits leased to validators across a stop and start of the embedded server", async () => {
  const clock = new ManualClock(Date.now());
  const a = await open(clock);
  const limited = await a.services.keys.create(principal, { orgId: "acme", name: "limited", scopes: [], metadata: {}, rateLimit: { requests: 100, windowSeconds: 3600 } });
  const metered = await a.services.keys.create(principal, { orgId: "acme", name: "metered", scopes: [], metadata: {}, credits: { remaining: 50 } });
  const session = { id: "restart" };
  let points = 0;
  for (let i = 0; i < 3; i++) points += (await a.services.local.leases.lease(session, { keyId: limited.key.id, rateLimitPoints: 10, credits: 0 })).rateLimit!.granted;
  const credits = (await a.services.local.leases.lease(session, { keyId: metered.key.id, rateLimitPoints: 0, credits: 20 })).credits!.granted;
  expect([points, credits]).toEqual([30, 20]);
  await a.close(); // SIGTERM's path: windows written, the ledger's own leases returned
  const b = await open(clock);
  try {
    expect(await admitted(b, limited.secret)).toBe(70);
    expect(await admitted(b, metered.secret)).toBe(30);
  } finally {
    await b.close();
  }
});
