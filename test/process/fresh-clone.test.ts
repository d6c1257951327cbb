// The README's first command on a fresh clone: `npm install && npm start` builds dist/ and serves gRPC and HTTP on
// the embedded store, printing the bootstrap admin key. Then the same tree without dev dependencies (what
// `npm ci --omit=dev` leaves) starts from the compiled build alone. FLUX_PACKAGING_LONG=1 runs the real
// `npm ci --omit=dev` (a full reinstall, minutes: better-sqlite3 compiles) instead of `npm prune --omit=dev`.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
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
const repo = join(dir, "repo");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `command` in the clone until it prints `ready`; resolves with the process and a view of its output. */
async function startInClone(command: string, ready: string, ports: { grpc: number; http: number }) {
  const child = spawn("bash", ["-c", command], {
    cwd: repo,
    env: { ...process.env, FLUX_GRPC_ADDR: `127.0.0.1:${ports.grpc}`, FLUX_HTTP_ADDR: `127.0.0.1:${ports.http}`, FLUX_ADMIN_KEY: "", FLUX_MONGODB_URI: "", FLUX_LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => out.includes(ready) && (clearInterval(timer), resolve()), 100);
    child.once("close", (code) => (clearInterval(timer), reject(new Error(`exited ${code}: ${out}`))));
  });
  return { child, output: () => out };
}

/** Stops the whole process group (npm and the server under it) and waits until none of it is left. */
async function stop(child: ChildProcess) {
  process.kill(-child.pid!, "SIGTERM");
  const alive = () => {
    try {
      process.kill(-child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let waitedMs = 0; alive(); waitedMs += 100) {
    if (waitedMs > 30_000) process.kill(-child.pid!, "SIGKILL");
    await new Promise((r) => setTimeout(r, 100));
  }
}

let admin = "";

describe("a fresh clone", () => {
  it("installs and starts with the README's command, serving both addresses from the compiled build", { timeout: 600_000 }, async () => {
    execFileSync("git", ["clone", "-q", "--depth", "1", `file://${ROOT}`, repo]);
    const ports = { grpc: await freePort(), http: await freePort() };
    const { child, output } = await startInClone("npm install --no-audit --no-fund --prefer-offline >install.log 2>&1 && exec npm start", "store this now", ports);
    try {
      expect(output()).toContain("embedded store in ./data");
      // Every dependency's install script is approved or denied in package.json: no warning for a newcomer.
      expect(readFileSync(join(repo, "install.log"), "utf8")).not.toMatch(/install-scripts|allowScripts/);
      expect(existsSync(join(repo, "dist/cli.js"))).toBe(true);
      admin = /store this now\): (fluxadm_\w+)/.exec(output())![1]!;
      const g = grpcCaller(ports.grpc);
      await g.call(PingService, "ping", {});
      expect((await connectCaller(ports.http).call(ApiKeyService, "listScopes", {}, admin)).scopes).toEqual([]);
      g.close();
      const page = await fetch(`http://127.0.0.1:${ports.http}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>");
    } finally {
      await stop(child);
    }
  });

  it("starts again without the dev dependencies, from dist/ and without rebuilding it", { timeout: 900_000 }, async () => {
    expect(admin, "the first test started the clone").not.toBe("");
    const builtAt = statSync(join(repo, "dist/server/cli.js")).mtimeMs;
    const omitDev = process.env.FLUX_PACKAGING_LONG === "1" ? ["ci", "--omit=dev"] : ["prune", "--omit=dev"];
    execFileSync("npm", [...omitDev, "--no-audit", "--no-fund", "--prefer-offline"], { cwd: repo, stdio: "ignore" });
    for (const devOnly of ["tsx", "typescript", "vite", "esbuild", "@types/better-sqlite3"]) {
      expect(existsSync(join(repo, "node_modules", devOnly)), devOnly).toBe(false);
    }
    const ports = { grpc: await freePort(), http: await freePort() };
    // `npm start` (its prestart finds dist/ current; building would fail without esbuild), then plain node.
    for (const command of ["exec npm start", "exec node dist/cli.js serve"]) {
      const { child } = await startInClone(command, "is serving", ports);
      try {
        const g = grpcCaller(ports.grpc);
        await g.call(PingService, "ping", {});
        g.close();
        expect((await connectCaller(ports.http).call(ApiKeyService, "listScopes", {}, admin)).scopes).toEqual([]);
        expect((await fetch(`http://127.0.0.1:${ports.http}/`)).status).toBe(200);
      } finally {
        await stop(child);
      }
    }
    expect(statSync(join(repo, "dist/server/cli.js")).mtimeMs).toBe(builtAt);
  });
});
