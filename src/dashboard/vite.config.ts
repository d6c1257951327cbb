// Builds the dashboard into dist/dashboard: part of `npm run build` (scripts/build.mjs, which `npm start` runs when
// dist/ is stale), or alone with `npm run build:dashboard`.
// Every script and style ends up in hashed files under assets/, so the page runs under a CSP with no inline code.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  base: "/",
  publicDir: "public",
  logLevel: "warn",
  clearScreen: false,
  build: {
    outDir: fileURLToPath(new URL("../../dist/dashboard", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    // The polyfill would be an inline script, which the CSP forbids; every browser we target preloads natively.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 400,
  },
  server: { strictPort: false },
});
