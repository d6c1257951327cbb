// Several in-process Flux servers over one MongoDB database: replicas whose stores a test can wrap to inject
// failures (e.g. a change-log write that fails), called through real gRPC and Connect clients.
import type { Db } from "mongodb";
import { pino } from "pino";
import type { Config } from "../../src/config.js";
import { type Clock, systemClock } from "../../src/domain/clock.js";
import { createDeps, type Deps } from "../../src/deps.js";
import { startServer } from "../../src/server.js";
import { type MongoStores, openMongoStores } from "../../src/store/mongo/mongo-stores.js";
import type { WebhookSettings } from "../../src/services/webhooks.js";
import { type Caller, connectCaller, grpcCaller } from "./callers.js";
import { ADMIN_KEY } from "./server.js";
import { mongoUri, uniqueDbName } from "./stores.js";

export interface Replica {
  deps: Deps;
  callers: Caller[];
  httpPort: number;
  grpcPort: number;
  stop(): Promise<void>;
}

/** Starts `n` replicas on one new database; `wrapDb` may hand replica i a wrapped Db (what its change feed uses). */
export async function startReplicaServers(
  n: number,
  label: string,
  wrapDb: (db: Db, i: number) => Db = (db) => db,
  /** Settings added to every replica's (e.g. leak reports). */
  extraConfig: Partial<Pick<Config, "FLUX_LEAK_REPORTER_KEYS" | "FLUX_LEAK_ACTION" | "FLUX_LEAK_REPORTS_PER_MINUTE">> & WebhookSettings = {},
  /** One clock for every replica (a ManualClock lets a test move time instead of sleeping). */
  clock: Clock = systemClock,
) {
  const dbName = uniqueDbName(label);
  const replicas: Replica[] = [];
  for (let i = 0; i < n; i++) {
    const opened = await openMongoStores(mongoUri(), dbName);
    const stores: MongoStores = { ...opened, db: wrapDb(opened.db, i) };
    const log = pino({ level: "silent" });
    const config = { FLUX_ADMIN_KEY: ADMIN_KEY, FLUX_KEY_PEPPER: undefined, FLUX_USAGE_FLUSH_MS: 1000, FLUX_KEY_CACHE_SIZE: 10_000, FLUX_MONGODB_DB: dbName, ...extraConfig };
    const deps = await createDeps(config, stores, log, clock);
    const server = await startServer({ FLUX_GRPC_ADDR: "127.0.0.1:0", FLUX_HTTP_ADDR: "127.0.0.1:0", FLUX_SHUTDOWN_GRACE_MS: 2000 }, deps, log);
    const callers = [grpcCaller(server.grpcPort), connectCaller(server.httpPort)];
    replicas.push({
      deps,
      callers,
      httpPort: server.httpPort,
      grpcPort: server.grpcPort,
      async stop() {
        for (const c of callers) c.close();
        await server.stop();
      },
    });
  }
  return {
    replicas,
    async stop() {
      const db = (replicas[0]?.deps.stores as MongoStores | undefined)?.db;
      await db?.dropDatabase().catch(() => {});
      for (const r of replicas) await r.stop();
    },
  };
}

/**
 * A Db whose collection `name` fails its next `method` call once armed (the wrapper delegates everything else):
 * a change-log write lost between the key change and its invalidation.
 */
export function failingCollection(db: Db, name: string, method: string, shouldFail: (args: unknown[]) => boolean = () => true) {
  let armed = false;
  const wrapped = new Proxy(db, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (prop !== "collection") return typeof v === "function" ? v.bind(target) : v;
      return (collName: string, opts?: object) => {
        const col = target.collection(collName, opts);
        if (collName !== name) return col;
        return new Proxy(col, {
          get(c, p, r) {
            const f = Reflect.get(c, p, r);
            if (typeof f !== "function") return f;
            if (p !== method) return f.bind(c);
            return (...args: unknown[]) => {
              if (armed && shouldFail(args)) {
                armed = false;
                return Promise.reject(new Error(`injected failure: ${name}.${method}`));
              }
              return f.apply(c, args);
            };
          },
        });
      };
    },
  });
  return { db: wrapped, arm: () => (armed = true), armed: () => armed };
}
