// The Python SDK as a user gets it: `python -m build` makes an sdist and, from that sdist alone, a wheel; the wheel
// installs into a fresh virtualenv that cannot see the repository and runs the product page's Python snippet
// (examples/product_page.py) against a live server.
import { copyFileSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveServer, ROOT, run, scratchDir, startServer } from "./support.js";

const SDK = join(ROOT, "clients/python");
const work = scratchDir("py-consumer");
const VERSION = /^__version__ = "([^"]+)"$/m.exec(readFileSync(join(SDK, "src/flux/__init__.py"), "utf8"))![1]!;
let server: LiveServer;
let artifacts: string[];
const venvPython = join(work.path, "venv/bin/python");

beforeAll(async () => {
  const devVenv = (await run("bash", ["scripts/python-env.sh"])).stdout.trim();
  const [, live] = await Promise.all([
    (async () => {
      try {
        await run(join(devVenv, "bin/python"), ["-m", "build", "--outdir", join(work.path, "dist"), SDK]);
      } finally {
        rmSync(join(SDK, "build"), { recursive: true, force: true });
        for (const d of readdirSync(join(SDK, "src"))) if (d.endsWith(".egg-info")) rmSync(join(SDK, "src", d), { recursive: true, force: true });
      }
      artifacts = readdirSync(join(work.path, "dist")).sort();
      console.log(`flux-apikeys: ${artifacts.map((a) => `${a} ${statSync(join(work.path, "dist", a)).size} bytes`).join(", ")}`);
      await run("python3", ["-m", "venv", join(work.path, "venv")]);
      const wheel = artifacts.find((a) => a.endsWith(".whl"))!;
      await run(venvPython, ["-m", "pip", "install", "-q", "--disable-pip-version-check", join(work.path, "dist", wheel)], { cwd: work.path });
    })(),
    startServer(),
  ]);
  server = live;
}, 300_000);

afterAll(async () => {
  await server?.stop();
  work.remove();
});

/** Runs Python in the fresh venv, isolated (-I: no PYTHONPATH, no user site, no script directory on the path). */
const py = (args: string[], env: Record<string, string> = {}) => run(venvPython, ["-I", ...args], { cwd: work.path, env: { PATH: process.env.PATH, ...env } });

describe("the built flux-apikeys distribution", () => {
  it("is a wheel and an sdist named flux-apikeys at the one version in flux.__version__", () => {
    expect(artifacts).toEqual([`flux_apikeys-${VERSION}-py3-none-any.whl`, `flux_apikeys-${VERSION}.tar.gz`]);
  });

  it("carries complete metadata: SPDX licence with its file, URLs, classifiers, supported Pythons", async () => {
    const { stdout } = await py([
      "-c",
      "import importlib.metadata as m, json; d = m.distribution('flux-apikeys'); print(json.dumps({'meta': dict(d.metadata.items()), 'all': {k: d.metadata.get_all(k) for k in ('Classifier', 'Project-URL')}, 'files': [str(f) for f in d.files]}))",
    ]);
    const { meta, all, files } = JSON.parse(stdout);
    expect(meta).toMatchObject({ Name: "flux-apikeys", Version: VERSION, "License-Expression": "Apache-2.0", "Requires-Python": ">=3.9" });
    expect(files).toContain(`flux_apikeys-${VERSION}.dist-info/licenses/LICENSE`);
    expect(all["Project-URL"].map((u: string) => u.split(",")[0])).toEqual(expect.arrayContaining(["Homepage", "Repository", "Issues"]));
    expect(all.Classifier).toEqual(expect.arrayContaining(["Programming Language :: Python :: 3.9", "Programming Language :: Python :: 3.13", "Typing :: Typed"]));
    expect(files).toContain("flux/apikeys/v1/api_key_service_pb2_grpc.py");
  });

  it("imports as `flux` from the fresh venv, not from the repository", async () => {
    const { stdout } = await py(["-c", "import flux; print(flux.__file__); print(flux.__version__)"]);
    const [file, version] = stdout.trim().split("\n");
    expect(file!.startsWith(join(work.path, "venv"))).toBe(true);
    expect(version).toBe(VERSION);
  });

  it("runs the product page's Python snippet against a live server", async () => {
    copyFileSync(join(SDK, "examples/product_page.py"), join(work.path, "product_page.py"));
    const { stdout, stderr } = await py(["product_page.py"], { FLUX_URL: server.grpcUrl, FLUX_ADMIN_KEY: server.adminKey });
    expect(stderr).toBe("");
    expect(stdout).toMatch(/^Created key: key_\w+\nNew secret issued for key_\w+\nRequests this month: 1\n$/);
  }, 60_000);
});
