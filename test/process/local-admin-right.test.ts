// The local_validation right outside the API: `admin-keys create --local-validation` on the embedded store, a real
// server process holding that key's validator session and ending it (VALIDATOR_SESSION_ENDED) when it is stopped
// instead of holding the drain, and embedded stores made before the right existed (migrated: no key has it).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { openEmbeddedStores } from "../../src/store/embedded/embedded-stores.js";
import { RawValidator } from "../support/raw-validators.js";
import { randomAdminKey, startProcess } from "../support/processes.js";

const BIN = join(import.meta.dirname, "../../bin/flux-apikeys.mjs");
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "flux-local-right-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("the local_validation right", () => {
  it("admin-keys create --local-validation issues a key whose validator a served process streams to, and stopping the server ends the stream", async () => {
    const dir = tempDir();
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, FLUX_DATA_DIR: dir }, encoding: "utf8", timeout: 60_000 });
    const created = cli("admin-keys", "create", "--name", "validators", "--local-validation");
    expect(created.status, created.stderr).toBe(0);
    expect(created.stdout).toContain("(local validation)");
    const secret = /store this now\): (fluxadm_\w+)/.exec(created.stdout)![1]!;
    const plain = /store this now\): (fluxadm_\w+)/.exec(cli("admin-keys", "create", "--name", "plain").stdout)![1]!;
    const listed = cli("admin-keys", "list").stdout;
    expect(listed).toMatch(/validators\tall orgs, full, local-validation\tactive/);
    expect(listed).toMatch(/plain\tall orgs, full\tactive/);

    const server = await startProcess({ FLUX_DATA_DIR: dir, FLUX_ADMIN_KEY: randomAdminKey(), FLUX_SHUTDOWN_GRACE_MS: "60000" });
    try {
      const refused = new RawValidator({ transport: "grpc", port: server.grpcPort, adminKey: plain, caller: server.callers[0]! }).start();
      const how = await refused.ended();
      expect(how !== "ok" && how.reason).toBe("PERMISSION_DENIED");
      const v = new RawValidator({ transport: "grpc", port: server.grpcPort, adminKey: secret, caller: server.callers[0]!, autoAckDelayMs: 0 }).start();
      await v.snapshotComplete();
      const started = Date.now();
      await server.stop();
      const end = await v.ended();
      expect(end !== "ok" && end.reason).toBe("VALIDATOR_SESSION_ENDED");
      expect(Date.now() - started, "the open stream did not hold the 60 s drain").toBeLessThan(30_000);
    } finally {
      if (server.exitCode() === null) await server.stop();
    }
  });

  it("an embedded store made before the right existed gets the column on open; its admin keys have no such right", async () => {
    const dir = tempDir();
    const old = new Database(join(dir, "flux.sqlite"));
    old.exec("CREATE TABLE admin_keys (id TEXT PRIMARY KEY, digest TEXT NOT NULL UNIQUE, created_at_ms INTEGER NOT NULL, revoked_at_ms INTEGER, doc TEXT NOT NULL)");
    const doc = { id: "adm_old0000000000000000", name: "old", validateOnly: false, displayHint: "fluxadm_…abcd", digest: "d-old", createdAtMs: 1 };
    old.prepare("INSERT INTO admin_keys VALUES (?, ?, ?, NULL, ?)").run(doc.id, doc.digest, 1, JSON.stringify(doc));
    old.close();
    const stores = await openEmbeddedStores(dir);
    try {
      expect((await stores.adminKeys.findByDigest("d-old"))?.localValidation).toBe(false);
      await stores.adminKeys.insert({ ...doc, id: "adm_new0000000000000000", digest: "d-new", localValidation: true });
      expect((await stores.adminKeys.findByDigest("d-new"))?.localValidation).toBe(true);
    } finally {
      await stores.close();
    }
    // Opening again (the column exists now) changes nothing.
    const again = await openEmbeddedStores(dir);
    const rights = Object.fromEntries((await again.adminKeys.list()).map((k) => [k.id, k.localValidation]));
    expect(rights).toEqual({ adm_old0000000000000000: false, adm_new0000000000000000: true });
    await again.close();
  });
});
