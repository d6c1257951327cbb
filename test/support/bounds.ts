// The check behind the bounds suites (test/rpc/*-bounds.test.ts): a row's request at the limit is accepted and the
// one past it is INVALID_ARGUMENT with nothing written, over every caller of a test server.
import type { DescService } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { expect } from "vitest";
import { RpcFailure } from "./callers.js";
import { ADMIN_KEY, type TestServer } from "./server.js";

export type BoundsRequest = [DescService, string, Record<string, unknown>];

/** One bound: the request at `limit` and the one a step past it, built from the suite's context `C`. */
export interface BoundsRow<C> {
  field: string;
  limit: number;
  at: (c: C) => BoundsRequest;
  past: (c: C) => BoundsRequest;
}

export interface Outcome {
  code: Code | 0;
  res?: Record<string, unknown>;
  err?: RpcFailure;
}

/** A call's answer or its RPC failure, as a value to assert on; any other error is thrown. */
export async function outcome(call: Promise<unknown>): Promise<Outcome> {
  try {
    return { code: 0, res: (await call) as Record<string, unknown> };
  } catch (err) {
    if (err instanceof RpcFailure) return { code: err.code, err };
    throw err;
  }
}

/** What a suite checks besides the codes: `at` on the answer at the limit, `past` on the refusal past it. */
export interface BoundsChecks {
  at?: (at: Outcome, method: string, via: string) => void;
  past?: (past: Outcome, via: string) => void;
}

/** Over each of the server's callers: `row.at` answers OK, `row.past` INVALID_ARGUMENT with no stored key changed. */
export async function expectBoundHeld<C>(t: TestServer, row: BoundsRow<C>, ctx: C, checks: BoundsChecks = {}): Promise<void> {
  const snapshot = async () => JSON.stringify(await t.deps.stores.keys.list({ includeRevoked: true, limit: 100_000 }));
  for (const caller of t.callers) {
    const via = `${row.field} over ${caller.name}`;
    const [svc, method, atReq] = row.at(ctx);
    const at = await outcome(caller.call(svc, method as never, atReq as never, ADMIN_KEY));
    expect(at.code, `${via} at the limit: ${at.err?.message}`).toBe(0);
    checks.at?.(at, method, via);
    const before = await snapshot();
    const [svc2, method2, pastReq] = row.past(ctx);
    const past = await outcome(caller.call(svc2, method2 as never, pastReq as never, ADMIN_KEY));
    expect(past.code, `${via} past the limit`).toBe(Code.InvalidArgument);
    checks.past?.(past, via);
    expect(await snapshot(), `${via}: nothing written`).toBe(before);
  }
}
