// The TypeScript SDK as a user gets it: `npm pack`, installed from the tarball into a project outside the
// repository, the product-page example run with plain node, types checked by a consumer's tsc, and a Vite page
// on `@flux/sdk/web` run in Chromium against a live server.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../dashboard/browser.js";
import { type LiveServer, ROOT, run, scratchDir, startServer } from "./support.js";

const SDK = join(ROOT, "clients/ts");
const project = scratchDir("ts-consumer");
const rootPkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const peerVersion = (name: string) => `${name}@${rootPkg.dependencies[name] ?? rootPkg.devDependencies[name]}`;
const PEERS = ["@bufbuild/protobuf", "@connectrpc/connect", "@connectrpc/connect-node", "@connectrpc/connect-web"];

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}
let packed: PackResult;
let server: LiveServer;

beforeAll(async () => {
  const [pack, live] = await Promise.all([
    run("npm", ["pack", "--json", "--pack-destination", project.path], { cwd: SDK }),
    startServer(),
  ]);
  server = live;
  packed = JSON.parse(pack.stdout.slice(pack.stdout.indexOf("[")))[0];
  console.log(`@flux/sdk tarball: ${packed.filename}, ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${packed.files.length} files`);
  writeFileSync(join(project.path, "package.json"), JSON.stringify({ name: "sdk-consumer", private: true, type: "module" }));
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", `./${packed.filename}`, ...PEERS.map(peerVersion)], {
    cwd: project.path,
  });
}, 300_000);

afterAll(async () => {
  await server?.stop();
  project.remove();
});

describe("the packed @flux/sdk", () => {
  it("holds compiled ESM with .d.ts files, the generated code, the licence, and no TypeScript sources", () => {
    const files = packed.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(["LICENSE", "README.md", "package.json", "dist/node.js", "dist/web.js", "dist/index.js"]));
    expect(files).toContain("dist/gen/flux/apikeys/v1/api_key_service_pb.js");
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    for (const js of files.filter((f) => f.endsWith(".js"))) expect(files, js).toContain(js.replace(/\.js$/, ".d.ts"));
  });

  it("is publishable: not private, Apache-2.0, a types condition on every entry, peers as ranges", () => {
    const pkg = JSON.parse(readFileSync(join(project.path, "node_modules/@flux/sdk/package.json"), "utf8"));
    expect(pkg.private).toBeUndefined();
    expect(pkg.license).toBe("Apache-2.0");
    for (const [entry, target] of Object.entries(pkg.exports)) {
      if (entry === "./package.json") continue;
      expect(JSON.stringify(target), entry).toContain('"types":');
    }
    for (const [name, range] of Object.entries(pkg.peerDependencies)) expect(range, name).toMatch(/^\^\d+\.\d+\.\d+$/);
  });

  it("runs the product page example with plain node against a live server", async () => {
    copyFileSync(join(SDK, "examples/product-page.mjs"), join(project.path, "product-page.mjs"));
    const { stdout, stderr } = await run(process.execPath, ["product-page.mjs"], {
      cwd: project.path,
      env: { PATH: process.env.PATH, FLUX_URL: server.grpcUrl, FLUX_ADMIN_KEY: server.adminKey },
    });
    expect(stderr).toBe("");
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(9);
    expect(lines[0]).toMatch(/^Created key: flux_[0-9A-Za-z]+$/);
    expect(lines[3]).toBe("Old secret rejected: NOT_FOUND");
    expect(lines[6]).toMatch(/^Request 3: rate limited, retry in [1-9]\d* ms/);
    expect(lines[8]).toBe("Public API client: 3 requests, error rate 0.33");
  }, 60_000);

  it("gives a consumer's tsc the types of each entry through the exports map", async () => {
    writeFileSync(
      join(project.path, "check.ts"),
      [
        'import { Flux, RateLimitedError } from "@flux/sdk";',
        'import { Flux as WebFlux } from "@flux/sdk/web";',
        'import { type ApiKey } from "@flux/sdk/core";',
        'const flux: Flux = Flux.init("k", { transport: "connect" });',
        'const web: WebFlux = WebFlux.init("k", { transport: "grpc-web" });',
        "const after = (e: RateLimitedError): number | undefined => e.retryAfterMs;",
        "export const used: [Flux, WebFlux, typeof after, ApiKey | undefined] = [flux, web, after, undefined];",
        "// @ts-expect-error the SDK's types are strict: a number is no admin key",
        "Flux.init(42);",
      ].join("\n"),
    );
    const tsconfig = { compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, skipLibCheck: true, types: [] } };
    writeFileSync(join(project.path, "tsconfig.json"), JSON.stringify({ ...tsconfig, files: ["check.ts"] }));
    await run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: project.path });
  }, 60_000);

  it("builds a page on @flux/sdk/web with Vite that runs in Chromium against the server", async () => {
    const web = join(project.path, "web");
    mkdirSync(web);
    writeFileSync(join(web, "index.html"), '<!doctype html><title>sdk page</title><pre id="out"></pre><script type="module" src="./main.js"></script>\n');
    writeFileSync(
      join(web, "main.js"),
      `import { Flux, InvalidKeyError } from "@flux/sdk/web";
const out = document.getElementById("out");
const flux = Flux.init(new URLSearchParams(location.search).get("admin")); // the page's origin
try {
  await flux.apiKeys.defineScope("web:read", "Read from the page");
  const key = await flux.apiKeys.create({ orgId: "org_page", name: "page", scopes: ["web:read"] });
  const info = await flux.apiKeys.validate(key.secret);
  const refused = await flux.apiKeys.validate("flux_notakey").catch((e) => (e instanceof InvalidKeyError ? e.outcome : String(e)));
  out.textContent = JSON.stringify({ hasScope: info.hasScope("web:read"), refused });
} catch (e) {
  out.textContent = JSON.stringify({ error: String(e) });
}
`,
    );
    const { build } = await import("vite");
    await build({ root: web, base: "/sdk-page/", configFile: false, logLevel: "warn", build: { outDir: join(web, "dist"), target: "es2022" } });
    const bundle = readFileSync(join(web, "dist/index.html"), "utf8");
    expect(bundle).toContain("/sdk-page/assets/");

    // The page is served from the server's origin (as the dashboard is), so its RPCs are same-origin.
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.route(`${server.httpUrl}/sdk-page/**`, (route) => {
        const rel = new URL(route.request().url()).pathname.replace(/^\/sdk-page\//, "");
        const body = readFileSync(join(web, "dist", rel || "index.html"));
        route.fulfill({ body, contentType: rel.endsWith(".js") ? "text/javascript" : "text/html" });
      });
      await page.goto(`${server.httpUrl}/sdk-page/index.html?admin=${server.adminKey}`);
      await page.waitForFunction(() => document.getElementById("out")?.textContent !== "", undefined, { timeout: 30_000 });
      expect(JSON.parse((await page.textContent("#out"))!)).toEqual({ hasScope: true, refused: "MALFORMED" });
    } finally {
      await browser.close();
    }
  }, 120_000);
});
