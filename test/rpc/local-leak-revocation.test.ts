// A leak report's revocation is a key change like RevokeApiKey: the report is answered only after every local
// validator session that can see the key acknowledged the revocation (embedded store, raw gRPC validator).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { KeyState } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import { createKey } from "../support/fixtures.js";
import { entry, newReporter, sendReport, writeKeysFile } from "../support/leak-reporter.js";
import { RawValidator } from "../support/raw-validators.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";

describe("leak reports and local validators", () => {
  let t: TestServer;
  const reporter = newReporter();
  beforeAll(async () => {
    t = await startTestServer("embedded", "local-leaks", { config: { FLUX_LEAK_REPORTER_KEYS: writeKeysFile(reporter), FLUX_LEAK_REPORTS_PER_MINUTE: 0 } });
  });
  afterAll(() => t?.stop());

  it("answers a leak report only after the validator session acknowledged the revocation", async () => {
    const c = t.callers[0]!;
    const { key, secret } = await createKey(c);
    const adminKey = (await c.call(AdminKeyService, "createAdminKey", { name: "v", localValidation: true }, ADMIN_KEY)).secret;
    const v = new RawValidator({ transport: "grpc", port: t.server.grpcPort, adminKey, caller: c }).start();
    await v.snapshotComplete();
    await v.ack();
    let answered = false;
    const report = sendReport(t.server.httpPort, reporter, [entry(secret)]).finally(() => (answered = true));
    const m = await v.until(
      (x) => x.event.case === "change" && x.event.value.change.case === "key" && x.event.value.change.value.info?.id === key.id && x.event.value.change.value.state === KeyState.REVOKED,
      "the revocation",
    );
    expect(answered).toBe(false);
    await v.ack(Number(m.seq));
    expect((await report).json()).toEqual([expect.objectContaining({ label: "true_positive" })]);
    v.close();
  });
});
