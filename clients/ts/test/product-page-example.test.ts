// Runs examples/product-page.mjs in a separate Node process against an in-process server, and checks each step of
// the product page happened. Here tsx maps `@flux/sdk` to the sources (tsconfig paths); test/packaging runs the
// same example with plain node against the packed tarball.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ADMIN_KEY, type SdkServer, startSdkServer, urlFor } from "./helpers.js";

const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const REPO_ROOT = path.resolve(PACKAGE_DIR, "../..");

let s: SdkServer;
beforeAll(async () => {
  s = await startSdkServer("example");
});
afterAll(() => s?.stop());

/** Runs a script with tsx; resolves with its exit code and output (the server runs in this process: no sync spawn). */
function runScript(script: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", script], {
      cwd: REPO_ROOT,
      env: { ...process.env, TSX_TSCONFIG_PATH: path.join(PACKAGE_DIR, "tsconfig.json"), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

it("runs the product page example end to end: create, validate/hasScope, rotate, rate limit, usage", async () => {
  const run = await runScript(path.join(PACKAGE_DIR, "examples/product-page.mjs"), {
    FLUX_URL: urlFor(s.t, "grpc"),
    FLUX_ADMIN_KEY: ADMIN_KEY,
  });
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  const lines = run.stdout.trim().split("\n");
  expect(lines).toHaveLength(9);
  expect(lines[0]).toMatch(/^Created key: flux_[0-9A-Za-z]+$/);
  expect(lines[1]).toMatch(/^Validated key key_\w+: data:read=true$/);
  expect(lines[2]).toMatch(/^New secret: flux_[0-9A-Za-z]+$/);
  expect(lines[3]).toBe("Old secret rejected: NOT_FOUND");
  expect(lines.slice(4, 6)).toEqual(["Request 1: allowed, 1 left", "Request 2: allowed, 0 left"]);
  expect(lines[6]).toMatch(/^Request 3: rate limited, retry in [1-9]\d* ms \(window resets \d{4}-.+Z\)$/);
  expect(lines[7]).toBe("Requests this month: 1");
  expect(lines[8]).toBe("Public API client: 3 requests, error rate 0.33");
}, 60_000);
