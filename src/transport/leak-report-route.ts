// POST /v1/leaks/report on the HTTP address: public (no admin key), for secret scanners. In order, each check
// cheaper than the next: rate limit per address (429), body size (413), signature over the raw body (401), JSON
// shape (400); only then are tokens looked up. Every refusal happens before anything is read from or written to
// the store. Answers GitHub's shape: [{token_hash, token_type, label}].
import { randomUUID } from "node:crypto";
import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { Logger } from "pino";
import { FluxError } from "../domain/errors.js";
import { LIMITS } from "../domain/limits.js";
import { callerAddress } from "../services/audit-trail.js";
import { clientAddress } from "../services/auth-throttle.js";
import { InvalidLeakReport, type LeakReportService, parseLeakReport } from "../services/leak-report-service.js";
import type { ReporterKeys } from "../services/leak-signature.js";

export const LEAK_REPORT_PATH = "/v1/leaks/report";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

export type LeakReportResult = "accepted" | "disabled" | "rate_limited" | "too_large" | "unsigned" | "unknown_key" | "bad_signature" | "malformed" | "failed";

export interface LeakRouteDeps {
  /** Both unset: no reporter keys are configured and the endpoint answers 404. */
  service?: LeakReportService;
  keys?: ReporterKeys;
  log: Logger;
  onReport?: (result: LeakReportResult) => void;
}

/** Past this many bytes of a refused body we stop draining it and drop the connection. */
const DRAIN_MAX_BYTES = 16 * LIMITS.leakReportBytes;

/** Returns a handler that answers the leak-report path and returns false for every other request. */
export function createLeakReportRoute(d: LeakRouteDeps): (req: Req, res: Res) => boolean {
  return (req, res) => {
    if (req.url?.split("?")[0] !== LEAK_REPORT_PATH) return false;
    serve(d, req, res).catch((err) => {
      d.log.error({ cause: (err as Error)?.name }, "leak report route failed");
      d.onReport?.("failed");
      if (!res.headersSent) answer(res, 500, { error: "internal error" });
    });
    return true;
  };
}

async function serve(d: LeakRouteDeps, req: Req, res: Res): Promise<void> {
  const { service, keys } = d;
  if (!service || !keys) {
    d.onReport?.("disabled");
    return answer(res, 404, { error: "leak reports are not enabled here (FLUX_LEAK_REPORTER_KEYS is unset)" }, req);
  }
  if (req.method !== "POST") {
    res.setHeader("allow", "POST");
    return answer(res, 405, { error: "use POST" }, req);
  }
  const peer = req.socket?.remoteAddress;
  const waitMs = await service.admit(clientAddress(peer));
  if (waitMs !== undefined) {
    d.onReport?.("rate_limited");
    res.setHeader("retry-after", String(Math.ceil(waitMs / 1000)));
    return answer(res, 429, { error: "too many leak reports from this address" }, req);
  }
  const body = await readBody(req);
  if (!body) {
    d.onReport?.("too_large");
    return answer(res, 413, { error: `a report is at most ${LIMITS.leakReportBytes} bytes` }, req);
  }
  const header = (name: string) => {
    const v = req.headers[name];
    return typeof v === "string" ? v : undefined;
  };
  const signed = header("github-public-key-identifier") !== undefined || header("github-public-key-signature") !== undefined;
  const check = signed
    ? keys.check(body, header("github-public-key-identifier"), header("github-public-key-signature"))
    : keys.check(body, header("flux-reporter-key-id"), header("flux-reporter-signature"));
  if (!check.ok) {
    d.onReport?.(check.why === "unsigned" ? "unsigned" : check.why === "unknown key" ? "unknown_key" : "bad_signature");
    return answer(res, 401, { error: `report refused: ${check.why}` });
  }
  let entries;
  try {
    entries = parseLeakReport(body);
  } catch (err) {
    if (!(err instanceof InvalidLeakReport)) throw err;
    d.onReport?.("malformed");
    return answer(res, 400, { error: err.message });
  }
  const requestId = header("x-request-id")?.slice(0, 100) ?? randomUUID();
  try {
    const verdicts = await service.report({ keyId: check.keyId, address: callerAddress(peer), requestId }, entries);
    d.onReport?.("accepted");
    const live = verdicts.filter((v) => v.label === "true_positive").length;
    d.log.info({ reporter: check.keyId, tokens: entries.length, live, requestId }, "leak report answered");
    answer(res, 200, verdicts);
  } catch (err) {
    d.onReport?.("failed");
    // Names and reasons only: a driver's message may quote a document.
    d.log.error({ reporter: check.keyId, requestId, cause: err instanceof FluxError ? err.reason : (err as Error)?.name }, "leak report failed");
    if (err instanceof FluxError && err.retryAfterMs !== undefined) {
      res.setHeader("retry-after", String(Math.ceil(err.retryAfterMs / 1000)));
      return answer(res, 503, { error: "the key store is unavailable; retry shortly (a repeated report only reports again)" });
    }
    answer(res, 500, { error: "internal error" });
  }
}

/** The body, or undefined when it is larger than the limit (the rest is drained, up to a bound, so the client
 * reads the 413 instead of a reset). */
function readBody(req: Req): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    const chunks: Buffer[] = [];
    let size = 0;
    let over = Number.isFinite(declared) && declared > LIMITS.leakReportBytes;
    if (over) resolve(undefined);
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > DRAIN_MAX_BYTES) return void req.socket?.destroy();
      if (over) return;
      if (size > LIMITS.leakReportBytes) {
        over = true;
        chunks.length = 0;
        return resolve(undefined);
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function answer(res: Res, status: number, body: unknown, req?: Req): void {
  if (req && status >= 400) req.resume(); // the body is not needed: let it drain so the client reads the answer
  (res as http.ServerResponse).writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}
