// A leak report whose key store fails halfway, on both stores: the report's audit event is written first, so when
// the revocation then fails the reporter gets 503 with Retry-After, the key is still live (never half-revoked), and
// the retried report finds it, revokes it and answers true_positive. A failure before anything is written changes
// nothing at all.
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { AuditAction, AuditService } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { ManualClock } from "../../src/domain/clock.js";
import { storeUnavailable } from "../../src/domain/errors.js";
import type { ApiKeyRecord } from "../../src/domain/types.js";
import { createDeps } from "../../src/deps.js";
import { type RunningServer, startServer } from "../../src/server.js";
import { type Caller, grpcCaller } from "../support/callers.js";
import { createKey, validate } from "../support/fixtures.js";
import { entry, newReporter, sendReport, writeKeysFile } from "../support/leak-reporter.js";
import { ADMIN_KEY } from "../support/server.js";
import { openTestStores, STORE_KINDS } from "../support/stores.js";

describe.each(STORE_KINDS)("on %s", (kind) => {
  const reporter = newReporter();
  /** The next key write matching this fails once, as an unreachable store does. */
  let failNext: ((after: ApiKeyRecord) => boolean) | undefined;
  let failNextLookup = false;
  let server: RunningServer;
  let c: Caller;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    const opened = await openTestStores(kind, `leak-faults-${kind}`);
    dispose = opened.dispose;
    const keys = opened.stores.keys;
    const wrapped = Object.create(keys) as typeof keys;
    wrapped.replace = (before, after, event) => {
      if (failNext?.(after)) {
        failNext = undefined;
        return Promise.reject(storeUnavailable(new Error("injected")));
      }
      return keys.replace(before, after, event);
    };
    wrapped.findByDigest = (d) => {
      if (failNextLookup) {
        failNextLookup = false;
        return Promise.reject(storeUnavailable(new Error("injected")));
      }
      return keys.findByDigest(d);
    };
    const log = pino({ level: "silent" });
    const config = { FLUX_ADMIN_KEY: ADMIN_KEY, FLUX_KEY_PEPPER: undefined, FLUX_USAGE_FLUSH_MS: 1000, FLUX_KEY_CACHE_SIZE: 10_000, FLUX_MONGODB_DB: opened.dbName ?? "unused", FLUX_LEAK_REPORTER_KEYS: writeKeysFile(reporter) };
    const deps = await createDeps(config, { ...opened.stores, keys: wrapped }, log, new ManualClock(Date.now()));
    server = await startServer({ FLUX_GRPC_ADDR: "127.0.0.1:0", FLUX_HTTP_ADDR: "127.0.0.1:0", FLUX_SHUTDOWN_GRACE_MS: 2000 }, deps, log);
    c = grpcCaller(server.grpcPort);
  });
  afterAll(async () => {
    c?.close();
    await server?.stop();
    await dispose?.();
  });

  const actions = async (id: string) => (await c.call(AuditService, "listAuditEvents", { targetId: id }, ADMIN_KEY)).events.map((e) => AuditAction[e.action]).reverse();

  it("answers 503 with Retry-After when the revocation fails after the report was recorded; the retry revokes the key", async () => {
    const live = await createKey(c);
    failNext = (after) => after.revokedAtMs !== undefined;
    const failed = await sendReport(server.httpPort, reporter, [entry(live.secret)]);
    expect(failed.status).toBe(503);
    expect(failed.headers["retry-after"]).toBe("1");
    expect(failed.body).not.toContain(live.secret);
    expect(Outcome[(await validate(c, live.secret)).outcome]).toBe("VALID"); // not half-revoked: untouched but for the report
    expect(await actions(live.key.id)).toEqual(["API_KEY_CREATED", "API_KEY_LEAK_REPORTED"]);

    const retried = await sendReport(server.httpPort, reporter, [entry(live.secret)]);
    expect(retried.status).toBe(200);
    expect(retried.json()).toMatchObject([{ label: "true_positive" }]);
    expect(Outcome[(await validate(c, live.secret)).outcome]).toBe("REVOKED");
    expect(await actions(live.key.id)).toEqual(["API_KEY_CREATED", "API_KEY_LEAK_REPORTED", "API_KEY_LEAK_REPORTED", "API_KEY_REVOKED"]);
  });

  it("answers 503 and changes nothing when the lookup fails, or the report's own event cannot be written", async () => {
    const live = await createKey(c);
    const before = (await c.call(ApiKeyService, "getApiKey", { id: live.key.id }, ADMIN_KEY)).apiKey;
    failNextLookup = true;
    expect((await sendReport(server.httpPort, reporter, [entry(live.secret)])).status).toBe(503);
    failNext = (after) => after.revokedAtMs === undefined; // the touch that carries the report's event
    expect((await sendReport(server.httpPort, reporter, [entry(live.secret)])).status).toBe(503);
    expect((await c.call(ApiKeyService, "getApiKey", { id: live.key.id }, ADMIN_KEY)).apiKey).toEqual(before);
    expect(await actions(live.key.id)).toEqual(["API_KEY_CREATED"]);
    expect(Outcome[(await validate(c, live.secret)).outcome]).toBe("VALID");
  });
});
