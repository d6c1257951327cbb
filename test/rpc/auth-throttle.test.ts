// Guessing admin keys is throttled per client address: past 20 failures a minute that address gets
// RESOURCE_EXHAUSTED with RetryInfo for any key it has not already used successfully, other addresses and proven
// keys are not slowed, and /metrics counts it. Over both transports, on a real server.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { ADMIN_KEY_PREFIX, generateSecret } from "../../src/domain/key-material.js";
import { failure } from "../support/callers.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";

const THRESHOLD = 20; // the default FLUX_AUTH_FAILURES_PER_MINUTE
const madeUp = () => generateSecret(ADMIN_KEY_PREFIX); // well-formed, checksum right, unknown

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer("embedded", "auth-throttle");
});
afterEach(() => t?.stop());

/** A Connect client bound to another loopback address: a second client address on one machine. */
function fromAddress(localAddress: string) {
  const transport = createConnectTransport({ baseUrl: `http://127.0.0.1:${t.server.httpPort}`, httpVersion: "1.1", nodeOptions: { localAddress } });
  const client = createClient(ApiKeyService, transport);
  return async (adminKey: string) => {
    try {
      await client.listScopes({}, { headers: { authorization: `Bearer ${adminKey}` } });
      return "OK";
    } catch (err) {
      const ce = ConnectError.from(err);
      return `${Code[ce.code]}/${ce.findDetails(ErrorInfoSchema)[0]?.reason}`;
    }
  };
}

describe.each(["grpc", "connect"] as const)("over %s", (name) => {
  const c = () => t.callers.find((x) => x.name === name)!;
  const listScopes = (adminKey: string) => c().call(ApiKeyService, "listScopes", {}, adminKey);

  it("answers RESOURCE_EXHAUSTED with RetryInfo once an address has failed 20 times, without checking the key", async () => {
    const fresh = (await c().call(AdminKeyService, "createAdminKey", { name: "new" }, ADMIN_KEY)).secret;
    for (let i = 0; i < THRESHOLD; i++) {
      expect(await failure(listScopes(madeUp()))).toMatchObject({ code: Code.Unauthenticated, reason: "ADMIN_KEY_INVALID" });
    }
    const throttled = await failure(listScopes(madeUp()));
    expect(throttled).toMatchObject({ code: Code.ResourceExhausted, reason: "AUTH_THROTTLED" });
    expect(throttled.retryDelayMs).toBeGreaterThan(0);
    expect(throttled.retryDelayMs).toBeLessThanOrEqual(60_000);
    // A right key never used from here is refused the same way: the answer tells a guesser nothing.
    expect(await failure(listScopes(fresh))).toMatchObject({ code: Code.ResourceExhausted, reason: "AUTH_THROTTLED" });
    expect(await failure(listScopes("not-even-a-key"))).toMatchObject({ code: Code.ResourceExhausted });
  });

  it("never slows a caller whose key already worked from that address, nor other addresses", async () => {
    const mine = (await c().call(AdminKeyService, "createAdminKey", { name: "office" }, ADMIN_KEY)).secret;
    await failure(listScopes(madeUp()));
    await listScopes(mine); // the office's backend, behind the same address as the guesser
    for (let i = 0; i < THRESHOLD + 5; i++) await failure(listScopes(madeUp()));
    expect(await failure(listScopes(madeUp()))).toMatchObject({ code: Code.ResourceExhausted });
    for (let i = 0; i < 50; i++) await listScopes(mine);
    const elsewhere = fromAddress("127.0.0.2");
    expect(await elsewhere(mine)).toBe("OK");
    expect(await elsewhere(madeUp())).toBe("Unauthenticated/ADMIN_KEY_INVALID");
  });

  it("does not count calls without an admin key", async () => {
    for (let i = 0; i < THRESHOLD * 2; i++) {
      expect(await failure(c().call(ApiKeyService, "listScopes", {}))).toMatchObject({ code: Code.Unauthenticated, reason: "ADMIN_KEY_MISSING" });
    }
    expect(await failure(listScopes(madeUp()))).toMatchObject({ code: Code.Unauthenticated });
  });

  it("counts failed and throttled attempts in /metrics", async () => {
    for (let i = 0; i < THRESHOLD + 3; i++) await failure(listScopes(madeUp()));
    const body = await (await fetch(`http://127.0.0.1:${t.server.httpPort}/metrics`)).text();
    expect(body).toMatch(/^flux_admin_auth_failures_total 21$/m);
    expect(body).toMatch(/^flux_admin_auth_throttled_total 3$/m);
  });
});
