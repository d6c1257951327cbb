// Leak reports end to end on both stores: a signed report revokes (or disables, or only records) the live key it
// names, answers per token only whether it was a live key, leaves an API_KEY_LEAK_REPORTED audit event without the
// token, and refuses unsigned or badly signed reports without changing anything; a reported admin key is revoked.
// Replicas refuse the key as soon as the report is answered; a signature made by openssl (not node:crypto), and
// GitHub's own documented example, are accepted.
import { execFileSync } from "node:child_process";
import { sign } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyState } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import { Code } from "@connectrpc/connect";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { AuditAction, AuditService } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { API_KEY_PREFIX, createDigester, generateSecret } from "../../src/domain/key-material.js";
import { LIMITS } from "../../src/domain/limits.js";
import { type Caller, failure } from "../support/callers.js";
import { createKey, validate } from "../support/fixtures.js";
import { entry, GITHUB_EXAMPLE, newReporter, postReport, type Reporter, sendReport, tokenHash, writeKeysFile } from "../support/leak-reporter.js";
import { startReplicaServers } from "../support/replica-servers.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

const events = async (c: Caller, targetId: string) => (await c.call(AuditService, "listAuditEvents", { targetId, pageSize: 100 }, ADMIN_KEY)).events;
const actions = async (c: Caller, targetId: string) => (await events(c, targetId)).map((e) => AuditAction[e.action]).reverse();
const outcome = async (c: Caller, secret: string) => Outcome[(await validate(c, secret)).outcome];
const getKey = (c: Caller, id: string) => c.call(ApiKeyService, "getApiKey", { id }, ADMIN_KEY);
const newAdminKey = async (c: Caller) => {
  const res = await c.call(AdminKeyService, "createAdminKey", { name: "ci", orgId: "" }, ADMIN_KEY);
  return { id: res.adminKey!.id, secret: res.secret };
};
const adminWorks = (c: Caller, secret: string) => c.call(ApiKeyService, "listScopes", {}, secret).then(() => true, () => false);
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? String(x) : x));

describe.each(STORE_KINDS)("on %s", (kind) => {
  const reporter = newReporter();
  const stranger = newReporter(); // a key pair the server does not know
  let t: TestServer;
  let c: Caller;
  beforeAll(async () => {
    t = await startTestServer(kind, `leaks-${kind}`, { config: { FLUX_LEAK_REPORTER_KEYS: writeKeysFile(reporter, GITHUB_EXAMPLE), FLUX_LEAK_REPORTS_PER_MINUTE: 0 } });
    c = t.callers[0]!;
  });
  afterAll(() => t?.stop());

  it("revokes the live key a signed report names, answers only whether each token was a live key, and records it without the token", async () => {
    const live = await createKey(c);
    const revoked = await createKey(c);
    await c.call(ApiKeyService, "revokeApiKey", { id: revoked.key.id }, ADMIN_KEY);
    const unknown = generateSecret(API_KEY_PREFIX); // well formed, checksum right, never issued
    const tokens = [live.secret, revoked.secret, unknown, "not a key at all"];
    expect(await outcome(c, live.secret)).toBe("VALID");

    const res = await sendReport(t.server.httpPort, reporter, tokens.map((tok, i) => entry(tok, i)));
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(res.json()).toEqual([
      { token_hash: tokenHash(live.secret), token_type: "flux_api_key", label: "true_positive" },
      { token_hash: tokenHash(revoked.secret), token_type: "flux_api_key", label: "false_positive" },
      { token_hash: tokenHash(unknown), token_type: "flux_api_key", label: "false_positive" },
      { token_hash: tokenHash("not a key at all"), token_type: "flux_api_key", label: "false_positive" },
    ]);
    expect(await outcome(c, live.secret)).toBe("REVOKED");
    for (const other of t.callers) expect(await outcome(other, live.secret)).toBe("REVOKED");

    const actor = `leak-report:${reporter.keyId}`.slice(0, 64);
    expect(await actions(c, live.key.id)).toEqual(["API_KEY_CREATED", "API_KEY_LEAK_REPORTED", "API_KEY_REVOKED"]);
    const [revocation, report] = await events(c, live.key.id);
    expect(report).toMatchObject({ actorAdminKeyId: actor, orgId: live.key.orgId, callerAddress: "127.0.0.1" });
    expect(report!.after).toEqual({ type: "flux_api_key", url: "https://github.com/octo/repo/blob/main/config-0.env", source: "content", action: "revoke" });
    expect(report!.before).toEqual({});
    expect(revocation).toMatchObject({ actorAdminKeyId: actor, requestId: report!.requestId });
    expect(await actions(c, revoked.key.id)).toEqual(["API_KEY_CREATED", "API_KEY_REVOKED"]); // nothing new
    // The reporter is an actor like an admin key: ListAuditEvents finds what its reports did.
    const byReporter = (await c.call(AuditService, "listAuditEvents", { actorAdminKeyId: actor, targetId: live.key.id }, ADMIN_KEY)).events;
    expect(byReporter.map((e) => AuditAction[e.action])).toEqual(["API_KEY_REVOKED", "API_KEY_LEAK_REPORTED"]);

    // Neither the tokens nor their digests (either encoding) appear in any audit event or log line.
    const everything = json(await c.call(AuditService, "listAuditEvents", { pageSize: 1000 }, ADMIN_KEY)) + t.logs.join("");
    for (const tok of [live.secret, revoked.secret, unknown]) {
      for (const s of [tok, createDigester(undefined)(tok), tokenHash(tok)]) expect(everything).not.toContain(s);
    }
    expect(t.logs.join("")).toContain("a live key was reported");
  });

  it("revokes a live admin key a report names (admin keys have no disabled state); every transport refuses it", async () => {
    const { id, secret } = await newAdminKey(c);
    expect(await adminWorks(c, secret)).toBe(true);
    const res = await sendReport(t.server.httpPort, reporter, [{ ...entry(secret), type: "flux_admin_key" }]);
    expect(res.json()).toEqual([{ token_hash: tokenHash(secret), token_type: "flux_admin_key", label: "true_positive" }]);
    for (const x of t.callers) expect(await failure(x.call(ApiKeyService, "listScopes", {}, secret))).toMatchObject({ code: Code.Unauthenticated });
    const [revocation] = await events(c, id);
    expect(revocation).toMatchObject({ action: AuditAction.ADMIN_KEY_REVOKED, actorAdminKeyId: `leak-report:${reporter.keyId}`.slice(0, 64) });
    expect((await sendReport(t.server.httpPort, reporter, [entry(secret)])).json()).toMatchObject([{ label: "false_positive" }]);
    expect(json(await c.call(AuditService, "listAuditEvents", { pageSize: 1000 }, ADMIN_KEY)) + t.logs.join("")).not.toContain(secret);
  });

  it("answers a replay false_positive and changes nothing more: reports are idempotent", async () => {
    const live = await createKey(c);
    const report = [entry(live.secret)];
    expect((await sendReport(t.server.httpPort, reporter, report)).json()).toMatchObject([{ label: "true_positive" }]);
    const before = await getKey(c, live.key.id);
    expect((await sendReport(t.server.httpPort, reporter, report)).json()).toMatchObject([{ label: "false_positive" }]);
    expect(await getKey(c, live.key.id)).toEqual(before);
    expect(await actions(c, live.key.id)).toEqual(["API_KEY_CREATED", "API_KEY_LEAK_REPORTED", "API_KEY_REVOKED"]);
  });

  it("treats a token named twice in one report once, and a disabled key and an in-grace rotated-out secret as live", async () => {
    const disabled = await createKey(c);
    await c.call(ApiKeyService, "updateApiKey", { apiKey: { id: disabled.key.id, enabled: false }, updateMask: { paths: ["enabled"] } }, ADMIN_KEY);
    const rotated = await createKey(c);
    await c.call(ApiKeyService, "rotateApiKey", { id: rotated.key.id, gracePeriodSeconds: 3600 }, ADMIN_KEY);
    const res = await sendReport(t.server.httpPort, reporter, [entry(disabled.secret), entry(disabled.secret, 1), entry(rotated.secret)]);
    expect(res.json()).toMatchObject([{ label: "true_positive" }, { label: "true_positive" }, { label: "true_positive" }]);
    expect(await actions(c, disabled.key.id)).toEqual(["API_KEY_CREATED", "API_KEY_DISABLED", "API_KEY_LEAK_REPORTED", "API_KEY_REVOKED"]);
    expect((await getKey(c, rotated.key.id)).apiKey!.state).toBe(KeyState.REVOKED); // the whole key, new secret included
  });

  it("refuses unsigned, unknown-key and badly signed reports with 401 and changes nothing", async () => {
    const live = await createKey(c);
    const before = await getKey(c, live.key.id);
    const body = Buffer.from(JSON.stringify([entry(live.secret)]));
    const good = sign("sha256", body, reporter.privateKey).toString("base64");
    const refused: Record<string, string>[] = [
      {},
      { "github-public-key-identifier": reporter.keyId },
      { "github-public-key-signature": good },
      { "github-public-key-identifier": stranger.keyId, "github-public-key-signature": sign("sha256", body, stranger.privateKey).toString("base64") },
      { "github-public-key-identifier": reporter.keyId, "github-public-key-signature": sign("sha256", body, stranger.privateKey).toString("base64") },
      { "github-public-key-identifier": reporter.keyId, "github-public-key-signature": sign("sha256", Buffer.from("[]"), reporter.privateKey).toString("base64") },
      { "github-public-key-identifier": reporter.keyId, "github-public-key-signature": "bm90IGEgc2lnbmF0dXJl" },
      { "flux-reporter-key-id": reporter.keyId, "flux-reporter-signature": "" },
    ];
    for (const headers of refused) {
      const res = await postReport(t.server.httpPort, body, headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.body).not.toContain(live.secret);
    }
    // The signed body, altered by one byte after signing.
    const tampered = Buffer.from(body.toString().replace("config-0", "config-1"));
    expect((await postReport(t.server.httpPort, tampered, { "github-public-key-identifier": reporter.keyId, "github-public-key-signature": good })).status).toBe(401);
    expect(await getKey(c, live.key.id)).toEqual(before);
    expect(await actions(c, live.key.id)).toEqual(["API_KEY_CREATED"]);
    expect(await outcome(c, live.secret)).toBe("VALID");
    // The same body with a good signature, under the generic header pair, is accepted.
    const ok = await postReport(t.server.httpPort, body, { "flux-reporter-key-id": reporter.keyId, "flux-reporter-signature": good });
    expect(ok.json()).toMatchObject([{ label: "true_positive" }]);
  });

  it("accepts a report signed by the openssl command line (another ECDSA implementation than node:crypto)", async () => {
    const live = await createKey(c);
    const dir = mkdtempSync(join(tmpdir(), "flux-leak-openssl-"));
    const body = Buffer.from(JSON.stringify([entry(live.secret)]));
    writeFileSync(join(dir, "key.pem"), reporter.privatePem);
    writeFileSync(join(dir, "body.json"), body);
    const der = execFileSync("openssl", ["dgst", "-sha256", "-sign", join(dir, "key.pem"), join(dir, "body.json")]);
    const res = await postReport(t.server.httpPort, body, { "github-public-key-identifier": reporter.keyId, "github-public-key-signature": der.toString("base64") });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject([{ label: "true_positive" }]);
    expect(await outcome(c, live.secret)).toBe("REVOKED");
  });

  it("accepts the report GitHub signed in its partner-program documentation, with GitHub's published key", async () => {
    const res = await postReport(t.server.httpPort, GITHUB_EXAMPLE.payload, {
      "github-public-key-identifier": GITHUB_EXAMPLE.keyId,
      "github-public-key-signature": GITHUB_EXAMPLE.signature,
    });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual([{ token_hash: tokenHash("some_token"), token_type: "some_type", label: "false_positive" }]);
  });

  it(`answers a full report of well-formed unknown tokens false_positive without writing anything`, async () => {
    const tokens = Array.from({ length: LIMITS.leakReportTokens }, () => generateSecret(API_KEY_PREFIX));
    const allEvents = async () => (await c.call(AuditService, "listAuditEvents", { pageSize: 1000 }, ADMIN_KEY)).events.length;
    const eventsBefore = await allEvents();
    const started = performance.now();
    const res = await sendReport(t.server.httpPort, reporter, tokens.map((tok) => entry(tok)));
    const ms = performance.now() - started;
    const live = await createKey(c);
    const startedLive = performance.now();
    await sendReport(t.server.httpPort, reporter, [entry(live.secret)]);
    const liveMs = performance.now() - startedLive;
    console.log(`leak report on ${kind}: ${tokens.length} unknown tokens answered in ${ms.toFixed(0)} ms; one live key revoked and answered in ${liveMs.toFixed(0)} ms`);
    expect((res.json() as { label: string }[]).every((v) => v.label === "false_positive")).toBe(true);
    expect(await allEvents()).toBe(eventsBefore + 3); // the new key's creation, report and revocation: nothing else
  });

  it("counts reports by result and tokens by label in /metrics", async () => {
    const res = await postReport(t.server.httpPort, "", {}, "/metrics", "GET");
    expect(res.body).toMatch(/flux_leak_reports_total\{result="accepted"\} [1-9]/);
    expect(res.body).toMatch(/flux_leak_reports_total\{result="unsigned"\} [1-9]/);
    expect(res.body).toMatch(/flux_leak_tokens_total\{label="true_positive"\} [1-9]/);
    expect(res.body).toMatch(/flux_leak_tokens_total\{label="false_positive"\} [1-9]/);
  });
});

describe.each(STORE_KINDS)("with FLUX_LEAK_ACTION set, on %s", (kind) => {
  const reporter = newReporter();
  const servers: TestServer[] = [];
  afterAll(() => Promise.all(servers.map((s) => s.stop())));
  const start = async (action: "disable" | "report") => {
    const s = await startTestServer(kind, `leaks-${action}-${kind}`, { config: { FLUX_LEAK_REPORTER_KEYS: writeKeysFile(reporter), FLUX_LEAK_ACTION: action } });
    servers.push(s);
    return s;
  };

  it("disable: the key validates DISABLED as soon as the report is answered; a replay only records the report again", async () => {
    const s = await start("disable");
    const c = s.callers[0]!;
    const live = await createKey(c);
    for (let i = 0; i < 2; i++) {
      const res = await sendReport(s.server.httpPort, reporter, [entry(live.secret)]);
      expect(res.json()).toMatchObject([{ label: "true_positive" }]); // still a live secret: UpdateApiKey can enable it
      for (const x of s.callers) expect(await outcome(x, live.secret)).toBe("DISABLED");
    }
    expect(await actions(c, live.key.id)).toEqual(["API_KEY_CREATED", "API_KEY_LEAK_REPORTED", "API_KEY_DISABLED", "API_KEY_LEAK_REPORTED"]);
    expect((await events(c, live.key.id))[0]!.after).toMatchObject({ action: "disable" });
  });

  it("report: the key (and a reported admin key) keeps working and the report is recorded", async () => {
    const s = await start("report");
    const c = s.callers[0]!;
    const live = await createKey(c);
    const admin = (await newAdminKey(c)).secret;
    expect((await sendReport(s.server.httpPort, reporter, [entry(live.secret), entry(admin)])).json()).toMatchObject([{ label: "true_positive" }, { label: "true_positive" }]);
    expect(await outcome(c, live.secret)).toBe("VALID");
    expect(await adminWorks(c, admin)).toBe(true);
    expect(await actions(c, live.key.id)).toEqual(["API_KEY_CREATED", "API_KEY_LEAK_REPORTED"]);
  });
});

describe("with FLUX_KEY_PEPPER (embedded)", () => {
  it("looks tokens up by the peppered digest the validate path uses", async () => {
    const reporter = newReporter();
    const s = await startTestServer("embedded", "leaks-pepper", { config: { FLUX_KEY_PEPPER: "a-pepper-of-sixteen-or-more", FLUX_LEAK_REPORTER_KEYS: writeKeysFile(reporter) } });
    try {
      const c = s.callers[0]!;
      const live = await createKey(c);
      expect((await sendReport(s.server.httpPort, reporter, [entry(live.secret)])).json()).toMatchObject([{ label: "true_positive" }]);
      expect(await outcome(c, live.secret)).toBe("REVOKED");
    } finally {
      await s.stop();
    }
  });
});

describe("two replicas on MongoDB", () => {
  const reporter: Reporter = newReporter();
  let cluster: Awaited<ReturnType<typeof startReplicaServers>>;
  beforeAll(async () => {
    cluster = await startReplicaServers(2, "leaks-replicas", undefined, { FLUX_LEAK_REPORTER_KEYS: writeKeysFile(reporter) });
  });
  afterAll(() => cluster?.stop());

  it("the other replica refuses the reported key as soon as the report is answered", async () => {
    const [a, b] = cluster.replicas;
    const live = await createKey(a!.callers[0]!);
    for (const c of b!.callers) expect(await outcome(c, live.secret)).toBe("VALID"); // cached on the other replica
    const res = await sendReport(a!.httpPort, reporter, [entry(live.secret)]);
    expect(res.json()).toMatchObject([{ label: "true_positive" }]);
    for (const c of [...b!.callers, ...a!.callers]) expect(await outcome(c, live.secret)).toBe("REVOKED");
  });

  it("the other replica refuses a reported admin key as soon as the report is answered", async () => {
    const [a, b] = cluster.replicas;
    const { secret } = await newAdminKey(a!.callers[0]!);
    for (const c of b!.callers) expect(await adminWorks(c, secret)).toBe(true); // proven, and cached, on the other replica
    expect((await sendReport(a!.httpPort, reporter, [entry(secret)])).json()).toMatchObject([{ label: "true_positive" }]);
    for (const c of [...b!.callers, ...a!.callers]) expect(await adminWorks(c, secret)).toBe(false);
  });
});
