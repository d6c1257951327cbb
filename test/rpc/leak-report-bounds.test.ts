// Hostile leak reports: every bound in domain/limits.ts tested at and one past it, malformed bodies, the rate limit
// per reporter address and the endpoint with no reporter keys. Each refused report leaves the live key it names
// exactly as it was.
import * as http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { AuditService } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { LIMITS } from "../../src/domain/limits.js";
import type { Caller } from "../support/callers.js";
import { createKey, validate } from "../support/fixtures.js";
import { entry, githubHeaders, newReporter, postReport, sendReport, writeKeysFile } from "../support/leak-reporter.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

/** The key's stored state and its audit trail: what a refused report must leave alone. */
async function snapshot(c: Caller, id: string) {
  const key = (await c.call(ApiKeyService, "getApiKey", { id }, ADMIN_KEY)).apiKey;
  const events = (await c.call(AuditService, "listAuditEvents", { targetId: id }, ADMIN_KEY)).events.map((e) => e.id);
  return { key, events };
}

/** A signed body of exactly `bytes` bytes: the JSON text padded with trailing whitespace (still valid JSON). */
function padded(json: string, bytes: number): Buffer {
  expect(Buffer.byteLength(json)).toBeLessThanOrEqual(bytes);
  return Buffer.from(json + " ".repeat(bytes - Buffer.byteLength(json)));
}

describe.each(STORE_KINDS)("on %s", (kind) => {
  const reporter = newReporter();
  let t: TestServer;
  let c: Caller;
  let port: number;
  beforeAll(async () => {
    t = await startTestServer(kind, `leak-bounds-${kind}`, { config: { FLUX_LEAK_REPORTER_KEYS: writeKeysFile(reporter), FLUX_LEAK_REPORTS_PER_MINUTE: 0 } });
    c = t.callers[0]!;
    port = t.server.httpPort;
  });
  afterAll(() => t?.stop());

  /** Sends the signed body; expects `status` and, when refused, that the live key it names is untouched. */
  async function expectAnswer(body: Buffer, status: number, live?: { key: { id: string }; secret: string }) {
    const before = live && (await snapshot(c, live.key.id));
    const res = await postReport(port, body, githubHeaders(reporter, body));
    expect(res.status, res.body.slice(0, 200)).toBe(status);
    if (live && status !== 200) {
      expect(await snapshot(c, live.key.id)).toEqual(before);
      expect(Outcome[(await validate(c, live.secret)).outcome]).toBe("VALID");
    }
    return res;
  }

  it(`accepts a body of exactly ${LIMITS.leakReportBytes} bytes and answers 413 one byte past it, changing nothing`, async () => {
    const live = await createKey(c);
    const json = JSON.stringify([entry(live.secret)]);
    await expectAnswer(padded(json, LIMITS.leakReportBytes + 1), 413, live);
    // Declared too big and not sent at all: refused from the content-length alone.
    const res = await postReport(port, Buffer.alloc(0), { "content-length": String(LIMITS.leakReportBytes + 1) }).catch((e: Error) => e);
    if (!(res instanceof Error)) expect(res.status).toBe(413);
    const ok = await expectAnswer(padded(json, LIMITS.leakReportBytes), 200);
    expect(ok.json()).toMatchObject([{ label: "true_positive" }]);
  });

  it(`accepts ${LIMITS.leakReportTokens} tokens and refuses ${LIMITS.leakReportTokens + 1} with 400, changing nothing`, async () => {
    const live = await createKey(c);
    const many = (n: number) => [entry(live.secret), ...Array.from({ length: n - 1 }, (_, i) => ({ token: `garbage-${i}`, type: "t", url: "", source: "" }))];
    await expectAnswer(Buffer.from(JSON.stringify(many(LIMITS.leakReportTokens + 1))), 400, live);
    const ok = await expectAnswer(Buffer.from(JSON.stringify(many(LIMITS.leakReportTokens))), 200);
    const verdicts = ok.json() as { label: string }[];
    expect(verdicts).toHaveLength(LIMITS.leakReportTokens);
    expect(verdicts.filter((v) => v.label === "true_positive")).toHaveLength(1);
  });

  it.each([
    ["type", LIMITS.leakFieldLength],
    ["source", LIMITS.leakFieldLength],
    ["url", LIMITS.leakUrlLength],
  ] as const)("accepts %s of %i characters and refuses one more with 400, changing nothing", async (field, max) => {
    const live = await createKey(c);
    const body = (n: number) => Buffer.from(JSON.stringify([{ ...entry(live.secret), [field]: "x".repeat(n) }]));
    await expectAnswer(body(max + 1), 400, live);
    expect((await expectAnswer(body(max), 200)).json()).toMatchObject([{ label: "true_positive" }]);
  });

  it("refuses signed bodies that are not a report with 400 (malformed JSON, not an array, entries without a token or type)", async () => {
    const live = await createKey(c);
    const bodies = [
      `[${JSON.stringify(entry(live.secret))}`,
      JSON.stringify({ token: live.secret, type: "t" }),
      JSON.stringify([entry(live.secret), { type: "t" }]),
      JSON.stringify([entry(live.secret), { token: "x" }]),
      JSON.stringify([entry(live.secret), { token: 42, type: "t" }]),
      JSON.stringify([entry(live.secret), "a string"]),
      "",
    ];
    for (const b of bodies) await expectAnswer(Buffer.from(b), 400, live);
    await expectAnswer(Buffer.from([0x5b, 0xff, 0xfe, 0x5d]), 400, live); // not UTF-8
  });

  it("answers a token longer than a key can be false_positive without refusing the report", async () => {
    const res = await expectAnswer(Buffer.from(JSON.stringify([{ token: `flux_${"a".repeat(LIMITS.keyLength)}`, type: "t" }])), 200);
    expect(res.json()).toMatchObject([{ label: "false_positive", token_type: "t" }]);
  });

  it("answers over HTTP/2 (h2c) as over HTTP/1.1: a report, and 413 past the size limit", async () => {
    const live = await createKey(c);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const post = (body: Buffer) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = session.request({ ":method": "POST", ":path": "/v1/leaks/report", "content-type": "application/json", ...githubHeaders(reporter, body) });
        let text = "";
        let status = 0;
        req.on("response", (h) => (status = Number(h[":status"])));
        req.on("data", (d: Buffer) => (text += d));
        req.on("end", () => resolve({ status, text }));
        req.on("error", reject);
        req.end(body);
      });
    try {
      const json = JSON.stringify([entry(live.secret)]);
      expect((await post(padded(json, LIMITS.leakReportBytes + 1))).status).toBe(413);
      const ok = await post(Buffer.from(json));
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.text)).toMatchObject([{ label: "true_positive" }]);
    } finally {
      session.close();
    }
  });

  it("answers 405 to other methods on the path", async () => {
    expect((await postReport(port, "", {}, "/v1/leaks/report", "GET")).status).toBe(405);
  });
});

describe("rate limit per reporter address (FLUX_LEAK_REPORTS_PER_MINUTE)", () => {
  const reporter = newReporter();
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer("embedded", "leak-rate", { config: { FLUX_LEAK_REPORTER_KEYS: writeKeysFile(reporter), FLUX_LEAK_REPORTS_PER_MINUTE: 3 } });
  });
  afterAll(() => t?.stop());

  it("answers 429 with Retry-After past the limit, refused reports included, and the refused report changes nothing", async () => {
    const c = t.callers[0]!;
    const live = await createKey(c);
    expect((await postReport(t.server.httpPort, "[]")).status).toBe(401); // unsigned reports count too
    expect((await sendReport(t.server.httpPort, reporter, [])).status).toBe(200);
    expect((await sendReport(t.server.httpPort, reporter, [entry("garbage")])).status).toBe(200);
    const before = await snapshot(c, live.key.id);
    const res = await sendReport(t.server.httpPort, reporter, [entry(live.secret)]);
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await snapshot(c, live.key.id)).toEqual(before);
    expect(Outcome[(await validate(c, live.secret)).outcome]).toBe("VALID");
  });
});

describe("without FLUX_LEAK_REPORTER_KEYS", () => {
  it("answers 404 and changes nothing", async () => {
    const reporter = newReporter();
    const t = await startTestServer("embedded", "leak-off");
    try {
      const c = t.callers[0]!;
      const live = await createKey(c);
      const before = await snapshot(c, live.key.id);
      const res = await sendReport(t.server.httpPort, reporter, [entry(live.secret)]);
      expect(res.status).toBe(404);
      expect(res.body).toContain("not enabled");
      expect(await snapshot(c, live.key.id)).toEqual(before);
    } finally {
      await t.stop();
    }
  });
});
