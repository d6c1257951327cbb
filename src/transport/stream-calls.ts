// The common path of a server-streaming call on either transport: wire checks, one log line when it ends (with how
// long it lasted and why), failures as FluxErrors. Streams stay out of the per-call latency histogram.
import type { DescMessage } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import type { FluxError } from "../domain/errors.js";
import { toFluxError } from "./error-table.js";
import type { CallContext } from "./handlers.js";
import { guarded } from "./request-checks.js";

export type StreamHandler = (req: unknown, ctx: CallContext) => AsyncIterable<unknown>;

export function instrumentStream(method: string, input: DescMessage, handler: StreamHandler, log: Logger): (req: unknown, ctx: CallContext) => AsyncGenerator<unknown> {
  // guarded() runs the wire checks; it hands back whatever the handler returns (here: the iterable).
  const checked = guarded(input, (req, ctx) => Promise.resolve(handler(req, ctx)));
  return async function* (req, ctx) {
    const started = performance.now();
    let reason = "OK";
    try {
      yield* await checked(req, ctx) as AsyncIterable<unknown>;
    } catch (err) {
      const [fe, unexpected] = toFluxError(err);
      reason = fe.reason;
      if (unexpected) log.error({ method, reason, cause: (err as Error)?.name }, "stream failed");
      throw fe satisfies FluxError;
    } finally {
      log.info({ method, ms: Math.round(performance.now() - started), requestId: ctx.requestId, reason, cancelled: ctx.signal?.aborted ?? false }, "stream ended");
    }
  };
}
