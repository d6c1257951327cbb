// The TypeScript validator agent for the cross-SDK suite (test/local/): holds one local validator and answers JSON
// lines on stdin/stdout, one answer per request, in order (shared protocol: /work/notes/s19/shared.md). Logs go to
// stderr. Env: FLUX_URL (gRPC), FLUX_ADMIN_KEY, optional FLUX_KEY_PEPPER, FLUX_AGENT_TRANSPORT=connect with
// FLUX_HTTP_URL for the Connect protocol over HTTP/1.1.
import { createInterface } from "node:readline";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { codeName, Flux, FluxError, InvalidKeyError, type KeyInfo, type LocalValidator, RateLimitedError, UsageExceededError } from "../src/node.js";

interface Answer {
  valid: boolean;
  outcome: string;
  local: boolean;
  key_id: string | null;
  remaining: number | null;
  credits: number | null;
  error: string | null;
}

const wallMs = () => performance.timeOrigin + performance.now();
const out = (v: unknown) => process.stdout.write(`${JSON.stringify(v)}\n`);

async function validateOnce(v: LocalValidator, key: string, scopes: string[] = [], cost?: number | null, clientIp = ""): Promise<Answer> {
  const before = v.stats().localAnswers;
  const local = () => v.stats().localAnswers > before;
  const options = { requiredScopes: scopes, clientIp, ...(cost === null || cost === undefined ? {} : { cost }) };
  try {
    const info: KeyInfo = await v.validate(key, options);
    return { valid: true, outcome: "VALID", local: local(), key_id: info.id, remaining: info.rateLimit?.remaining ?? null, credits: info.credits?.remaining ?? null, error: null };
  } catch (err) {
    if (err instanceof InvalidKeyError) {
      const remaining = err instanceof RateLimitedError ? (err.rateLimit?.remaining ?? null) : (err.keyInfo?.rateLimit?.remaining ?? null);
      const credits = err instanceof UsageExceededError ? (err.credits?.remaining ?? null) : (err.keyInfo?.credits?.remaining ?? null);
      return { valid: false, outcome: err.outcome, local: local(), key_id: err.keyInfo?.id ?? null, remaining, credits, error: null };
    }
    const code = err instanceof FluxError && err.code !== undefined ? codeName(err.code) : "UNKNOWN";
    return { valid: false, outcome: "UNSPECIFIED", local: local(), key_id: null, remaining: null, credits: null, error: code };
  }
}

/** Validates `key` until `min_n` calls and refusals seen for `refused_ms`, or `max_ms`; start times of accepts. */
async function race(v: LocalValidator, req: { key: string; min_n: number; refused_ms: number; max_ms: number }) {
  const t0 = wallMs();
  const accepts: number[] = [];
  let count = 0;
  let firstRefusal: number | null = null;
  let last = t0;
  const localBefore = v.stats().localAnswers;
  for (;;) {
    const start = wallMs();
    last = start;
    let ok = false;
    try {
      await v.validate(req.key);
      ok = true;
    } catch {
      // refused (or an error): not an accept
    }
    count++;
    if (ok) accepts.push(start);
    else if (firstRefusal === null) firstRefusal = start;
    if ((count & 63) === 0) {
      await yieldToLoop(); // the validator's stream and acknowledgements run here
      const now = wallMs();
      const refusedLongEnough = firstRefusal !== null && now - firstRefusal >= req.refused_ms;
      if ((count >= req.min_n && refusedLongEnough) || now - t0 >= req.max_ms) break;
    }
  }
  const local = v.stats().localAnswers - localBefore;
  return { count, local, accept_starts_ms: accepts, first_refusal_start_ms: firstRefusal, last_start_ms: last };
}

async function burst(v: LocalValidator, key: string, n: number) {
  const before = v.stats().localAnswers;
  let valid = 0;
  let refused = 0;
  for (let i = 0; i < n; i++) {
    try {
      await v.validate(key);
      valid++;
    } catch {
      refused++;
    }
    if ((i & 63) === 63) await yieldToLoop();
  }
  return { valid, refused, local: v.stats().localAnswers - before };
}

/** Local validations per second on this one thread, through the public `validate`. */
async function bench(v: LocalValidator, key: string, ms: number) {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 1024; i++) await v.validate(key);
    n += 1024;
    await yieldToLoop();
  }
  return { per_s: n / ((performance.now() - t0) / 1000) };
}

async function main(): Promise<void> {
  const connect = process.env.FLUX_AGENT_TRANSPORT === "connect";
  const flux = Flux.init(process.env.FLUX_ADMIN_KEY ?? "", connect ? { url: process.env.FLUX_HTTP_URL, transport: "connect" } : { url: process.env.FLUX_URL });
  let v: LocalValidator;
  try {
    v = await flux.apiKeys.localValidator({ name: "ts-agent", startTimeoutMs: 20_000 });
    out({ ready: true });
  } catch (err) {
    out({ ready: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    flux.close();
    return;
  }
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === "") continue;
    const req = JSON.parse(line);
    switch (req.op) {
      case "validate":
        out(await validateOnce(v, req.key, req.scopes ?? [], req.cost, req.client_ip ?? ""));
        break;
      case "race":
        out(await race(v, req));
        break;
      case "burst":
        out(await burst(v, req.key, req.n));
        break;
      case "status": {
        const s = v.stats();
        out({ state: v.state, local: s.localAnswers, network: s.networkAnswers, resyncs: s.resyncs });
        break;
      }
      case "bench":
        out(await bench(v, req.key, req.ms));
        break;
      case "close":
        try {
          await v.close();
        } catch (err) {
          process.stderr.write(`close: ${err instanceof Error ? err.message : String(err)}\n`);
        }
        out({ closed: true });
        flux.close();
        process.exit(0);
        break;
      default:
        out({ error: `unknown op ${String(req.op)}` });
    }
  }
  await v.close().catch(() => {});
  flux.close();
}

await main();
