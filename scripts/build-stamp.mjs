// Whether dist/ was built from the sources now in the tree: a hash of every build input, kept in
// dist/build-info.json. Plain Node (no dev dependencies), so `npm start` and bin/flux-apikeys.mjs can ask it cheaply.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_OUT_DIR = path.join(ROOT, "dist");
const INPUT_DIRS = ["src", "gen/ts"];
// The lock file pins what the dashboard bundles (the server bundle keeps packages external).
const INPUT_FILES = ["scripts/build.mjs", "scripts/build-stamp.mjs", "tsconfig.json", "package-lock.json"];

function listFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/** A hash over the names and contents of the build's inputs; null when the sources are absent (a deployed dist). */
export function inputHash(root = ROOT) {
  if (!existsSync(path.join(root, "src"))) return null;
  const files = [
    ...INPUT_DIRS.flatMap((d) => (existsSync(path.join(root, d)) ? listFiles(path.join(root, d)) : [])),
    ...INPUT_FILES.map((f) => path.join(root, f)).filter((f) => existsSync(f)),
  ].sort();
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(path.relative(root, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex");
}

export const buildInfoPath = (outDir = DEFAULT_OUT_DIR) => path.join(outDir, "build-info.json");

/** True when outDir holds a complete build of the current inputs (or of sources this tree no longer has). */
export function isBuildCurrent(outDir = DEFAULT_OUT_DIR, root = ROOT) {
  const infoFile = buildInfoPath(outDir);
  const outputs = [infoFile, path.join(outDir, "cli.js"), path.join(outDir, "server/cli.js"), path.join(outDir, "dashboard/index.html")];
  if (!outputs.every((f) => existsSync(f))) return false;
  const hash = inputHash(root);
  if (hash === null) return true;
  try {
    return JSON.parse(readFileSync(infoFile, "utf8")).inputHash === hash;
  } catch {
    return false;
  }
}
