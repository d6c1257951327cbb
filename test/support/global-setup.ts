// Starts one MongoDB wire-protocol server (FerretDB, or FLUX_TEST_MONGODB_URI) for the whole run; each test file
// uses its own database on it.
import type { TestProject } from "vitest/node";
// @ts-expect-error plain ESM script without types
import { startTestMongo } from "../../scripts/test-mongo.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    mongoUri: string;
  }
}

export default async function setup(project: TestProject) {
  const mongo = (await startTestMongo()) as { uri: string; stop(): Promise<void> };
  project.provide("mongoUri", mongo.uri);
  return async () => {
    await mongo.stop();
  };
}
