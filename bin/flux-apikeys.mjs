#!/usr/bin/env node
// Loads the TypeScript CLI in-process through tsx, so no build step stands between a clone and a running service.
import { register } from "tsx/esm/api";

register();
await import("../src/cli.ts");
