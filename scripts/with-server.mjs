// Runs a command against a real Flux server: starts the MongoDB-compatible test server (or uses
// FLUX_TEST_MONGODB_URI) and `flux-apikeys serve` on free ports, then runs the command with
// FLUX_URL (gRPC), FLUX_HTTP_URL (Connect) and FLUX_TEST_ADMIN_KEY set, and stops everything.
// --tls adds a second server over TLS (same store and admin key) with a CA made now: FLUX_TLS_URL,
// FLUX_TLS_HTTP_URL, FLUX_TEST_CA_FILE, and FLUX_TEST_WRONG_CA_FILE (a CA that did not sign it).
//   node scripts/with-server.mjs [--embedded] [--tls] -- <command...>
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startTestMongo } from "./test-mongo.mjs";
import { createTestPki } from "./test-pki.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `flux-apikeys serve` and resolves once it prints its addresses. */
export async function startFluxProcess(env, { timeoutMs = 60_000 } = {}) {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, "bin/flux-apikeys.mjs"), "serve"], {
    cwd: ROOT,
    env: { ...process.env, FLUX_GRPC_ADDR: `127.0.0.1:${grpcPort}`, FLUX_HTTP_ADDR: `127.0.0.1:${httpPort}`, FLUX_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`flux server did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      if (out.includes("is serving")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`flux server exited with ${code}:\n${out}`));
    });
  });
  child.removeAllListeners("exit");
  return {
    child,
    grpcPort,
    httpPort,
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        // A death by signal resolves to the signal's name, so a failing test says which.
        child.once("exit", (code, signal) => resolve(code ?? signal));
        child.kill("SIGTERM");
      }),
  };
}

/** A second Flux over TLS beside the first (its own data directory when the store is embedded). */
async function startTlsServer(baseEnv) {
  const pki = createTestPki();
  const wrong = createTestPki({ name: "Not The Flux Test CA" });
  const cert = pki.issueServer();
  const dataDir = baseEnv.FLUX_DATA_DIR ? mkdtempSync(path.join(os.tmpdir(), "flux-sdk-tls-")) : undefined;
  const server = await startFluxProcess({ ...baseEnv, ...(dataDir ? { FLUX_DATA_DIR: dataDir } : {}), FLUX_TLS_CERT_FILE: cert.cert, FLUX_TLS_KEY_FILE: cert.key });
  return {
    env: {
      FLUX_TLS_URL: `https://127.0.0.1:${server.grpcPort}`,
      FLUX_TLS_HTTP_URL: `https://127.0.0.1:${server.httpPort}`,
      FLUX_TEST_CA_FILE: pki.caCert,
      FLUX_TEST_WRONG_CA_FILE: wrong.caCert,
    },
    async stop() {
      const exit = await server.stop();
      if (exit !== 0) console.error(`flux TLS server exited with ${exit} on SIGTERM:\n${server.output()}`);
      pki.remove();
      wrong.remove();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function main() {
  const argv = process.argv.slice(2);
  const sep = argv.indexOf("--");
  const opts = sep >= 0 ? argv.slice(0, sep) : [];
  const cmd = sep >= 0 ? argv.slice(sep + 1) : argv;
  if (cmd.length === 0) {
    console.error("usage: node scripts/with-server.mjs [--embedded] [--tls] -- <command...>");
    process.exit(2);
  }
  const adminKey = `test-admin-${randomBytes(12).toString("hex")}`;
  let mongo;
  let dataDir;
  const env = { FLUX_ADMIN_KEY: adminKey };
  if (opts.includes("--embedded")) {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "flux-sdk-"));
    env.FLUX_DATA_DIR = dataDir;
  } else {
    mongo = await startTestMongo();
    env.FLUX_MONGODB_URI = mongo.uri;
    env.FLUX_MONGODB_DB = `sdk_${randomBytes(4).toString("hex")}`;
  }
  let server;
  let tls;
  let code = 1;
  const testEnv = {};
  try {
    server = await startFluxProcess(env);
    if (opts.includes("--tls")) {
      tls = await startTlsServer(env);
      Object.assign(testEnv, tls.env);
    }
    code = await new Promise((resolve) => {
      const child = spawn(cmd[0], cmd.slice(1), {
        stdio: "inherit",
        env: {
          ...process.env,
          FLUX_URL: `http://127.0.0.1:${server.grpcPort}`,
          FLUX_HTTP_URL: `http://127.0.0.1:${server.httpPort}`,
          FLUX_TEST_ADMIN_KEY: adminKey,
          ...testEnv,
        },
      });
      child.once("exit", (c, sig) => resolve(c ?? (sig ? 1 : 0)));
    });
  } catch (err) {
    console.error(err.message);
  } finally {
    if (server) {
      const exit = await server.stop();
      if (exit !== 0) {
        console.error(`flux server exited with ${exit} on SIGTERM:\n${server.output()}`);
        if (code === 0) code = 1;
      }
    }
    if (tls) await tls.stop();
    if (mongo) await mongo.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
  process.exit(code);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
