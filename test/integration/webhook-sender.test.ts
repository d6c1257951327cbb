// One signed POST against real local HTTP servers: redirects are not followed, a receiver that answers a byte at a
// time is cut off at the timeout, only 1 KB of an answer is kept, a private target is refused unless allowed, and
// two secrets make two signatures that the standardwebhooks library verifies.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { sendWebhook } from "../../src/services/webhook-sender.js";

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => (s.closeAllConnections(), s.close(r)));
});

async function serve(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`;
}

const SECRET = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
const OLD = `whsec_${Buffer.alloc(32, 9).toString("base64")}`;
const opts = { timeoutMs: 400, allowPrivate: true };

describe("sending one webhook", () => {
  it("does not follow a redirect: the 3xx is the answer and the other address is never called", async () => {
    let elsewhere = 0;
    const other = await serve((_q, s) => (elsewhere++, s.end()));
    const url = await serve((_q, s) => (s.writeHead(302, { location: other }), s.end("moved")));
    const r = await sendWebhook(url, [SECRET], "evt_1", Date.now(), "{}", opts);
    expect(r).toEqual({ status: 302, response: "moved" });
    expect(elsewhere).toBe(0);
  });

  it("gives up on a receiver that answers a byte at a time once the timeout has passed", async () => {
    const url = await serve((_q, s) => {
      s.writeHead(200);
      const t = setInterval(() => s.write("."), 50);
      s.on("close", () => clearInterval(t));
    });
    const r = await sendWebhook(url, [SECRET], "evt_1", Date.now(), "{}", opts);
    expect(r.status).toBe(0);
    expect(r.response).toContain("within 400 ms");
  });

  it("keeps at most 1 KB of the answer", async () => {
    const url = await serve((_q, s) => (s.writeHead(500), s.end("x".repeat(10_000))));
    const r = await sendWebhook(url, [SECRET], "evt_1", Date.now(), "{}", opts);
    expect(r.status).toBe(500);
    expect(r.response).toHaveLength(1024);
  });

  it("refuses a loopback target unless private targets are allowed, without connecting", async () => {
    let calls = 0;
    const url = await serve((_q, s) => (calls++, s.end()));
    const r = await sendWebhook(url, [SECRET], "evt_1", Date.now(), "{}", { ...opts, allowPrivate: false });
    expect(r.status).toBe(0);
    expect(r.response).toMatch(/not sent: .*private or loopback/);
    expect(calls).toBe(0);
  });

  it("signs once per secret; the reference library verifies each secret's signature", async () => {
    let got: http.IncomingHttpHeaders = {};
    let body = "";
    const url = await serve((q, s) => {
      got = q.headers;
      q.on("data", (c) => (body += c));
      q.on("end", () => s.end());
    });
    const payload = JSON.stringify({ type: "key.created", timestamp: new Date().toISOString(), data: { key_id: "key_x" } });
    const r = await sendWebhook(url, [SECRET, OLD], "evt_abc", Date.now(), payload, opts);
    expect(r.status).toBe(200);
    expect(body).toBe(payload);
    expect(String(got["webhook-signature"]).split(" ")).toHaveLength(2);
    const headers = { "webhook-id": String(got["webhook-id"]), "webhook-timestamp": String(got["webhook-timestamp"]), "webhook-signature": String(got["webhook-signature"]) };
    for (const s of [SECRET, OLD]) expect(new Webhook(s).verify(body, headers)).toEqual(JSON.parse(payload));
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString("base64")}`).verify(body, headers)).toThrow();
  });
});
