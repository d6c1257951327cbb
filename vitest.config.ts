import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "clients/ts/test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "test/packaging/**"], // run by vitest.packaging.config.ts
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    testTimeout: 90_000, // process tests start servers; a loaded 2-core machine needs the margin
    hookTimeout: 120_000,
    teardownTimeout: 20_000,
  },
});
