// An in-process Flux server on free ports over test stores, with a manual clock and a captured log.
import { pino } from "pino";
import { Writable } from "node:stream";
import type { Config } from "../../src/config.js";
import { ManualClock } from "../../src/domain/clock.js";
import { createDeps, type Deps } from "../../src/deps.js";
import { startServer, type RunningServer } from "../../src/server.js";
import type { ServerTls } from "../../src/transport/tls.js";
import type { WebhookSettings } from "../../src/services/webhooks.js";
import { connectCaller, grpcCaller, type Caller } from "./callers.js";
import { openTestStores, type StoreKind } from "./stores.js";

export const ADMIN_KEY = "test-bootstrap-admin-key-0123456789";

export interface TestServer {
  server: RunningServer;
  deps: Deps;
  clock: ManualClock;
  callers: Caller[];
  dbName?: string;
  /** Every log line the server wrote. */
  logs: string[];
  stop(): Promise<void>;
}

export async function startTestServer(
  kind: StoreKind,
  label: string,
  opts: {
    clock?: ManualClock;
    config?: Partial<Pick<Config, "FLUX_AUTH_FAILURES_PER_MINUTE" | "FLUX_KEY_CACHE_MAX_AGE_MS">> &
      Partial<Pick<Config, "FLUX_KEY_PEPPER" | "FLUX_LEAK_REPORTER_KEYS" | "FLUX_LEAK_ACTION" | "FLUX_LEAK_REPORTS_PER_MINUTE">> &
      Partial<Pick<Config, "FLUX_VALIDATOR_HEARTBEAT_MS" | "FLUX_VALIDATOR_STALE_AFTER_MS" | "FLUX_VALIDATOR_ACK_TIMEOUT_MS" | "FLUX_VALIDATOR_MAX_SESSIONS">> &
      WebhookSettings;
    tls?: ServerTls;
  } = {},
): Promise<TestServer> {
  const { stores, dbName, dispose } = await openTestStores(kind, label);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const log = pino({ level: "debug" }, sink);
  const clock = opts.clock ?? new ManualClock(Date.now());
  const deps = await createDeps(
    { FLUX_ADMIN_KEY: ADMIN_KEY, FLUX_KEY_PEPPER: undefined, FLUX_USAGE_FLUSH_MS: 1000, FLUX_KEY_CACHE_SIZE: 10_000, FLUX_MONGODB_DB: dbName ?? "unused", ...opts.config },
    stores,
    log,
    clock,
  );
  const server = await startServer({ FLUX_GRPC_ADDR: "127.0.0.1:0", FLUX_HTTP_ADDR: "127.0.0.1:0", FLUX_SHUTDOWN_GRACE_MS: 2000 }, deps, log, opts.tls);
  const callers = [grpcCaller(server.grpcPort), connectCaller(server.httpPort)];
  return {
    server,
    deps,
    clock,
    callers,
    dbName,
    logs,
    async stop() {
      for (const c of callers) c.close();
      await server.stop();
      await dispose();
    },
  };
}
