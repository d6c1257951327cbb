#!/usr/bin/env node
// The `flux-apikeys` command. Runs the compiled dist/cli.js when it was built from the sources in this tree
// (always so in a production install, which has no tsx); in a checkout whose sources changed since the last
// `npm run build`, it runs those sources through tsx instead, so a stale build never answers for new code.
import { existsSync } from "node:fs";
import { isBuildCurrent } from "../scripts/build-stamp.mjs";

const compiled = new URL("../dist/cli.js", import.meta.url);
if (isBuildCurrent()) {
  await import(compiled.href);
} else {
  let register;
  try {
    ({ register } = await import("tsx/esm/api"));
  } catch {
    const why = existsSync(compiled) ? "dist/ is older than the sources" : "dist/ is missing";
    process.stderr.write(`flux-apikeys: ${why} and tsx is not installed: run \`npm run build\` (needs the dev dependencies)\n`);
    process.exit(1);
  }
  register();
  await import("../src/cli.ts");
}
