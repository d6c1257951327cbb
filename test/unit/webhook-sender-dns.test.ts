// A webhook target whose name never resolves (a hostile or dead DNS server): the attempt still ends within its
// timeout, resolution included, so it never outlives the endpoint's lease (timeout + 5 s) and another replica never
// sends the same event beside it. The resolver is replaced here because a real one cannot be made to hang on demand.
import { describe, expect, it, vi } from "vitest";

vi.mock("node:dns/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:dns/promises")>();
  const lookup = (host: string, ...rest: unknown[]) => (host === "hangs.example" ? new Promise(() => {}) : (real.lookup as (...a: unknown[]) => unknown)(host, ...rest));
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
