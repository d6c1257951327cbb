// One owner per store: a second server on the same embedded data directory refuses to start with one line (two
// processes would cache keys separately and miss each other's revocations), the lock dies with its process, and
// replicas that start together on an empty MongoDB print exactly one bootstrap admin key.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createDigester } from "../../src/domain/key-material.js";
import { systemClock } from "../../src/domain/clock.js";
import { AdminKeyService } from "../../src/services/admin-key-service.js";
import { openMongoStores } from "../../src/store/mongo/mongo-stores.js";
import { randomAdminKey, startProcess } from "../support/processes.js";
import { mongoUri } from "../support/stores.js";

const BIN = join(import.meta.dirname, "../../bin/flux-apikeys.mjs");
const dirs: string[] = [];
const newDir = () => {
  const d = mkdtempSync(join(tmpdir(), "flux-owner-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Runs the CLI to completion (or 20 s), on free ports. */
function cli(env: Record<string, string>, ...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, FLUX_GRPC_ADDR: "127.0.0.1:0", FLUX_HTTP_ADDR: "127.0.0.1:0", FLUX_LOG_LEVEL: "warn", ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
}

describe("the embedded store has one owner", () => {
  it("refuses a second `serve` on the same FLUX_DATA_DIR with one clear line and a non-zero exit", async () => {
    const dir = newDir();
    const first = await startProcess({ FLUX_DATA_DIR: dir, FLUX_ADMIN_KEY: randomAdminKey() });
    try {
      const second = cli({ FLUX_DATA_DIR: dir, FLUX_ADMIN_KEY: randomAdminKey() }, "serve");
      expect(second.status, second.stdout + second.stderr).toBe(1);
      expect(second.stdout).toBe("");
      const lines = second.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/in use by another process/);
      expect(lines[0]).toContain(dir);
    } finally {
      expect(await first.stop()).toBe(0);
    }
  });

  it("refuses the admin-keys commands while a server owns the directory", async () => {
    const dir = newDir();
    const first = await startProcess({ FLUX_DATA_DIR: dir, FLUX_ADMIN_KEY: randomAdminKey() });
    try {
      for (const args of [["admin-keys", "create"], ["admin-keys", "list"], ["admin-keys", "revoke", "adm_x"]]) {
        const res = cli({ FLUX_DATA_DIR: dir }, ...args);
        expect(res.status, args.join(" ")).toBe(1);
        expect(res.stdout).toBe("");
        expect(res.stderr.trim().split("\n")).toHaveLength(1);
        expect(res.stderr).toMatch(/in use by another process.*stop it first/);
      }
    } finally {
      await first.stop();
    }
    expect(cli({ FLUX_DATA_DIR: dir }, "admin-keys", "list").status).toBe(0);
  });

  it("lets a new server start once the owner died, even by SIGKILL", async () => {
    const dir = newDir();
    const admin = randomAdminKey();
    const first = await startProcess({ FLUX_DATA_DIR: dir, FLUX_ADMIN_KEY: admin });
    await first.kill("SIGKILL");
    const second = await startProcess({ FLUX_DATA_DIR: dir, FLUX_ADMIN_KEY: admin });
    const exit = await second.stop();
    expect(exit, second.output()).toBe(0);
  });
});

describe("bootstrap on an empty MongoDB", () => {
  it("issues exactly one bootstrap admin key when replicas bootstrap at the same moment", async () => {
    const db = `t_bootstrap_${randomBytes(4).toString("hex")}`;
    const stores = await Promise.all([1, 2, 3].map(() => openMongoStores(mongoUri(), db)));
    try {
      const services = stores.map((s) => new AdminKeyService(s.adminKeys, () => {}, systemClock, createDigester(undefined)));
      const secrets = await Promise.all(services.map((s) => s.bootstrapIfEmpty()));
      expect(secrets.filter(Boolean)).toHaveLength(1);
      expect(await stores[0]!.adminKeys.count()).toBe(1);
    } finally {
      await stores[0]!.db.dropDatabase();
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it("prints one bootstrap key when two replica processes start together", async () => {
    const env = { FLUX_MONGODB_URI: mongoUri(), FLUX_MONGODB_DB: `t_boot2_${randomBytes(4).toString("hex")}`, FLUX_ADMIN_KEY: "" };
    const procs = await Promise.all([startProcess(env), startProcess(env)]);
    try {
      const printed = procs.filter((p) => /Bootstrap admin key/.test(p.output()));
      expect(printed).toHaveLength(1);
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }
  });
});
