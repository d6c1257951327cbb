// One signed POST: Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature, signed with the
// `standardwebhooks` package; a second signature while a rotated-out secret is in its grace period), no redirects
// followed, one deadline for the whole attempt, name resolution included (a receiver dribbling bytes cannot hold it
// open: the socket's idle timeout alone would never fire), and at most 1 KB of the answer kept for the delivery log.
import * as http from "node:http";
import * as https from "node:https";
import type { LookupFunction } from "node:net";
import { Webhook } from "standardwebhooks";
import { resolveTarget, TargetRefused } from "./webhook-targets.js";

export const RESPONSE_KEEP_BYTES = 1024;

export interface SendResult {
  /** HTTP status; 0 when there was no answer. */
  status: number;
  /** The answer's body (≤ 1 KB) or why there was none. */
  response: string;
}

export interface SendOptions {
  timeoutMs: number;
  allowPrivate: boolean;
}

/** The webhook-signature header: one "v1,<base64>" per secret, space-separated (the spec's multi-signature form). */
export function signatures(secrets: string[], msgId: string, at: Date, body: string): string {
  return secrets.map((s) => new Webhook(s).sign(msgId, at, body)).join(" ");
}

export async function sendWebhook(rawUrl: string, secrets: string[], msgId: string, atMs: number, body: string, o: SendOptions): Promise<SendResult> {
  // The timeout covers the name's resolution too: a resolver that never answers must not outlast the lease.
  const startedMs = performance.now();
  let target;
  let resolving: NodeJS.Timeout | undefined;
  try {
    const url = new URL(rawUrl);
    const late = new Promise<never>((_, reject) => {
      resolving = setTimeout(() => reject(new TargetRefused(`no address for ${url.hostname} within ${o.timeoutMs} ms`)), o.timeoutMs);
    });
    target = await Promise.race([resolveTarget(url, o.allowPrivate), late]);
  } catch (err) {
    if (err instanceof TargetRefused) return { status: 0, response: `not sent: ${err.message}` };
    return { status: 0, response: `not sent: ${(err as Error).message}` };
  } finally {
    clearTimeout(resolving);
  }
  const leftMs = Math.max(1, o.timeoutMs - Math.round(performance.now() - startedMs));
  // Connect to the address just checked: a second lookup could answer something else (DNS rebinding).
  const pinned: LookupFunction = (_host, opts, cb) => {
    if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: target.address, family: target.family }]);
    else cb(null, target.address, target.family);
  };
  const at = new Date(atMs);
  const headers = {
    "content-type": "application/json",
    "user-agent": "flux-apikeys-webhooks/1",
    "webhook-id": msgId,
    "webhook-timestamp": String(Math.floor(atMs / 1000)),
    "webhook-signature": signatures(secrets, msgId, at, body),
    "content-length": String(Buffer.byteLength(body)),
  };
  const lib = target.url.protocol === "https:" ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const done = (r: SendResult) => {
      if (!settled) (settled = true), clearTimeout(deadline), resolve(r);
    };
    // The whole attempt (connect, headers, body) ends by the timeout; the lease only outlasts that by 5 s.
    const deadline = setTimeout(() => {
      done({ status: 0, response: `no answer within ${o.timeoutMs} ms` });
      req.destroy();
    }, leftMs);
    const req = lib.request(target.url, { method: "POST", headers, lookup: pinned, timeout: o.timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on("data", (c: Buffer) => {
        if (kept < RESPONSE_KEEP_BYTES) chunks.push(c.subarray(0, RESPONSE_KEEP_BYTES - kept));
        kept += c.length;
        if (kept > 64 * 1024) res.destroy(); // enough read: the status is what counts
      });
      const finish = () => done({ status: res.statusCode ?? 0, response: Buffer.concat(chunks).toString("utf8") });
      res.on("end", finish);
      res.on("close", finish);
      res.on("error", finish);
    });
    req.on("timeout", () => {
      done({ status: 0, response: `no answer within ${o.timeoutMs} ms` });
      req.destroy();
    });
    req.on("error", (err) => done({ status: 0, response: `request failed: ${(err as { code?: string }).code ?? err.message}`.slice(0, RESPONSE_KEEP_BYTES) }));
    req.end(body);
  });
}
