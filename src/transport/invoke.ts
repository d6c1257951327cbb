// The common path of every call on either transport: run the handler, log it, turn failures into FluxErrors.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { FluxError } from "../domain/errors.js";
import type { CallContext } from "./handlers.js";
import { toFluxError } from "./error-table.js";

export type Handler = (req: unknown, ctx: CallContext) => Promise<unknown>;

export interface CallObserver {
  onCall(method: string, ms: number, code: string): void;
}

/** Wraps a handler: validate calls are logged at debug (hot path), the rest at info; unexpected failures at error with their cause. */
export function instrument(method: string, handler: Handler, log: Logger, observer?: CallObserver): (req: unknown, ctx: CallContext) => Promise<unknown> {
  const hot = method.endsWith("/ValidateApiKey") || method.endsWith("/Ping");
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
      if (unexpected) log.error({ ...entry, cause: describe(err) }, "call failed");
      else log.info(entry, "call rejected");
      throw fe satisfies FluxError;
    }
  };
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

function describe(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause ?? err;
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`.slice(0, 500);
  return String(cause).slice(0, 200);
}
