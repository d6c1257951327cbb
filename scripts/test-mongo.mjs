// MongoDB wire-protocol server for tests: FerretDB v1 (SQLite backend) embedded in
// the small Go program in tools/ferretdb, built once into a cache outside the repo.
//
//   import { startTestMongo } from "../scripts/test-mongo.mjs";
//   const mongo = await startTestMongo();   // { uri, stop }
//   ... new MongoClient(mongo.uri) ...
//   await mongo.stop();
//
// If FLUX_TEST_MONGODB_URI is set, that server is used instead and nothing is built.
//
// Fault tests start their own server on a data dir and port they choose, kill it and start it again on the same
// data and port (the URI stays the same, so clients reconnect by themselves):
//   const first = await startTestMongo({ dataDir, port: 0 });        // { uri, port, kill, stop }
//   await first.kill("SIGKILL");                                     // the data dir is kept (the caller owns it)
//   const second = await startTestMongo({ dataDir, port: first.port });
//
// CLI:
//   node scripts/test-mongo.mjs               start a server, print its URI, run until SIGINT/SIGTERM
//   node scripts/test-mongo.mjs --build-only  build (if needed), print the binary path, exit
//
// Environment:
//   FLUX_TEST_MONGODB_URI  use this server instead of starting one
//   FLUX_CACHE_DIR         cache directory for the binary (default ~/.cache/flux-apikeys)
//
// Needs the Go toolchain (>= 1.24) on PATH for the first build; no cgo.
// Plain ESM, Node built-ins only.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, realpathSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const THIS_FILE = fileURLToPath(import.meta.url);
const REPO_ROOT = path.resolve(path.dirname(THIS_FILE), "..");
const GO_SRC_DIR = path.join(REPO_ROOT, "tools", "ferretdb");

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const LOCK_STALE_MS = 15 * 60_000;
const STDERR_KEEP_BYTES = 16 * 1024;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function cacheDir() {
  return process.env.FLUX_CACHE_DIR || path.join(os.homedir(), ".cache", "flux-apikeys");
}

async function sourceHash() {
  const h = createHash("sha256");
  h.update(`${process.platform}-${process.arch}\n`);
  // Every file of the program (go.mod, go.sum and each .go file): a change to any of them must rebuild the binary.
  const names = (await readdir(GO_SRC_DIR)).filter((n) => n === "go.mod" || n === "go.sum" || n.endsWith(".go")).sort();
  for (const name of names) {
    const data = await readFile(path.join(GO_SRC_DIR, name));
    h.update(`${name}\0${data.length}\0`);
    h.update(data);
  }
  return h.digest("hex").slice(0, 16);
}

function runGoBuild(outFile) {
  const goflags = [process.env.GOFLAGS, "-mod=mod", "-buildvcs=false"].filter(Boolean).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn(
      "go",
      ["build", "-trimpath", "-ldflags=-s -w", "-o", outFile, "."],
      {
        cwd: GO_SRC_DIR,
        env: { ...process.env, CGO_ENABLED: "0", GOFLAGS: goflags },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", (err) => {
      if (err.code === "ENOENT") {
        reject(
          new Error(
            "test-mongo: the Go toolchain (`go`, >= 1.24) is not on PATH; it is needed once to build " +
              "the FerretDB test server. Install Go, or set FLUX_TEST_MONGODB_URI to an existing MongoDB.",
          ),
        );
      } else {
        reject(err);
      }
    });
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `test-mongo: \`go build\` in ${GO_SRC_DIR} failed (${signal ?? `exit ${code}`}):\n${output.trim()}`,
          ),
        );
    });
  });
}

// Cross-process lock (several test processes may start at once): mkdir is atomic.
async function withLock(lockDir, fn) {
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (err) {
      if (err.code !== "EEXIST") throw err;
      try {
        const st = await stat(lockDir);
        if (Date.now() - st.mtimeMs > LOCK_STALE_MS) {
          await rm(lockDir, { recursive: true, force: true });
          continue;
        }
      } catch {
        continue; // lock vanished between mkdir and stat
      }
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

async function pruneOldBinaries(dir, keep) {
  try {
    for (const name of await readdir(dir)) {
      if (/^ferretdb-[0-9a-f]{16}$/.test(name) && name !== keep) {
        await rm(path.join(dir, name), { force: true });
      }
    }
  } catch {
    // best effort
  }
}

let binaryPromise;

/**
 * Builds tools/ferretdb into the cache (only when go.mod, go.sum or a .go file changed)
 * and returns the absolute path of the binary.
 * @returns {Promise<string>}
 */
export function ensureFerretBinary() {
  binaryPromise ??= buildIfNeeded().catch((err) => {
    binaryPromise = undefined;
    throw err;
  });
  return binaryPromise;
}

async function buildIfNeeded() {
  const dir = cacheDir();
  const name = `ferretdb-${await sourceHash()}`;
  const bin = path.join(dir, name);
  if (existsSync(bin)) return bin;

  await mkdir(dir, { recursive: true });
  return withLock(`${bin}.lock`, async () => {
    if (existsSync(bin)) return bin; // another process built it while we waited
    process.stderr.write("building FerretDB test server (first run only)…\n");
    const started = Date.now();
    const tmp = `${bin}.tmp-${process.pid}`;
    try {
      await runGoBuild(tmp);
      await rename(tmp, bin);
    } finally {
      await rm(tmp, { force: true });
    }
    process.stderr.write(`built ${bin} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    await pruneOldBinaries(dir, name);
    return bin;
  });
}

/**
 * Starts a throwaway MongoDB-compatible server (FerretDB on SQLite in a temp dir),
 * or uses FLUX_TEST_MONGODB_URI when set.
 * With `dataDir` and/or `port`, always starts its own server there; a given dataDir is kept on stop and kill.
 * @param {{ dataDir?: string, port?: number }} [opts]
 * @returns {Promise<{ uri: string, port?: number, stop: () => Promise<void>, kill: (signal?: NodeJS.Signals) => Promise<void> }>}
 */
export async function startTestMongo(opts = {}) {
  const own = opts.dataDir !== undefined || opts.port !== undefined;
  const external = process.env.FLUX_TEST_MONGODB_URI;
  if (external && !own) return { uri: external, stop: async () => {}, kill: async () => {} };

  const bin = await ensureFerretBinary();
  const keepData = opts.dataDir !== undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), "flux-ferretdb-")));

  // Port 0: the server binds a free port itself and reports it ("ready mongodb://HOST:PORT/"),
  // so there is no race between picking a port and binding it.
  const child = spawn(bin, ["-listen", `127.0.0.1:${opts.port ?? 0}`, "-dir", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
  });

  let stderrTail = "";
  let ready = false;
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => {
    if (ready) process.stderr.write(d.replace(/^(?=.)/gm, "[ferretdb] "));
    else stderrTail = (stderrTail + d).slice(-STDERR_KEEP_BYTES);
  });

  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  let hasExited = false;
  exited.then(() => (hasExited = true));

  // If the test process ends without calling stop(), don't leave the server behind.
  const onExit = () => {
    if (!hasExited) child.kill("SIGKILL");
    if (!keepData) rmSync(dataDir, { recursive: true, force: true });
  };
  process.once("exit", onExit);

  const cleanup = async () => {
    process.removeListener("exit", onExit);
    if (!keepData) await rm(dataDir, { recursive: true, force: true });
  };

  let uri;
  try {
    uri = await new Promise((resolve, reject) => {
      let stdoutBuf = "";
      const timer = setTimeout(() => {
        reject(
          new Error(
            `test-mongo: FerretDB (${bin}) did not become ready within ${START_TIMEOUT_MS / 1000}s.\n` +
              `stderr:\n${stderrTail.trim() || "(empty)"}`,
          ),
        );
      }, START_TIMEOUT_MS);
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(new Error(`test-mongo: could not start ${bin}: ${err.message}`));
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(
          new Error(
            `test-mongo: FerretDB exited before it was ready (${signal ?? `exit ${code}`}).\n` +
              `stderr:\n${stderrTail.trim() || "(empty)"}`,
          ),
        );
      });
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (d) => {
        stdoutBuf += d;
        const m = /^ready (mongodb:\/\/\S+)\s*$/m.exec(stdoutBuf);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
  } catch (err) {
    if (!hasExited) {
      child.kill("SIGKILL");
      await exited;
    }
    await cleanup();
    throw err;
  }
  ready = true;

  // Let the test process exit even if stop() is never called (the exit hook kills the server).
  child.unref();
  child.stdout.unref?.();
  child.stderr.unref?.();

  let stopping;
  const stop = () => {
    stopping ??= (async () => {
      if (!hasExited) {
        child.kill("SIGTERM");
        const killTimer = setTimeout(() => {
          if (!hasExited) child.kill("SIGKILL");
        }, STOP_GRACE_MS);
        await exited;
        clearTimeout(killTimer);
      }
      await cleanup();
    })();
    return stopping;
  };

  /** Ends the server abruptly (SIGKILL by default: a crash) and waits for it to exit. */
  const kill = async (signal = "SIGKILL") => {
    if (!hasExited) child.kill(signal);
    await exited;
    await cleanup();
  };

  return { uri, port: Number(new URL(uri).port), stop, kill };
}

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(THIS_FILE);
  } catch {
    return false;
  }
}

async function main() {
  if (process.argv.includes("--build-only")) {
    console.log(await ensureFerretBinary());
    return;
  }
  const mongo = await startTestMongo();
  console.log(mongo.uri);
  const keepAlive = setInterval(() => {}, 1 << 30);
  await new Promise((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  clearInterval(keepAlive);
  await mongo.stop();
}

if (isMain()) {
  main().catch((err) => {
    console.error(err?.message ?? err);
    process.exit(1);
  });
}
