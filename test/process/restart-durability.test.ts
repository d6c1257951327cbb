// The embedded store is durable: every acknowledged key survives a SIGKILL, revocations stay revoked, and the
// bootstrap admin key is printed on the first start only.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { startProcess } from "../support/processes.js";

const dir = mkdtempSync(join(tmpdir(), "flux-restart-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the embedded store across a crash", () => {
  it("keeps every acknowledged key and revocation after SIGKILL, and prints the bootstrap key only once", async () => {
    const first = await startProcess({ FLUX_DATA_DIR: dir, FLUX_ADMIN_KEY: "" });
    const printed = /store this now\): (fluxadm_\w+)/.exec(first.output());
    expect(printed, first.output()).not.toBeNull();
    const admin = printed![1]!;
    const c = first.callers[1]!;
    await c.call(ApiKeyService, "defineScope", { scope: { name: "data:read" } }, admin);
    const created: { id: string; secret: string }[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await c.call(ApiKeyService, "createApiKey", { orgId: "acme", name: `k${i}`, scopes: ["data:read"] }, admin);
      created.push({ id: res.apiKey!.id, secret: res.secret });
    }
    await c.call(ApiKeyService, "revokeApiKey", { id: created[3]!.id }, admin);
    const rotated = await c.call(ApiKeyService, "rotateApiKey", { id: created[4]!.id }, admin);
    await first.kill("SIGKILL");

    const second = await startProcess({ FLUX_DATA_DIR: dir, FLUX_ADMIN_KEY: "" });
    try {
      expect(second.output()).not.toContain("fluxadm_");
      const g = second.callers[0]!;
      for (const [i, k] of created.entries()) {
        const res = await g.call(ApiKeyService, "validateApiKey", { key: k.secret }, admin);
        const expected = i === 3 ? Outcome.REVOKED : i === 4 ? Outcome.NOT_FOUND : Outcome.VALID;
        expect(res.outcome, `key ${i}`).toBe(expected);
      }
      expect((await g.call(ApiKeyService, "validateApiKey", { key: rotated.secret }, admin)).outcome).toBe(Outcome.VALID);
      expect((await g.call(ApiKeyService, "listScopes", {}, admin)).scopes.map((s) => s.name)).toEqual(["data:read"]);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});
