// `npm run build` output is the production server: `node dist/cli.js serve` answers gRPC and Connect and serves the
// dashboard, with no TypeScript tooling at run time. The build goes to test-artifacts/build-check/dist so that it
// never races the dashboard tests over the repository's dist/.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { PingService } from "../../gen/ts/flux/apikeys/v1/ping_service_pb.js";
import { connectCaller, grpcCaller } from "../support/callers.js";
// @ts-expect-error plain ESM script without types
import { freePort } from "../../scripts/with-server.mjs";
import { ROOT, run, scratchDir } from "./support.js";

const OUT = join(ROOT, "test-artifacts/build-check/dist");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

beforeAll(async () => {
  rmSync(OUT, { recursive: true, force: true });
  await run(process.execPath, ["scripts/build.mjs", "--out-dir", OUT]);
}, 180_000);

/** The package names a bundle imports at run time (bare specifiers, node: built-ins left out). */
function runtimePackages(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?["']([^"'./][^"']*)["']|\bimport\(\s*["']([^"'./][^"']*)["']\s*\)/g)].map((m) => m[1] ?? m[2]!);
  const names = specs
    .filter((s) => !s.startsWith("node:") && !builtinModules.includes(s.split("/")[0]!))
    .map((s) => (s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0]!));
  return [...new Set(names)].sort();
}

describe("npm run build", () => {
  it("emits dist/cli.js, one server bundle and the dashboard", () => {
    for (const f of ["cli.js", "server/cli.js", "server/cli.js.map", "dashboard/index.html", "build-info.json"]) {
      expect(existsSync(join(OUT, f)), f).toBe(true);
    }
  });

  it("needs only runtime dependencies at run time: no tsx, no type packages, no dev tools", () => {
    const used = runtimePackages(join(OUT, "server/cli.js"));
    expect(used.length).toBeGreaterThan(5);
    const runtime = Object.keys(pkg.dependencies);
    expect(used.filter((name) => !runtime.includes(name))).toEqual([]);
    expect(runtime.filter((name) => name.startsWith("@types/") || name === "tsx" || name === "typescript")).toEqual([]);
  });

  it("rebuilds only when an input changed (npm start's prestart)", async () => {
    const before = statSync(join(OUT, "server/cli.js")).mtimeMs;
    await run(process.execPath, ["scripts/build.mjs", "--if-stale", "--out-dir", OUT]);
    expect(statSync(join(OUT, "server/cli.js")).mtimeMs).toBe(before);
    // A build whose stamp no longer matches is redone.
    rmSync(join(OUT, "build-info.json"));
    await run(process.execPath, ["scripts/build.mjs", "--if-stale", "--out-dir", OUT]);
    expect(existsSync(join(OUT, "build-info.json"))).toBe(true);
  }, 120_000);
});

describe("node dist/cli.js serve", () => {
  const data = scratchDir("build-data");
  afterAll(() => data.remove());

  it("serves gRPC, Connect and the dashboard from the compiled build", async () => {
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const adminKey = "build-check-admin-key-0123456789";
    // cwd outside the repository: the build finds its dashboard next to itself, not through the working directory.
    const child = spawn(process.execPath, [join(OUT, "cli.js"), "serve"], {
      cwd: data.path,
      env: {
        ...process.env,
        FLUX_GRPC_ADDR: `127.0.0.1:${grpcPort}`,
        FLUX_HTTP_ADDR: `127.0.0.1:${httpPort}`,
        FLUX_ADMIN_KEY: adminKey,
        FLUX_MONGODB_URI: "",
        FLUX_DATA_DIR: join(data.path, "data"),
        FLUX_LOG_LEVEL: "warn",
        NODE_OPTIONS: "",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => out.includes("is serving") && (clearInterval(timer), resolve()), 50);
        child.once("exit", (code) => (clearInterval(timer), reject(new Error(`exited ${code}: ${out}`))));
      });
      const g = grpcCaller(grpcPort);
      await g.call(PingService, "ping", {});
      g.close();
      const c = connectCaller(httpPort);
      expect((await c.call(ApiKeyService, "listScopes", {}, adminKey)).scopes).toEqual([]);
      c.close();
      const page = await fetch(`http://127.0.0.1:${httpPort}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>");
    } finally {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    expect(child.exitCode).toBe(0);
  }, 60_000);
});
