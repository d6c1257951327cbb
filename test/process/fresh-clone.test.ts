// The README's first command on a fresh clone: `npm install && npm start` serves gRPC and HTTP on the embedded
// store and prints the bootstrap admin key.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PingService } from "../../gen/ts/flux/apikeys/v1/ping_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { connectCaller, grpcCaller } from "../support/callers.js";
// @ts-expect-error plain ESM script without types
import { freePort } from "../../scripts/with-server.mjs";

const ROOT = join(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "flux-clone-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a fresh clone", () => {
  it("installs and starts with the README's command, serving both addresses", { timeout: 600_000 }, async () => {
    execFileSync("git", ["clone", "-q", "--depth", "1", `file://${ROOT}`, join(dir, "repo")]);
    const repo = join(dir, "repo");
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const child = spawn("bash", ["-c", "npm install --no-audit --no-fund --prefer-offline >install.log 2>&1 && exec npm start"], {
      cwd: repo,
      env: { ...process.env, FLUX_GRPC_ADDR: `127.0.0.1:${grpcPort}`, FLUX_HTTP_ADDR: `127.0.0.1:${httpPort}`, FLUX_ADMIN_KEY: "", FLUX_MONGODB_URI: "", FLUX_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => out.includes("store this now") && (clearInterval(timer), resolve()), 100);
        child.once("exit", (code) => (clearInterval(timer), reject(new Error(`exited ${code}: ${out}`))));
      });
      expect(out).toContain("embedded store in ./data");
      const admin = /store this now\): (fluxadm_\w+)/.exec(out)![1]!;
      const g = grpcCaller(grpcPort);
      await g.call(PingService, "ping", {});
      expect((await connectCaller(httpPort).call(ApiKeyService, "listScopes", {}, admin)).scopes).toEqual([]);
      g.close();
      const page = await fetch(`http://127.0.0.1:${httpPort}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>");
    } finally {
      process.kill(-child.pid!, "SIGTERM");
    }
  });
});
