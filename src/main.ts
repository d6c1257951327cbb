// `serve`: the only reader of process.env. Load config, open the store, build deps, listen, drain on SIGTERM.
import { type Config, ConfigError, loadConfig } from "./config.js";
import { createDeps, openStores } from "./deps.js";
import { createLogger } from "./logger.js";
import { startServer } from "./server.js";
import { loadServerTls, type ServerTls, TlsLoadError } from "./transport/tls.js";
import { loadReporterKeys, ReporterKeysError } from "./services/leak-signature.js";
import { describeStartupError, redactUri } from "./startup-errors.js";
import { runPrimary, type WorkerReady } from "./worker-pool.js";
import { clusterMetricsText } from "./worker-metrics.js";

export async function serve(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // No V8 heap flags here: the young generation is sized when the isolate starts, so setFlagsFromString
  // ("--max-semi-space-size=…") at this point changes nothing (measured: same new-space size, same scavenges).
  // Operators can pass it in NODE_OPTIONS; the benchmark's A/B of 32 MB against the default showed no gain (0.96–0.97×).
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
  const log = createLogger(config.FLUX_LOG_LEVEL);
  let tls: ServerTls | undefined;
  try {
    tls = serverTls(config);
  } catch (err) {
    if (err instanceof TlsLoadError) fail(`cannot load the TLS certificate: ${err.message}`, 2);
    throw err;
  }
  let reporterKeys = 0;
  if (config.FLUX_LEAK_REPORTER_KEYS) {
    try {
      reporterKeys = loadReporterKeys(config.FLUX_LEAK_REPORTER_KEYS).size;
    } catch (err) {
      if (err instanceof ReporterKeysError) fail(`FLUX_LEAK_REPORTER_KEYS: ${config.FLUX_LEAK_REPORTER_KEYS} ${err.message}`, 2);
      throw err;
    }
  }
  const storeName = config.FLUX_MONGODB_URI ? `MongoDB at ${redactUri(config.FLUX_MONGODB_URI)}` : `embedded store in ${config.FLUX_DATA_DIR}`;
  const banner = (grpcPort: number, httpPort: number, secret?: string) => {
    const lines = [`Flux API Keys is serving (store: ${storeName}${config.FLUX_WORKERS > 1 ? `; ${config.FLUX_WORKERS} worker processes` : ""})`];
    lines.push(`  gRPC  ${hostOf(config.FLUX_GRPC_ADDR)}:${grpcPort}${tls ? " over TLS" : ""}  (backend services, grpcurl, Python and Rust SDKs)`);
    lines.push(`  HTTP  http${tls ? "s" : ""}://${hostOf(config.FLUX_HTTP_ADDR)}:${httpPort}/  (dashboard, Connect, gRPC-Web, /metrics)`);
    if (reporterKeys > 0) {
      lines.push(`  Leaks POST /v1/leaks/report on the HTTP address: ${reporterKeys} reporter key(s), action ${config.FLUX_LEAK_ACTION}`);
    }
    if (tls) {
      const c = tls.certificate();
      lines.push(`  TLS   certificate serial ${c.serialNumber}, valid to ${c.validTo}${tls.requireClientCert ? "; client certificates required" : ""} (SIGHUP re-reads it)`);
    }
    if (secret) lines.push("", `  Bootstrap admin key (shown once — store this now): ${secret}`, "  Send it as `authorization: Bearer <admin key>`.", "");
    return lines.join("\n") + "\n";
  };
  // FLUX_WORKERS ≥ 2: this process is the primary (worker-pool.ts) unless the primary started it as a worker.
  const workerIndex = env.FLUX_WORKER_INDEX;
  if (config.FLUX_WORKERS > 1 && !workerIndex) {
    try {
      return await runPrimary(config, log, { banner, fail });
    } catch (err) {
      fail(`cannot open the ${storeName}: ${describeStartupError(err)}`, 1);
    }
  }
  // A worker asked to stop while it starts (the primary drains) finishes starting, then stops cleanly.
  let stopWhileStarting: string | undefined;
  const early = (signal: string) => void (stopWhileStarting ??= signal);
  if (workerIndex) for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, early);
  let stores;
  try {
    stores = await openStores(config, workerIndex ? { shared: "worker" } : undefined);
  } catch (err) {
    fail(`cannot open the ${storeName}: ${describeStartupError(err)}`, 1);
  }
  const deps = await createDeps(config, stores, log);
  if (workerIndex) deps.metrics.text = clusterMetricsText(deps.metrics.registry) ?? deps.metrics.text;
  let server;
  try {
    server = await startServer(config, deps, log, tls);
  } catch (err) {
    await deps.close();
    fail(`cannot listen: ${describeStartupError(err)}`, 1);
  }
  // A worker's primary made the bootstrap key (if any) before starting the workers.
  const secret = !config.FLUX_ADMIN_KEY && !workerIndex ? await deps.services.adminKeys.bootstrapIfEmpty() : undefined;
  // Handlers before the banner: whoever waits for the banner may signal at once (seen under load).
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = true;
    log.info({ signal }, "shutting down: draining calls and flushing usage");
    server.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ cause: (err as Error)?.message }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.off(sig, early);
  if (stopWhileStarting) return shutdown(stopWhileStarting);

  // New handshakes get the new certificate; open connections and their calls carry on with the old one.
  process.on("SIGHUP", () => {
    if (!tls) return void log.info("SIGHUP: TLS is off, nothing to reload");
    try {
      const c = tls.reload();
      log.info({ serialNumber: c.serialNumber, validTo: c.validTo }, "TLS certificate reloaded");
    } catch (err) {
      log.error({ cause: (err as Error).message }, "TLS reload failed: still serving the previous certificate");
    }
  });
  // Under the primary, the primary prints the banner once every worker listens; run alone (tests aiming at one
  // worker start it so, on its own ports), a worker prints its own.
  if (workerIndex && process.send) process.send({ type: "flux-worker-ready", grpcPort: server.grpcPort, httpPort: server.httpPort, replicaId: deps.services.sync?.replicaId } satisfies WorkerReady);
  else process.stdout.write(banner(server.grpcPort, server.httpPort, secret));
}

function serverTls(config: Config): ServerTls | undefined {
  if (!config.FLUX_TLS_CERT_FILE || !config.FLUX_TLS_KEY_FILE) return undefined;
  return loadServerTls({ certFile: config.FLUX_TLS_CERT_FILE, keyFile: config.FLUX_TLS_KEY_FILE, clientCaFile: config.FLUX_TLS_CLIENT_CA_FILE });
}

function hostOf(addr: string) {
  return addr.slice(0, addr.lastIndexOf(":"));
}

export function fail(message: string, code: number): never {
  process.stderr.write(`flux-apikeys: ${message}\n`);
  process.exit(code);
}
