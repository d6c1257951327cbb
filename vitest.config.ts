import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "clients/ts/test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "test/packaging/**"], // run by vitest.packaging.config.ts
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 120_000,
    teardownTimeout: 20_000,
  },
});
