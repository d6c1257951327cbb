// Shared pieces of the packaging checks: running commands without blocking the event loop, scratch directories
// outside the repository, and a Flux server on the embedded store for the installed packages to talk to.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
// @ts-expect-error plain ESM script without types
import { startFluxProcess } from "../../scripts/with-server.mjs";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; rejects with its output when it fails, unless `allowFailure`. */
export function run(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string | undefined>; allowFailure?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 300_000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      const result = { code, stdout, stderr };
      if (code === 0 || opts.allowFailure) resolve(result);
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code}\n${stdout}\n${stderr}`.slice(0, 8000)));
    });
  });
}

/** A scratch directory under the system's temp dir, so nothing in it can resolve files of this repository. */
export function scratchDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `flux-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface LiveServer {
  grpcUrl: string;
  httpUrl: string;
  adminKey: string;
  stop(): Promise<void>;
}

/** `flux-apikeys serve` on the embedded store in a temporary directory. */
export async function startServer(): Promise<LiveServer> {
  const data = scratchDir("pkg-data");
  const adminKey = `pkg-admin-${randomBytes(12).toString("hex")}`;
  const p = await startFluxProcess({ FLUX_ADMIN_KEY: adminKey, FLUX_DATA_DIR: data.path, FLUX_MONGODB_URI: "" });
  return {
    grpcUrl: `http://127.0.0.1:${p.grpcPort}`,
    httpUrl: `http://127.0.0.1:${p.httpPort}`,
    adminKey,
    async stop() {
      await p.stop();
      data.remove();
    },
  };
}
