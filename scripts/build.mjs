// `npm run build`: the server as plain JavaScript, for production runs without tsx.
//   dist/server/cli.js   src/ and gen/ts bundled into one ESM file by esbuild (npm packages stay external,
//                        resolved from node_modules at run time), with a source map
//   dist/cli.js          the entry: `node dist/cli.js serve`
//   dist/dashboard/      the dashboard (Vite)
//   dist/build-info.json the hash of the inputs, so `npm start` rebuilds only when they changed
// Usage: node scripts/build.mjs [--if-stale] [--out-dir DIR]
// The bundle sits two levels below the project root because the dashboard handler finds its files at
// "../../dist/dashboard/" from its own module, both from src/dashboard/ and from dist/server/.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildInfoPath, DEFAULT_OUT_DIR, inputHash, isBuildCurrent, ROOT } from "./build-stamp.mjs";

const args = process.argv.slice(2);
const outFlag = args.indexOf("--out-dir");
const outDir = outFlag >= 0 ? path.resolve(args[outFlag + 1]) : DEFAULT_OUT_DIR;
if (path.basename(outDir) !== "dist") {
  console.error(`build: the output directory must be named dist (the dashboard is found at ../../dist/dashboard), got ${outDir}`);
  process.exit(2);
}

if (args.includes("--if-stale") && isBuildCurrent(outDir)) process.exit(0);

const started = Date.now();
const hash = inputHash();
// Imported only when building, so a production tree without dev dependencies can still ask whether it is current.
const [{ build: esbuild }, { build: viteBuild }] = await Promise.all([import("esbuild"), import("vite")]).catch((err) => {
  console.error(`build: dist/ is missing or older than the sources, and the build tools are not installed (${err.code}).`);
  console.error("Install the dev dependencies (npm install) and run npm run build, or deploy a tree built elsewhere.");
  process.exit(1);
});

rmSync(path.join(outDir, "server"), { recursive: true, force: true });
rmSync(buildInfoPath(outDir), { force: true });
mkdirSync(outDir, { recursive: true });

await esbuild({
  absWorkingDir: ROOT,
  entryPoints: ["src/cli.ts"],
  outfile: path.join(outDir, "server/cli.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: "linked",
  sourcesContent: false,
  logLevel: "warning",
});
writeFileSync(
  path.join(outDir, "cli.js"),
  `// Built by scripts/build.mjs. Stack traces point at src/ through the bundle's source map.\nprocess.setSourceMapsEnabled(true);\nawait import("./server/cli.js");\n`,
);
await viteBuild({
  configFile: path.join(ROOT, "src/dashboard/vite.config.ts"),
  build: { outDir: path.join(outDir, "dashboard") },
});
writeFileSync(buildInfoPath(outDir), `${JSON.stringify({ inputHash: hash, builtAt: new Date().toISOString() }, null, 2)}\n`);
console.error(`built ${path.relative(process.cwd(), outDir) || "."}/ in ${Date.now() - started} ms`);
