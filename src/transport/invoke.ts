// The common path of every call on either transport: run the handler, log it, turn failures into FluxErrors.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { FluxError } from "../domain/errors.js";
import type { CallContext } from "./handlers.js";
import { toFluxError } from "./error-table.js";
import { MalformedRequest } from "./request-checks.js";

export type Handler = (req: unknown, ctx: CallContext) => Promise<unknown>;

export interface CallObserver {
  onCall(method: string, ms: number, code: string): void;
}

/** Wraps a handler: validate calls are logged at debug (hot path), the rest at info; unexpected failures at error with their cause. */
export function instrument(method: string, handler: Handler, log: Logger, observer?: CallObserver): (req: unknown, ctx: CallContext) => Promise<unknown> {
  // Local validators call LocalValidationService several times a second each: logged like validations.
  const hot = method.endsWith("/ValidateApiKey") || method.endsWith("/Ping") || method.includes(".LocalValidationService/");
  const sampler = new ErrorLogSampler(1000);
  return async (req, ctx) => {
    const started = performance.now();
    try {
      const res = await handler(req, ctx);
      const ms = performance.now() - started;
      observer?.onCall(method, ms, "OK");
      if (!hot) log.info({ method, ms: round(ms), requestId: ctx.requestId ?? randomUUID() }, "call");
      else if (log.isLevelEnabled("debug")) log.debug({ method, ms: round(ms), requestId: ctx.requestId ?? randomUUID() }, "call");
      return res;
    } catch (err) {
      const [fe, unexpected] = toFluxError(err);
      const ms = performance.now() - started;
      observer?.onCall(method, ms, fe.reason);
      const entry = { method, ms: round(ms), requestId: ctx.requestId ?? randomUUID(), reason: fe.reason };
      // Only the cause's class and message: never the request, a document or a secret.
      if (unexpected) {
        // An outage fails every call: one line per method and reason a second, with how many it stands for.
        const suppressed = sampler.admit(fe.reason, performance.now());
        if (suppressed !== undefined) log.error({ ...entry, cause: describe(err), ...(suppressed ? { suppressed } : {}) }, "call failed");
      }
      else log.info(entry, "call rejected");
      throw fe satisfies FluxError;
    }
  };
}

/**
 * A hot method's synchronous answer (ServedService.now), logged and observed like instrument's; undefined when the
 * handler must run instead: nothing in memory to answer from, bytes that did not parse, or anything thrown (the
 * handler then answers the same error, logged as usual).
 */
export function instrumentNow(method: string, now: (req: never, ctx: CallContext) => unknown, log: Logger, observer?: CallObserver): (req: unknown, ctx: CallContext) => unknown {
  return (req, ctx) => {
    if (req instanceof MalformedRequest) return undefined;
    const started = performance.now();
    let res: unknown;
    try {
      res = now(req as never, ctx);
    } catch {
      return undefined;
    }
    if (res === undefined) return undefined;
    const ms = performance.now() - started;
    observer?.onCall(method, ms, "OK");
    if (log.isLevelEnabled("debug")) log.debug({ method, ms: round(ms), requestId: ctx.requestId ?? randomUUID() }, "call");
    return res;
  };
}

/** At most one line per reason per interval; the admitted line reports how many were dropped since the last one. */
export class ErrorLogSampler {
  private readonly last = new Map<string, { atMs: number; dropped: number }>();
  constructor(private readonly intervalMs: number) {}

  /** undefined: drop this line; a number: log it, with that many dropped before it. */
  admit(reason: string, nowMs: number): number | undefined {
    const s = this.last.get(reason);
    if (s && nowMs - s.atMs < this.intervalMs) {
      s.dropped++;
      return undefined;
    }
    const dropped = s?.dropped ?? 0;
    this.last.set(reason, { atMs: nowMs, dropped: 0 });
    return dropped;
  }
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

function describe(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause ?? err;
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`.slice(0, 500);
  return String(cause).slice(0, 200);
}
