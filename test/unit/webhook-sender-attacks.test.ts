// Hostile webhook receivers and targets against the sender itself (real sockets on loopback, private targets
// allowed for the receiver): an attempt always ends within its timeout however the receiver dribbles, redirects are
// not followed, and addresses that embed or stand for a private IPv4 one are refused.
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { sendWebhook } from "../../src/services/webhook-sender.js";
import { isPrivateAddress } from "../../src/services/webhook-targets.js";

const SECRET = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
const opts = { timeoutMs: 300, allowPrivate: true };
const closers: (() => void)[] = [];
afterEach(() => {
  while (closers.length) closers.pop()!();
});

/** A raw TCP receiver: `onConn` writes whatever it likes; every socket is destroyed at the end of the test. */
async function rawReceiver(onConn: (s: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    onConn(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
}

/** Writes `text` one byte every 100 ms (well inside the 300 ms idle timeout), forever. */
function dribble(s: Socket, text: string): void {
  let i = 0;
  const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write(text[i++ % text.length]!)), 100);
  closers.push(() => clearInterval(t));
}

describe("a webhook attempt against a hostile receiver", () => {
  it("ends within its timeout when the receiver sends its status line and headers one byte at a time, never finishing", async () => {
    const url = await rawReceiver((s) => dribble(s, "HTTP/1.1 200 OK\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    const r = await sendWebhook(url, [SECRET], "evt_1", Date.now(), "{}", opts);
    expect(r.status).toBe(0);
    expect(r.response).toMatch(/no answer within 300 ms/);
  }, 15_000);

  it("ends within its timeout when the receiver answers 200 at once and then dribbles the body forever, and does not count as delivered", async () => {
    const url = await rawReceiver((s) => {
      s.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n");
      let n = 0;
      const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write(`1\r\n${String(n++ % 10)}\r\n`)), 100);
      closers.push(() => clearInterval(t));
    });
    const r = await sendWebhook(url, [SECRET], "evt_2", Date.now(), "{}", opts);
    expect(r.status).toBe(0);
    expect(r.response).toMatch(/no answer within 300 ms/);
  }, 15_000);

  it("does not follow a redirect: the attempt is the 3xx itself and the redirect's target receives nothing", async () => {
    let hits = 0;
    const inner = http.createServer((_q, s) => (hits++, s.end("ok")));
    await new Promise<void>((r) => inner.listen(0, "127.0.0.1", r));
    closers.push(() => inner.close());
    const outer = http.createServer((_q, s) => (s.writeHead(307, { location: `http://127.0.0.1:${(inner.address() as AddressInfo).port}/` }), s.end()));
    await new Promise<void>((r) => outer.listen(0, "127.0.0.1", r));
    closers.push(() => outer.close());
    const r = await sendWebhook(`http://127.0.0.1:${(outer.address() as AddressInfo).port}/`, [SECRET], "evt_3", Date.now(), "{}", opts);
    expect(r.status).toBe(307);
    expect(hits).toBe(0);
  });

  it("keeps at most 1 KB of a huge answer and never the secret in what it reports", async () => {
    const url = await rawReceiver((s) => {
      s.write(`HTTP/1.1 500 Nope\r\ncontent-length: ${10 * 1024 * 1024}\r\n\r\n`);
      s.write(Buffer.alloc(1024 * 1024, "x"));
    });
    const r = await sendWebhook(url, [SECRET], "evt_4", Date.now(), "{}", opts);
    expect(r.status).toBe(500);
    expect(r.response.length).toBeLessThanOrEqual(1024);
    expect(r.response).not.toContain(SECRET);
  }, 15_000);
});

describe("webhook targets that stand for a private IPv4 address", () => {
  it("refuses IPv4-compatible, IPv4-translated, local-use NAT64, 6to4 and Teredo forms (relays to an embedded IPv4 address), and deprecated site-local ones", () => {
    for (const a of ["::7f00:1", "::127.0.0.1", "::a00:1", "::a9fe:a9fe", "::ffff:0:7f00:1", "::ffff:0:a9fe:a9fe", "2002:7f00:1::1", "2002:a9fe:a9fe::", "2002:c0a8:101::1", "2001:0:7f00:1::1", "fec0::1", "100::1", "64:ff9b:1::a00:1", "64:ff9b:1:ffff::a9fe:a9fe"]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ["2606:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001:82b::200e", "::ffff:8.8.8.8", "8.8.8.8"]) expect(isPrivateAddress(a), a).toBe(false);
  });
});
