// The packaging checks (`npm test` runs them as their own step): the compiled server, and each SDK packed,
// installed outside the repository and run against a live server. Slow by nature, so not in the default run.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/packaging/**/*.test.ts"],
    pool: "forks",
    testTimeout: 300_000,
    hookTimeout: 300_000,
    teardownTimeout: 20_000,
  },
});
