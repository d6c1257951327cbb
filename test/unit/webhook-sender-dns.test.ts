// A webhook target whose name never resolves (a hostile or dead DNS server): the attempt still ends within its
// timeout, resolution included, so it never outlives the endpoint's lease (timeout + 5 s) and another replica never
// sends the same event beside it; and the request connects to the address that was checked, never looking the name
// up a second time (DNS rebinding). The resolver is replaced here because a real one cannot hang or lie on demand.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it, vi } from "vitest";

vi.mock("node:dns/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:dns/promises")>();
  const lookup = (host: string, ...rest: unknown[]) => {
    if (host === "hangs.example") return new Promise(() => {});
    // Only this checked lookup knows the name: a second one (by the connection itself) would fail with ENOTFOUND.
    if (host === "rebind.invalid") return Promise.resolve([{ address: "127.0.0.1", family: 4 }]);
    return (real.lookup as (...a: unknown[]) => unknown)(host, ...rest);
  };
  return { ...real, default: { ...real, lookup }, lookup };
});

const { sendWebhook } = await import("../../src/services/webhook-sender.js");

describe("a webhook attempt whose target name never resolves", () => {
  it("ends within its timeout, not sent, naming the host", async () => {
    const r = await sendWebhook("https://hangs.example/hooks", [`whsec_${Buffer.alloc(32, 1).toString("base64")}`], "evt_1", Date.now(), "{}", { timeoutMs: 300, allowPrivate: false });
    expect(r.status).toBe(0);
    expect(r.response).toMatch(/^not sent: .*hangs\.example.*300 ms/);
  }, 15_000);
});

describe("a webhook attempt to a name", () => {
  it("connects to the address its check resolved, without a second lookup, and sends the name as the Host", async () => {
    const hosts: string[] = [];
    const server = http.createServer((req, res) => (hosts.push(String(req.headers.host)), res.end("ok")));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    try {
      const r = await sendWebhook(`http://rebind.invalid:${port}/hooks`, [`whsec_${Buffer.alloc(32, 1).toString("base64")}`], "evt_2", Date.now(), "{}", { timeoutMs: 5000, allowPrivate: true });
      expect(r).toEqual({ status: 200, response: "ok" });
      expect(hosts).toEqual([`rebind.invalid:${port}`]);
    } finally {
      server.close();
    }
  });
});
