// The flux-apikeys command: help, admin-key management on the embedded store, and errors that say what to do.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const BIN = join(import.meta.dirname, "../../bin/flux-apikeys.mjs");
const dir = mkdtempSync(join(tmpdir(), "flux-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, FLUX_DATA_DIR: dir }, encoding: "utf8", timeout: 30_000 });

describe("flux-apikeys", () => {
  it("prints help with every command and exits 0", () => {
    const res = cli("--help");
    expect(res.status).toBe(0);
    for (const c of ["serve", "admin-keys create", "admin-keys list", "admin-keys revoke"]) expect(res.stdout).toContain(c);
  });

  it("creates, lists and revokes admin keys, printing each secret once", () => {
    const created = cli("admin-keys", "create", "--name", "backend", "--org", "acme", "--validate-only");
    expect(created.status).toBe(0);
    const secret = /store this now\): (fluxadm_\w+)/.exec(created.stdout)![1]!;
    const id = /created admin key (adm_\w+)/.exec(created.stdout)![1]!;
    const listed = cli("admin-keys", "list");
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toContain("org=acme, validate-only");
    expect(listed.stdout).not.toContain(secret);
    expect(cli("admin-keys", "revoke", id).status).toBe(0);
    expect(cli("admin-keys", "list").stdout).toMatch(new RegExp(`${id}.*revoked`));
  });

  it("exits non-zero with a hint for unknown commands and unknown ids", () => {
    const unknown = cli("frobnicate");
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown command");
    const missing = cli("admin-keys", "revoke", "adm_nope");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("admin-keys list");
  });
});
