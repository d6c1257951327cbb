// `serve` with an unusable FLUX_LEAK_REPORTER_KEYS stops before opening the store, with exit code 2 and one line
// naming the setting, the file and the problem.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const BIN = join(import.meta.dirname, "../../bin/flux-apikeys.mjs");
const dir = mkdtempSync(join(tmpdir(), "flux-leak-keys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const serve = (keysFile: string) =>
  spawnSync(process.execPath, [BIN, "serve"], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, FLUX_DATA_DIR: join(dir, "data"), FLUX_LEAK_REPORTER_KEYS: keysFile, FLUX_HTTP_ADDR: "127.0.0.1:0", FLUX_GRPC_ADDR: "127.0.0.1:0" },
    encoding: "utf8",
    timeout: 30_000,
  });

describe("flux-apikeys serve with FLUX_LEAK_REPORTER_KEYS", () => {
  it("exits 2 naming the setting and the problem when the file is missing or not a keys file", () => {
    const missing = serve(join(dir, "nope.json"));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`FLUX_LEAK_REPORTER_KEYS: ${join(dir, "nope.json")} cannot be read (ENOENT)`);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ public_keys: [{ key_identifier: "k", key: "not pem" }] }));
    const res = serve(bad);
    expect(res.status).toBe(2);
    expect(res.stderr).toContain("public_keys[0].key is not a PEM public key");
  });
});
