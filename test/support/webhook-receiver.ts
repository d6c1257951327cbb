// A webhook receiver for tests (node:http on a free port): records every request, answers with what the test says.
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  type: string;
  data: Record<string, unknown>;
  /** performance.now() at receipt, for latency. */
  atMs: number;
  status: number;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Every request answered with 2xx, in arrival order. */
  accepted(): Received[];
  /** Decides each answer's status (default 204). */
  respond: (r: Omit<Received, "status">, n: number) => number;
  /** Waits until `pred` holds (checking on every request and every 50 ms), failing after `ms`. */
  until(pred: () => boolean, ms?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let parsed: { type?: string; data?: Record<string, unknown> } = {};
      try {
        parsed = JSON.parse(body);
      } catch {}
      const r = {
        id: String(req.headers["webhook-id"] ?? ""),
        timestamp: String(req.headers["webhook-timestamp"] ?? ""),
        signature: String(req.headers["webhook-signature"] ?? ""),
        body,
        type: parsed.type ?? "",
        data: parsed.data ?? {},
        atMs: performance.now(),
      };
      const status = rec.respond(r, received.length);
      received.push({ ...r, status });
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(status >= 300 ? `refused by the test receiver (${status})` : "ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const rec: Receiver = {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    received,
    accepted: () => received.filter((r) => r.status < 300),
    respond: () => 204,
    async until(pred, ms = 20_000) {
      const deadline = performance.now() + ms;
      while (!pred()) {
        if (performance.now() > deadline) throw new Error(`receiver: condition not met within ${ms} ms; got ${received.map((r) => `${r.type}:${r.status}`).join(", ")}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
  return rec;
}
